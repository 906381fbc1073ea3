"""The checkpoint converter: key map, dropped MANO arrays, errors, round trip."""

from __future__ import annotations

import pytest
import torch
from handzoo_h2onet import convert as conv

from handzoo.errors import CheckpointError


def _authors(model):
    state = conv.to_authors_state_dict(model.state_dict())
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
    assert not any(k.startswith("mano_layer") for k in out) and "joint_regressor" in out


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
    assert "mano_joint_reg" in names
    assert len(names) == 1051 - 9  # the authors' MF keys less the 9 manopth buffers


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
    assert conv.KEY_MAP_VERSION == "2"


def test_trained_joint_regressor_is_kept(mf_model):
    """The authors train mano_joint_reg; the checkpoint's copy, not MANO's, defines the joints."""
    import copy

    authors = _authors(mf_model)
    learned = authors["mano_joint_reg"] + 0.01 * torch.rand(21, 778, generator=torch.Generator().manual_seed(0))
    authors["mano_joint_reg"] = learned
    out = conv.convert_state_dict(authors, "h2onet-dexycb")
    assert torch.equal(out["joint_regressor"], learned)
    assert conv.to_authors_state_dict(out)["mano_joint_reg"] is out["joint_regressor"]
    model = copy.deepcopy(mf_model)
    model.load_state_dict(out)
    assert model.mano_derived_keys == ("joint_regressor",)
    batch = {f"img_{i}": torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(i)) for i in range(3)}
    with torch.inference_mode():
        raw = model(batch)
    expect = learned @ raw["pred_verts3d_wo_gr"]
    assert torch.allclose(raw["pred_joints3d_wo_gr"], expect, atol=1e-6)


def test_missing_joint_regressor_is_rebuilt_with_a_warning(tmp_path, monkeypatch, mf_model, joint_regressor):
    import copy

    from h2o_helpers import standin_j_regressor, write_standin_mano

    authors = _authors(mf_model)
    del authors["mano_joint_reg"]
    write_standin_mano(tmp_path, standin_j_regressor())
    monkeypatch.setenv("HANDZOO_MANO_DIR", str(tmp_path))
    with pytest.warns(UserWarning, match="approximation"):
        out = conv.convert_state_dict(authors, "h2onet-dexycb")
    assert torch.equal(out["joint_regressor"], torch.from_numpy(joint_regressor))
    # loading weights without it (as from the Hub, which never holds it) keeps the initial value
    model = copy.deepcopy(mf_model)
    with torch.no_grad():
        model.joint_regressor.add_(1.0)
    initial = model.joint_regressor.detach().clone()
    del out["joint_regressor"]
    with pytest.warns(UserWarning, match="approximation"):
        model.load_state_dict(out, strict=True)
    assert torch.equal(model.joint_regressor, initial)
    assert model.joint_regressor.requires_grad  # trained with the network, as the authors'
