"""Conversion of original checkpoints: safe reading, unwrapping, key map, strict checks, provenance."""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch
from hub_tiny import KEY_MAP_VERSION, TINY_VARIANT, cache_files, tiny_card, to_original

import handzoo
from handzoo.errors import CheckpointError
from handzoo.hub.cache import cache_dir, read_entry
from handzoo.hub.convert import convert_checkpoint, read_checkpoint, unwrap_state_dict
from handzoo.hub.integrity import read_safetensors_header
from handzoo.hub.load import load
from handzoo.hub.status import weights_status


def assert_same_weights(model, reference):
    ref = reference.state_dict()
    got = model.state_dict()
    assert set(got) == set(ref)
    for k in ref:
        assert torch.equal(got[k], ref[k]), k


def test_convert_then_load_offline(install_tiny, original_checkpoint, tiny_model, monkeypatch):
    install_tiny()
    assert weights_status(handzoo.model_info(TINY_VARIANT)) == "convert-needed"
    res = convert_checkpoint(TINY_VARIANT, original_checkpoint)
    assert res.key_map_version == KEY_MAP_VERSION
    assert res.dropped_keys == ["mano_layer.th_shapedirs", "mano_layer.th_v_template"]
    assert res.num_tensors == len(tiny_model.state_dict()) and res.mano_derived_keys == []
    prov = json.loads((res.path.parent / "provenance.json").read_text())
    assert prov["source"] == {
        "kind": "convert",
        "file": "model_best.pth",
        "sha256": res.source_sha256,
        "size": original_checkpoint.stat().st_size,
    }
    assert prov["key_map_version"] == KEY_MAP_VERSION and prov["handzoo_version"] == handzoo.__version__
    assert prov["created"].endswith("+00:00") and prov["sha256"] == res.sha256
    assert prov["ignored_entries"] == []
    meta = json.loads(read_safetensors_header(res.path).metadata["handzoo"])
    assert meta == {"variant": TINY_VARIANT, "key_map_version": KEY_MAP_VERSION, "source_sha256": res.source_sha256}
    assert weights_status(handzoo.model_info(TINY_VARIANT)) == "cached"

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = load(TINY_VARIANT)
    assert not model.training and model.card.name == TINY_VARIANT
    assert_same_weights(model, tiny_model)
    out = model(torch.randint(0, 255, (2, 8, 8, 3), dtype=torch.uint8).numpy())
    assert out.joints3d.shape == (2, 1, 21, 3)


def test_conversion_is_reproducible(install_tiny, original_checkpoint):
    install_tiny()
    a = convert_checkpoint(TINY_VARIANT, original_checkpoint)
    b = convert_checkpoint(TINY_VARIANT, original_checkpoint)
    assert a.sha256 == b.sha256
    assert cache_files(cache_dir()) == [
        f"weights/{TINY_VARIANT}/model.safetensors",
        f"weights/{TINY_VARIANT}/provenance.json",
    ]


def test_out_copy_and_sidecar(install_tiny, original_checkpoint, tmp_path, tiny_model):
    install_tiny()
    res = convert_checkpoint(TINY_VARIANT, original_checkpoint, out=tmp_path / "exported" / "tiny.safetensors")
    assert res.out.read_bytes() == res.path.read_bytes()
    side = json.loads((tmp_path / "exported" / "tiny.json").read_text())
    assert side["sha256"] == res.sha256 and side["file"] == "tiny.safetensors"
    assert_same_weights(load(TINY_VARIANT, weights=res.out), tiny_model)
    res2 = convert_checkpoint(TINY_VARIANT, original_checkpoint, out=tmp_path)
    assert res2.out == tmp_path / f"{TINY_VARIANT}.safetensors" and res2.out.is_file()


def test_converter_given_as_module_path(install_tiny, original_checkpoint, converter_module):
    install_tiny(converter=converter_module)
    res = convert_checkpoint(TINY_VARIANT, original_checkpoint)
    assert res.key_map_version == "tiny-module-2"
    assert res.provenance["converter"] == converter_module


