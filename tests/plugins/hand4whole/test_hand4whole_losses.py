"""Hand4Whole's L1 losses: values, masks, skipped terms, and gradients through the model."""

from __future__ import annotations

import copy

import h4w_testutils as tu
import pytest
import torch
from handzoo_hand4whole.losses import LOSS_TERMS, Hand4WholeLoss, joint_img_targets

from handzoo.errors import InputError


def _outputs(n: int = 3, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "joint_img": torch.rand(n, 21, 3, generator=g) * 8,
        "mano_pose": torch.randn(n, 48, generator=g),
        "betas": torch.randn(n, 10, generator=g),
        "joint_proj": torch.rand(n, 21, 2, generator=g) * 8,
        "joint_cam": torch.randn(n, 21, 3, generator=g) * 0.05,
    }


def _targets(n: int = 3, seed: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "joint_img": torch.rand(n, 21, 3, generator=g) * 8,
        "joint_trunc": (torch.rand(n, 21, 1, generator=g) > 0.2).float(),
        "is_3D": torch.tensor([1.0, 0.0, 1.0])[:n],
        "mano_joint_img": torch.rand(n, 21, 3, generator=g) * 8,
        "mano_joint_trunc": torch.ones(n, 21, 1),
        "mano_pose": torch.randn(n, 48, generator=g),
        "mano_pose_valid": torch.ones(n, 48),
        "mano_shape": torch.randn(n, 10, generator=g),
        "mano_shape_valid": torch.tensor([1.0, 0.0, 1.0])[:n],
        "joint_cam": torch.randn(n, 21, 3, generator=g) * 0.05,
        "joint_valid": torch.ones(n, 21),
        "mano_joint_cam": torch.randn(n, 21, 3, generator=g) * 0.05,
        "mano_joint_valid": torch.ones(n, 21, 1),
    }


def test_terms_follow_the_authors_formulas() -> None:
    out, tg = _outputs(), _targets()
    losses = Hand4WholeLoss()(out, tg)
    assert set(losses) == {"loss", *LOSS_TERMS}
    is3d = tg["is_3D"][:, None, None]
    ji = (out["joint_img"] - tg["joint_img"]).abs() * tg["joint_trunc"]
    ji = torch.cat((ji[..., :2], ji[..., 2:] * is3d), dim=-1)
    expect = {
        "joint_img": ji.mean(),
        "mano_joint_img": (out["joint_img"] - tg["mano_joint_img"]).abs().mean(),
        "mano_pose": (out["mano_pose"] - tg["mano_pose"]).abs().mean(),
        "mano_shape": ((out["betas"] - tg["mano_shape"]).abs() * tg["mano_shape_valid"][:, None]).mean(),
        "joint_proj": ((out["joint_proj"] - tg["joint_img"][..., :2]).abs() * tg["joint_trunc"]).mean(),
        "joint_cam": ((out["joint_cam"] - tg["joint_cam"]).abs() * is3d).mean(),
        "mano_joint_cam": (out["joint_cam"] - tg["mano_joint_cam"]).abs().mean(),
    }
    for k, v in expect.items():
        torch.testing.assert_close(losses[k], v, msg=k)
    torch.testing.assert_close(losses["loss"], sum(expect.values()))


def test_perfect_prediction_has_zero_loss() -> None:
    out = _outputs()
    tg = {
        **_targets(),
        "joint_img": out["joint_img"],
        "mano_joint_img": out["joint_img"],
        "mano_pose": out["mano_pose"],
        "mano_shape": out["betas"],
        "joint_cam": out["joint_cam"],
        "mano_joint_cam": out["joint_cam"],
    }
    tg["joint_img"] = torch.cat((out["joint_proj"], out["joint_img"][..., 2:]), dim=-1)
    tg["mano_joint_img"] = tg["joint_img"]
    out = {**out, "joint_img": tg["joint_img"]}
    losses = Hand4WholeLoss()(out, tg)
    assert losses["loss"].item() == 0.0


def test_missing_targets_skip_their_terms_and_weights_apply() -> None:
    out = _outputs()
    tg = {k: v for k, v in _targets().items() if k.startswith("joint_") or k == "is_3D"}
    losses = Hand4WholeLoss(weights={"joint_proj": 2.0})(out, tg)
    assert set(losses) == {"loss", "joint_img", "joint_proj", "joint_cam"}
    torch.testing.assert_close(losses["loss"], losses["joint_img"] + 2 * losses["joint_proj"] + losses["joint_cam"])


def test_bad_loss_arguments() -> None:
    with pytest.raises(InputError, match="unknown"):
        Hand4WholeLoss(weights={"vertex": 1.0})
    tg = {"mano_pose": torch.zeros(3, 45), "mano_pose_valid": torch.ones(3, 45)}
    with pytest.raises(InputError, match="does not match"):
        Hand4WholeLoss()(_outputs(), tg)


def test_joint_img_targets() -> None:
    j2d = torch.tensor([[[128.0, 64.0], [300.0, 10.0]]])
    j3d = torch.tensor([[[0.0, 0.0, 1.0], [0.0, 0.0, 1.075]]])
    joint_img, trunc = joint_img_targets(j2d, j3d)
    torch.testing.assert_close(joint_img[0, 0], torch.tensor([4.0, 2.0, 4.0]))
    assert joint_img[0, 1, 2].item() == pytest.approx(6.0)  # +7.5 cm = +half of 0.15 m -> 3/4 of the depth
    assert trunc[0, :, 0].tolist() == [1.0, 0.0]  # the second joint is outside the crop


def test_gradients_reach_the_network_and_joint_img_is_detached(h4w_model) -> None:
    model = copy.deepcopy(h4w_model).train()  # train mode updates BN statistics: keep the shared model intact
    out = model({"img": tu.seeded_crops(2)})
    tg = {"mano_pose": torch.zeros(2, 48), "mano_pose_valid": torch.ones(2, 48)}
    Hand4WholeLoss()(out, tg)["loss"].backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.rotation_head.hand_pose.weight.grad.abs().sum() > 0
    # RotationNet reads the joints detached: a pose loss does not train PositionNet
    assert model.position_head.heatmap.weight.grad is None
