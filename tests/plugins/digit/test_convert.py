"""The checkpoint converter: the released layout, Lightning dumps, round trips and refusals."""

from __future__ import annotations

import digit_testutils as tu
import pytest
import torch
from handzoo_digit.convert import (
    KEY_MAP_VERSION,
    RENAMES,
    convert_state_dict,
    extract_pose_state,
    map_key,
    to_authors_layout,
)

from handzoo.errors import CheckpointError


def _model_shapes() -> dict[str, tuple[int, ...]]:
    from handzoo.registry import build

    return {k: tuple(v.shape) for k, v in build("methods", {"type": "DIGIT"}).state_dict().items()}


def test_every_authors_key_maps_onto_the_model(authors_state: dict) -> None:
    assert len(authors_state) == 1903
    converted = convert_state_dict(authors_state)
    assert {k: tuple(v.shape) for k, v in converted.items()} == _model_shapes()
    # the backbone keeps the authors' names (timm's HRNet blocks use them)
    assert {k for k in converted if k.startswith("backbone.")} == {
        k[len("pose_reg.") :] for k in authors_state if k.startswith("pose_reg.backbone.")
    }


def test_released_and_lightning_layouts_give_the_same_tensors(authors_state: dict) -> None:
    released = {"model." + k: v for k, v in authors_state.items()}
    lightning = tu.lightning_checkpoint(authors_state)
    ref = convert_state_dict(authors_state)
    for state in (released, lightning, extract_pose_state(lightning), extract_pose_state(released)):
        out = convert_state_dict(state)
        assert out.keys() == ref.keys()
        assert all(out[k] is ref[k] for k in ref)


def test_round_trip(authors_state: dict) -> None:
    back = to_authors_layout(convert_state_dict(authors_state))
    assert back.keys() == authors_state.keys()
    assert all(back[k] is authors_state[k] for k in back)


def test_map_key_examples() -> None:
    assert map_key("model.pose_reg.conv_hm.weight") == "joint_head.heatmap.weight"
    assert map_key("pose_reg.merge_layer.down2.maxpool_conv.1.double_conv.3.weight") == "merge.unet.enc2.3.weight"
    assert map_key("pose_reg.hand_segm.segm_head.segm_net.double_conv.3.bias") == "segm_head.classify.3.bias"
    assert (
        map_key("pose_reg.backbone.stage4.2.fuse_layers.0.3.0.0.weight")
        == "backbone.stage4.2.fuse_layers.0.3.0.0.weight"
    )
    assert map_key("pose_reg.final_layer.weight") is None
    assert len({dst for _, dst in RENAMES}) == len(RENAMES)


def test_unknown_key_is_refused(authors_state: dict) -> None:
    state = {**authors_state, "pose_reg.final_layer.weight": torch.zeros(42, 32, 1, 1)}
    with pytest.raises(CheckpointError, match="final_layer"):
        convert_state_dict(state)


def test_foreign_checkpoint_is_refused() -> None:
    with pytest.raises(CheckpointError, match="not DIGIT's"):
        convert_state_dict({"backbone.conv1.weight": torch.zeros(2)})
    with pytest.raises(CheckpointError, match="not DIGIT's"):
        extract_pose_state({"state_dict": {"model.encoder.weight": torch.zeros(2)}})
    with pytest.raises(CheckpointError):
        to_authors_layout({"head.weight": torch.zeros(1)})


def test_missing_and_misshaped_keys_are_refused_by_the_hub(authors_state: dict) -> None:
    from handzoo.hub.convert import convert_state
    from handzoo.hub.load import model_card

    card = model_card("digit-interhand")
    missing = {k: v for k, v in authors_state.items() if k != "pose_reg.conv_depth.bias"}
    with pytest.raises(CheckpointError, match="joint_head.depth.bias"):
        convert_state(card, missing)
    bad = {**authors_state, "pose_reg.root_fc.2.weight": torch.zeros(32, 512)}
    with pytest.raises(CheckpointError, match="root_hand_head.root_fc.2.weight"):
        convert_state(card, bad)


def test_converter_hook_and_version() -> None:
    import handzoo_digit

    assert handzoo_digit.handzoo_converters() == {"digit": "handzoo_digit.convert:convert_state_dict"}
    assert KEY_MAP_VERSION == "digit-1"


def test_lightning_dump_file_converts_through_the_hub(tmp_path, authors_state: dict) -> None:
    """A Lightning ``last.ckpt`` as the authors' training writes it (optimizer and MultiStepLR state)."""
    from handzoo.hub.convert import convert_checkpoint

    ckpt = tu.lightning_checkpoint(authors_state)
    p = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.Adam([p], lr=1e-4)
    ckpt["optimizer_states"] = [opt.state_dict()]
    ckpt["lr_schedulers"] = [torch.optim.lr_scheduler.MultiStepLR(opt, [40, 60], gamma=0.1).state_dict()]
    ckpt["checkpoint_callback_best_model_score"] = torch.tensor(14.8)
    ckpt["checkpoint_callback_best_model_path"] = "logs/abc/model_dump/epoch=69.ckpt"
    path = tmp_path / "last.ckpt"
    torch.save(ckpt, path)
    result = convert_checkpoint("digit-interhand", path)
    assert result.num_tensors == 1903 and result.key_map_version == KEY_MAP_VERSION
    from safetensors.torch import load_file

    got = load_file(str(result.path))
    ref = convert_state_dict(authors_state)
    assert got.keys() == ref.keys() and all(torch.equal(got[k], ref[k]) for k in ref)
