"""The converter: key groups, present/absent heads, the unused branch reported, round trips,
and a checkpoint in the authors' format converted through the hub and loaded offline."""

from __future__ import annotations

import warnings

import pytest
import smhr_testutils as tu
import torch
from handzoo_smhr.convert import (
    KEY_MAP_VERSION,
    UNUSED_PREFIXES,
    checkpoint_heads,
    conversion_report,
    convert_state_dict,
    to_authors_state_dict,
)

from handzoo.errors import CheckpointError


def _convert(state: dict, variant: str = "smhr-freihand", **kw) -> tuple[dict, list[str]]:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = convert_state_dict(state, variant, **kw)
    return out, [str(w.message) for w in rec]


def test_every_key_is_mapped_or_reported(authors_states: dict) -> None:
    state = authors_states["multihand"]
    rep = conversion_report(state, ["hm", "params", "texture", "light", "handmap"])
    assert rep["heads"] == ["handmap", "hm", "light", "params", "texture"]
    assert not rep["absent_heads"] and not rep["extra_heads"] and not rep["unknown_keys"]
    assert rep["unused_keys"] and all(k.startswith(UNUSED_PREFIXES) for k in rep["unused_keys"])
    assert any(k.startswith("backbone.layer4.") for k in rep["unused_keys"])  # the ResNet-18 branch
    assert {"p2.weight", "p2_l2.weight"} <= set(rep["unused_keys"])
    out, msgs = _convert(state, "smhr-multihand")
    assert len(out) + len(rep["unused_keys"]) == len(state)
    assert len(msgs) == 1 and "never runs" in msgs[0] and "ResNet-18" in msgs[0]


def test_keys_match_the_model_and_round_trip(authors_states: dict, smhr_models: dict) -> None:
    model = smhr_models["multihand"]
    out, _ = _convert(authors_states["multihand"], "smhr-multihand")
    ours = model.state_dict()
    assert set(out) == set(ours)
    assert all(tuple(out[k].shape) == tuple(ours[k].shape) for k in ours)
    back = to_authors_state_dict(ours)
    assert set(back) == {k for k in authors_states["multihand"] if not k.startswith(UNUSED_PREFIXES)}
    again, _ = _convert(back, "smhr-multihand")
    assert all(torch.equal(again[k], ours[k]) for k in ours)
    assert KEY_MAP_VERSION == "1"


def test_extra_heads_are_left_out_and_reported(authors_states: dict) -> None:
    state = dict(authors_states["multihand"])
    state["hm_off.0.weight"] = torch.zeros(256, 256, 3, 3)  # a head of another training flag
    out, msgs = _convert(state, "smhr-freihand", heads=["hm", "params", "texture", "light"])
    assert not any(k.startswith(("heads.handmap", "heads.hm_off")) for k in out)
    assert "handmap" in msgs[0] and "hm_off" in msgs[0]


def test_absent_head_is_an_error_that_says_how_to_convert(authors_states: dict) -> None:
    state = {k: v for k, v in authors_states["freihand"].items() if not k.startswith(("texture.", "light."))}
    assert checkpoint_heads(state) == ["hm", "params"]
    with pytest.raises(CheckpointError, match="texture") as exc:
        convert_state_dict(state, "smhr-freihand")
    assert "heads=['hm', 'params']" in str(exc.value.hint)
    out, _ = _convert(state, "smhr-freihand", heads=["hm", "params"])
    assert not any(k.startswith(("heads.texture", "heads.light")) for k in out)


def test_foreign_checkpoints_are_refused(authors_states: dict) -> None:
    with pytest.raises(CheckpointError, match="not part of SMHR"):
        convert_state_dict({**authors_states["freihand"], "rotation_net.fc.weight": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="not an SMHR checkpoint"):
        convert_state_dict({k: v for k, v in authors_states["freihand"].items() if not k.startswith("hm.")})
    with pytest.raises(CheckpointError):
        to_authors_state_dict({"something.else": torch.zeros(1)})


def test_authors_file_converts_through_the_hub_and_loads(tmp_path, monkeypatch, mano_dir, authors_states) -> None:
    from handzoo.hub.convert import convert_checkpoint
    from handzoo.hub.load import load

    monkeypatch.setenv("HANDZOO_MANO_DIR", str(mano_dir))
    state = {"module." + k: v for k, v in authors_states["freihand"].items()}  # DataParallel names too
    ckpt = tu.write_authors_checkpoint(tmp_path / "FreiHand_2d_pho.pth", state)
    with pytest.warns(UserWarning, match="never runs"):
        result = convert_checkpoint("smhr-freihand", ckpt)
    assert result.key_map_version == "1" and not result.mano_derived_keys
    assert "epoch" in result.provenance["ignored_entries"] or result.provenance["ignored_entries"] == []
    model = load("smhr-freihand", hand_model="mano")
    expected, _ = _convert(authors_states["freihand"])
    got = model.state_dict()
    assert all(torch.equal(got[k], expected[k]) for k in expected)
    out = model(tu.seeded_image(**tu.IMAGE_FREIHAND))
    assert out.vertices.shape == (1, 1, 778, 3) and "vertex_colors" in out.extras


def test_corrupt_checkpoint_is_refused(tmp_path) -> None:
    from handzoo.hub.convert import convert_checkpoint

    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        convert_checkpoint("smhr-freihand", bad)
