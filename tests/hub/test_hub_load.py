"""``handzoo.load``: pretrained=False, local files, strictness, errors, Hub round trip, fast failure."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from hub_tiny import TINY_VARIANT, TinyMethod, tiny_card
from safetensors.torch import save, save_file

from handzoo.errors import ConfigError, ModelNotFoundError, RegistryError, WeightsError, WeightsNotAvailableError
from handzoo.hub.load import load

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_pretrained_false_builds_untrained(install_tiny):
    install_tiny()
    model = load(TINY_VARIANT, pretrained=False, width=6)
    assert isinstance(model, TinyMethod) and not model.training
    assert model.conv.out_channels == 6 and model.card.name == TINY_VARIANT


def test_hand_model_is_passed_to_the_method(install_tiny):
    install_tiny()
    assert load(TINY_VARIANT, pretrained=False, hand_model="openhand").hand_model_name == "openhand"


def test_local_weights_file(install_tiny, tiny_model, tmp_path):
    install_tiny()
    path = tmp_path / "w.safetensors"
    save_file(dict(tiny_model.state_dict()), str(path))
    model = load(TINY_VARIANT, weights=path)
    for k, v in tiny_model.state_dict().items():
        assert torch.equal(model.state_dict()[k], v)


def test_local_weights_must_fit(install_tiny, tiny_model, tmp_path):
    install_tiny()
    state = dict(tiny_model.state_dict())
    state.pop("head.bias")
    state["extra"] = torch.zeros(1)
    state["conv.weight"] = torch.zeros(4, 3, 5, 5)
    path = tmp_path / "bad.safetensors"
    save_file(state, str(path))
    with pytest.raises(WeightsError) as exc:
        load(TINY_VARIANT, weights=path)
    msg = str(exc.value)
    assert (
        "missing: head.bias" in msg and "unexpected: extra" in msg and "conv.weight [4, 3, 5, 5] vs [4, 3, 3, 3]" in msg
    )


def test_pickle_weights_are_not_loaded(install_tiny, tiny_model, tmp_path):
    install_tiny()
    path = tmp_path / "w.pth"
    torch.save(tiny_model.state_dict(), path)
    with pytest.raises(WeightsError, match="not a safetensors file") as exc:
        load(TINY_VARIANT, weights=path)
    assert "handzoo convert" in str(exc.value)


def test_truncated_local_file(install_tiny, tiny_model, tmp_path):
    install_tiny()
    data = save(dict(tiny_model.state_dict()))
    path = tmp_path / "cut.safetensors"
    path.write_bytes(data[:-10])
    with pytest.raises(WeightsError, match="truncated or corrupt"):
        load(TINY_VARIANT, weights=path)
    with pytest.raises(WeightsError, match="does not exist"):
        load(TINY_VARIANT, weights=tmp_path / "missing.safetensors")


def test_bad_arguments_are_config_errors(install_tiny):
    install_tiny()
    with pytest.raises(ConfigError, match="cannot build tiny-demo as TinyMethod"):
        load(TINY_VARIANT, pretrained=False, no_such_argument=1)
    with pytest.raises(ConfigError, match="invalid device"):
        load(TINY_VARIANT, pretrained=False, device="gpu7")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            load(TINY_VARIANT, pretrained=False, device="cuda")


def test_unknown_names(install_tiny):
    install_tiny()
    with pytest.raises(ModelNotFoundError, match="tiny-demo"):
        load("tiny-dem")


def test_unregistered_architecture(install_tiny):
    card = tiny_card("tiny-ghost")
    card = card.with_fields(architecture={"type": "GhostMethod"})
    install_tiny(cards=[card])
    with pytest.raises(RegistryError, match="GhostMethod"):
        load("tiny-ghost", pretrained=False)


def test_no_weights_error(install_tiny):
    install_tiny()
    with pytest.raises(WeightsNotAvailableError) as exc:
        load(TINY_VARIANT)
    assert "handzoo convert tiny-demo model_best.pth" in str(exc.value)


def test_hub_round_trip_and_warning(install_tiny, standin_hub, tiny_model, monkeypatch):
    data = save(dict(tiny_model.state_dict()))
    rev = standin_hub.add_file("org/tiny", "model.safetensors", data)
    hub = {
        "repo_id": "org/tiny",
        "filename": "model.safetensors",
        "revision": rev,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    card = tiny_card(hub=hub)
    card = card.with_fields(hand_model="mano")
    install_tiny(cards=[card])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load(TINY_VARIANT, hand_model="openhand")
    assert any("trained with hand model 'mano'" in str(w.message) for w in caught)
    for k, v in tiny_model.state_dict().items():
        assert torch.equal(model.state_dict()[k], v)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    load(TINY_VARIANT)  # offline, from the cache


@pytest.mark.parametrize("published", [False, True])
def test_builtin_variant_fails_fast_without_network(tmp_path, published):
    """A fresh process, empty cache, no network: h2onet-dexycb fails at once, without importing torch.

    The bound only rules out retry/back-off loops (each costs 10 s or more); the measured figure
    (about 0.3 s) lives in benchmarks/bench_load_offline.py, not in a timed unit test.
    """
    code = f"""
import json, sys, time
t0 = time.perf_counter()
from handzoo.errors import HandzooError
import handzoo.hub.load as hl
card = hl.model_card("h2onet-dexycb")
if {published!r}:
    hub = {{"repo_id": "handzoo/h2onet-dexycb", "filename": "model.safetensors", "revision": "a" * 40, "sha256": "b" * 64}}
    card = card.with_fields(weights={{**card.weights, "hub": hub}})
try:
    hl.load(card)
except HandzooError as exc:
    print(json.dumps({{"type": type(exc).__name__, "msg": str(exc), "s": time.perf_counter() - t0,
                       "torch": "torch" in sys.modules}}))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HANDZOO_PLUGIN", "HF_"))}
    env.update({"HANDZOO_CACHE": str(tmp_path / "cache"), "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"})
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, cwd=REPO_ROOT
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["s"] < 8.0, res
    assert not res["torch"], "the failure path must not import torch"
    if published:
        assert res["type"] == "DownloadError" and "HF_HUB_OFFLINE" in res["msg"]
    else:
        assert res["type"] == "WeightsNotAvailableError"
        assert "https://drive.google.com/file/d/11VLYLr5bjqCwUgqdihte1hoIcIrkTHt8" in res["msg"]
        assert "`handzoo convert h2onet-dexycb dexycb_h2onet_mf.pth`" in res["msg"]
    assert not (tmp_path / "cache" / "weights").exists()