class _Exploit:
    """Pickles to a call of os.system: what a malicious checkpoint does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused(install_tiny, tmp_path):
    install_tiny()
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.pth"
    torch.save({"state_dict": {"conv.weight": torch.zeros(1)}, "payload": _Exploit(marker)}, bad)
    with pytest.raises(CheckpointError, match="refused to read evil.pth") as exc:
        convert_checkpoint(TINY_VARIANT, bad)
    assert "never executes code" in str(exc.value)
    assert not marker.exists()
    assert read_entry(TINY_VARIANT) is None
    with open(tmp_path / "raw.pkl", "wb") as f:  # a bare pickle (not torch.save) too
        pickle.dump(_Exploit(marker), f, protocol=2)
    with pytest.raises(CheckpointError):
        read_checkpoint(tmp_path / "raw.pkl")
    assert not marker.exists()


@pytest.mark.parametrize("cut", [0.5, 0.02])
def test_truncated_checkpoint(install_tiny, original_checkpoint, cut):
    install_tiny()
    data = original_checkpoint.read_bytes()
    original_checkpoint.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(CheckpointError, match="cannot read"):
        convert_checkpoint(TINY_VARIANT, original_checkpoint)
    assert cache_files(cache_dir()) == []


def test_missing_file(install_tiny, tmp_path):
    install_tiny()
    with pytest.raises(CheckpointError, match="does not exist") as exc:
        convert_checkpoint(TINY_VARIANT, tmp_path / "nope.pth")
    assert "https://example.org/tiny/model_best.pth" in str(exc.value)


def _save_original(path, state):
    torch.save({"network": {f"module.{k}": v for k, v in state.items()}}, path)
    return path


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda s: s.pop("fc.bias"), "1 missing: head.bias"),
        (lambda s: s.__setitem__("fc.extra", torch.zeros(2)), "1 unexpected: head.extra"),
        (
            lambda s: s.__setitem__("fc.weight", torch.zeros(63, 5)),
            "wrong shape (converted vs model): head.weight [63, 5] vs [63, 4]",
        ),
        (lambda s: s.__setitem__("features.1.num_batches_tracked", torch.tensor(1.5)), "dtype"),
    ],
)
def test_key_and_shape_mismatches_are_errors(install_tiny, tiny_model, tmp_path, edit, needle):
    install_tiny()
    state = to_original(tiny_model.state_dict())
    edit(state)
    path = _save_original(tmp_path / "ckpt.pth.tar", state)
    with pytest.raises(CheckpointError) as exc:
        convert_checkpoint(TINY_VARIANT, path)
    assert needle in str(exc.value)
    assert read_entry(TINY_VARIANT) is None


def test_float_dtypes_are_cast_to_the_model(install_tiny, tiny_model, tmp_path):
    install_tiny()
    state = {k: (v.double() if v.is_floating_point() else v) for k, v in to_original(tiny_model.state_dict()).items()}
    res = convert_checkpoint(TINY_VARIANT, _save_original(tmp_path / "f64.pth", state))
    assert {t["dtype"] for t in read_safetensors_header(res.path).tensors.values()} == {"F32", "I64"}


def test_no_converter_registered(install_tiny, original_checkpoint):
    install_tiny(converter=None)
    with pytest.raises(CheckpointError, match="no checkpoint converter is registered for method 'tiny'"):
        convert_checkpoint(TINY_VARIANT, original_checkpoint)


def test_failing_converter(install_tiny, original_checkpoint):
    def broken(state, variant):
        return {"x": state["does-not-exist"]}

    install_tiny(converter=broken)
    with pytest.raises(CheckpointError, match="converter .* failed: KeyError"):
        convert_checkpoint(TINY_VARIANT, original_checkpoint)


def test_card_pinning_the_authors_sha256(install_tiny, original_checkpoint):
    original = {"url": "https://example.org/x.pth", "format": "f", "filename": "x.pth", "sha256": "0" * 64}
    install_tiny(cards=[tiny_card(original=original)])
    with pytest.raises(CheckpointError, match="is not the checkpoint"):
        convert_checkpoint(TINY_VARIANT, original_checkpoint)


def test_mano_buffers_the_model_needs_are_recorded(install_tiny, tmp_path):
    install_tiny(cards=[tiny_card(with_mano_buffer=True)])
    model = __import__("hub_tiny").TinyMethod(with_mano_buffer=True)
    path = _save_original(tmp_path / "m.pth", to_original(model.state_dict()))
    with pytest.raises(CheckpointError, match="1 missing: mano.shapedirs"):
        convert_checkpoint(TINY_VARIANT, path)  # the embedded MANO array was dropped, as it should be


def test_unwrap_state_dict_layouts():
    t = torch.zeros(1)
    assert unwrap_state_dict({"epoch": 1, "state_dict": {"module.a": t, "module.module.b": t}})[0].keys() == {"a", "b"}
    state, ignored = unwrap_state_dict({"network": {"model.a": t, "model.b.c": t, "meta": "x"}})
    assert state.keys() == {"a", "b.c"} and ignored == ["meta"]
    assert unwrap_state_dict({"model": {"x.model.y": t, "z": t}})[0].keys() == {"x.model.y", "z"}
    with pytest.raises(CheckpointError, match="no state dict"):
        unwrap_state_dict({"epoch": 3, "optimizer": {"lr": 0.1}})
    with pytest.raises(CheckpointError, match="collides"):
        unwrap_state_dict({"a": t, "module.a": t})


def test_safetensors_input_is_accepted(install_tiny, tiny_model, tmp_path):
    from safetensors.torch import save_file

    install_tiny()
    path = tmp_path / "orig.safetensors"
    save_file(to_original(tiny_model.state_dict()), str(path))
    res = convert_checkpoint(TINY_VARIANT, path)
    assert res.dropped_keys == [] and res.num_tensors == len(tiny_model.state_dict())
