"""The checkpoint converter: key map, dropped MANO arrays, errors, round trip."""

from __future__ import annotations

import pytest
import torch
from handzoo_h2onet import convert as conv

from handzoo.errors import CheckpointError


def _authors(model):
    state = conv.to_authors_state_dict(model.state_dict())
    state["mano_joint_reg"] = torch.zeros(21, 778)
    state["mano_layer.th_v_template"] = torch.zeros(1, 778, 3)
    return state


@pytest.mark.parametrize("kind", ["sf", "mf"])
def test_round_trip(kind, sf_model, mf_model):
    model = sf_model if kind == "sf" else mf_model
    variant = "h2onet-sf-dexycb" if kind == "sf" else "h2onet-dexycb"
    authors = _authors(model)
    out = conv.convert_state_dict(authors, variant)
    ours = model.state_dict()
    assert set(out) == set(ours)
    assert all(torch.equal(out[k], ours[k]) for k in ours)
    assert not any("mano" in k for k in out)


def test_authors_names_follow_their_layout(mf_model):
    names = set(conv.to_authors_state_dict(mf_model.state_dict()))
    for key in (
        "backbone.thrink.0.weight",
        "backbone.dense_stack2.dense4.conv1.conv1x1.1.running_mean",
        "backbone.uv_reg.2.0.weight",
        "decoder3d.de_layer.0.conv.layer.weight",
        "decoder3d.upsample",
        "decoder3d.rot_reg.fc_block2.6.weight",
        "decoder3d.occ_pred.finger_cls_layer.6.bias",
        "decoder3d.offset_pred.head.layer.weight",
    ):
        assert key in names, key
    assert len(names) == 1051 - 10  # the authors' MF keys less mano_joint_reg and 9 manopth buffers


def test_unknown_and_mismatched_keys(sf_model, mf_model):
    sf = _authors(sf_model)
    with pytest.raises(CheckpointError, match="not H2ONet parameters"):
        conv.convert_state_dict({**sf, "head.fc.weight": torch.zeros(1)}, "h2onet-sf-dexycb")
    with pytest.raises(CheckpointError, match="multi-frame"):
        conv.convert_state_dict(sf, "h2onet-dexycb")
    with pytest.raises(CheckpointError, match="single-frame"):
        conv.convert_state_dict(_authors(mf_model), "h2onet-sf-dexycb")
    with pytest.raises(CheckpointError, match="variant"):
        conv.convert_state_dict(sf, "h2onet-ho3d")
    truncated = {k: v for k, v in sf.items() if not k.startswith("decoder3d.head")}
    with pytest.raises(CheckpointError, match="truncated"):
        conv.convert_state_dict(truncated, "h2onet-sf-dexycb")
    with pytest.raises(CheckpointError, match="not a handzoo"):
        conv.to_authors_state_dict({"foo.bar": torch.zeros(1)})


def test_alias_of_last_finger_head_wins(mf_model):
    authors = _authors(mf_model)
    key = "decoder3d.occ_pred.finger_cls_layer.6.bias"
    authors[key] = torch.full_like(authors[key], 7.0)
    out = conv.convert_state_dict(authors, "h2onet-dexycb")
    assert torch.all(out["occ_head.finger_heads.4.6.bias"] == 7.0)


def test_hook_and_version():
    import handzoo_h2onet

    assert handzoo_h2onet.handzoo_converters() == {"h2onet": "handzoo_h2onet.convert:convert_state_dict"}
    assert conv.KEY_MAP_VERSION == "1"
