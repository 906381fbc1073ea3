"""The checkpoint converter: both key layouts, round trips, and every refusal."""

from __future__ import annotations

import h4w_testutils as tu
import pytest
import torch
from handzoo_hand4whole.convert import (
    KEY_MAP_VERSION,
    LAYOUTS,
    convert_state_dict,
    detect_layout,
    expected_shapes,
    infer_backbone,
    to_authors_state_dict,
)

from handzoo.errors import CheckpointError


def _older(state: dict) -> dict:
    renamed = {}
    for k, v in state.items():
        for cur, old in zip(LAYOUTS["current"], LAYOUTS["older"]):
            if k.startswith(cur):
                k = old + k[len(cur) :]
                break
        renamed[k] = v
    return renamed


def test_expected_keys_match_the_authors_model(authors_state: dict) -> None:
    assert len(authors_state) == 335  # 346 keys of the authors' model minus 11 mano_layer.* arrays
    shapes = expected_shapes("resnet50")
    assert len(shapes) == len(authors_state)
    converted = convert_state_dict(authors_state)
    assert {k: tuple(v.shape) for k, v in converted.items()} == shapes
    # the backbone keys are the authors' own, one to one
    assert {k for k in converted if k.startswith("backbone.")} == {
        k for k in authors_state if k.startswith("backbone.")
    }


@pytest.mark.parametrize("layout", ["current", "older"])
def test_both_layouts_convert_to_the_same_dict(authors_state: dict, layout: str) -> None:
    state = authors_state if layout == "current" else _older(authors_state)
    assert detect_layout(state) == layout
    out = convert_state_dict(state, "hand4whole-hand")
    ref = convert_state_dict(authors_state)
    assert out.keys() == ref.keys()
    assert all(out[k] is ref[k] for k in ref)  # the same tensors, only renamed


@pytest.mark.parametrize("layout", ["current", "older"])
def test_round_trip(h4w_model, layout: str) -> None:
    ours = h4w_model.state_dict()
    theirs = to_authors_state_dict(ours, layout)
    assert detect_layout(theirs) == layout
    back = convert_state_dict(theirs)
    assert back.keys() == ours.keys()
    for k in ours:
        assert torch.equal(back[k], ours[k]), k


def test_authors_keys_round_trip_exactly(authors_state: dict) -> None:
    assert to_authors_state_dict(convert_state_dict(authors_state)).keys() == authors_state.keys()


def test_embedded_mano_arrays_are_dropped(authors_state: dict) -> None:
    state = dict(authors_state)
    state["mano_layer.v_template"] = torch.zeros(778, 3)
    state["mano_layer.shapedirs"] = torch.zeros(778, 3, 10)
    out = convert_state_dict(state)
    assert not any("mano" in k for k in out)


def test_model_state_dict_holds_no_hand_model_arrays(h4w_model) -> None:
    keys = h4w_model.state_dict().keys()
    assert not any(k.startswith("hand_model.") or k == "joint_regressor" for k in keys)
    assert len(keys) == 335


def test_unknown_key_is_refused(authors_state: dict) -> None:
    state = {**authors_state, "rotation_net.extra_out.0.weight": torch.zeros(3)}
    with pytest.raises(CheckpointError, match="extra_out"):
        convert_state_dict(state)


def test_whole_body_keys_are_refused(authors_state: dict) -> None:
    state = {**authors_state, "body_position_net.conv.0.weight": torch.zeros(3)}
    with pytest.raises(CheckpointError, match="body_position_net"):
        convert_state_dict(state)


def test_missing_key_is_refused(authors_state: dict) -> None:
    state = {k: v for k, v in authors_state.items() if k != "rotation_net.cam_out.0.bias"}
    with pytest.raises(CheckpointError, match="rotation_head.camera.bias"):
        convert_state_dict(state)


def test_wrong_shape_is_refused(authors_state: dict) -> None:
    state = {**authors_state, "rotation_net.shape_out.0.weight": torch.zeros(16, 2048)}
    with pytest.raises(CheckpointError, match="wrong shape"):
        convert_state_dict(state)


def test_mixed_layouts_are_refused(authors_state: dict) -> None:
    state = {**authors_state, "hand_backbone.conv1.weight": torch.zeros(64, 3, 7, 7)}
    with pytest.raises(CheckpointError, match="mixes"):
        convert_state_dict(state)


def test_foreign_checkpoint_is_refused() -> None:
    with pytest.raises(CheckpointError, match="not a Hand4Whole"):
        convert_state_dict({"encoder.weight": torch.zeros(2)})


def test_unknown_resnet_is_refused(authors_state: dict) -> None:
    state = {k: v for k, v in authors_state.items() if not k.startswith("backbone.layer3.5.")}
    with pytest.raises(CheckpointError, match="no ResNet"):
        convert_state_dict(state)


def test_infer_backbone() -> None:
    assert infer_backbone(tu.read_key_shapes()) == "resnet50"
    assert infer_backbone(expected_shapes("resnet18")) == "resnet18"


def test_to_authors_refuses_foreign_keys() -> None:
    with pytest.raises(CheckpointError):
        to_authors_state_dict({"head.weight": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="layout"):
        to_authors_state_dict({}, layout="newest")


def test_converter_hook_and_version() -> None:
    import handzoo_hand4whole

    assert handzoo_hand4whole.handzoo_converters() == {"hand4whole": "handzoo_hand4whole.convert:convert_state_dict"}
    assert KEY_MAP_VERSION == "1"
