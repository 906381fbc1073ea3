"""The training losses: values on hand-made cases, masking, gradients, registry."""

from __future__ import annotations

import pytest
import torch
from handzoo_3dhand.losses import (
    ThreeDHandLoss,
    ThreeDHandPretrainLoss,
    joint2d_l1,
    joint3d_loss,
    mask_loss,
    prior_loss,
)

from handzoo.errors import ConfigError, InputError


def _params(n: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 22, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_pretrain_terms_and_weights() -> None:
    pred, gt = _params(), _params(seed=1)
    out = ThreeDHandPretrainLoss()({"params": pred}, {"params": gt})
    torch.testing.assert_close(out["rot"], ((pred[:, 3:6] - gt[:, 3:6]) ** 2).mean())
    torch.testing.assert_close(out["betas"], ((pred[:, 12:] - gt[:, 12:]) ** 2).mean())
    total = 1000 * out["pose_pca"] + 1e5 * out["betas"] + 5000 * out["rot"] + 0.2 * out["trans"] + 0.1 * out["scale"]
    torch.testing.assert_close(out["loss"], total)
    l1 = ThreeDHandPretrainLoss("l1")({"params": pred}, {"params": gt})
    torch.testing.assert_close(l1["scale"], (pred[:, 0] - gt[:, 0]).abs().mean())
    with pytest.raises(ConfigError):
        ThreeDHandPretrainLoss("huber")
    with pytest.raises(InputError):
        ThreeDHandPretrainLoss()({"params": pred}, {"params": gt[:, :10]})


def test_joint_terms() -> None:
    pred = torch.zeros(2, 21, 2)
    gt = torch.ones(2, 21, 2)
    valid = torch.zeros(2, 21, dtype=torch.bool)
    valid[0, :3] = True
    gt[1] = 100.0  # invalid joints do not count
    torch.testing.assert_close(joint2d_l1(pred, gt, valid), torch.tensor(1.0))
    j = torch.randn(3, 21, 3, generator=torch.Generator().manual_seed(2))
    # centred: a pure translation costs nothing
    torch.testing.assert_close(joint3d_loss(j, j + torch.tensor([0.1, -0.2, 0.3])), torch.tensor(0.0))
    gt3 = j.clone()
    gt3[..., 2] += 2.0  # depth 2 m
    scale, focal = torch.full((3,), 500.0), torch.full((3,), 1000.0)
    # weak-perspective reading: the ground truth times focal / (mean depth * scale)
    depth = gt3[..., 2].mean(dim=1)
    pred3 = gt3 * (focal / (depth * scale))[:, None, None]
    torch.testing.assert_close(joint3d_loss(pred3, gt3, scale=scale, focal=focal), torch.tensor(0.0))
    assert float(joint3d_loss(pred3, gt3)) > 0.0
    torch.testing.assert_close(joint3d_loss(j, j, valid=torch.tensor([False, False, False])), torch.tensor(0.0))


def test_mask_loss_samples_the_mask_at_the_vertices() -> None:
    mask = torch.zeros(2, 16, 16)
    mask[:, :, :8] = 1.0  # left half
    inside = torch.full((2, 5, 2), 2.0)
    outside = torch.full((2, 5, 2), 12.0)
    torch.testing.assert_close(mask_loss(inside, mask), torch.tensor(0.0))
    torch.testing.assert_close(mask_loss(outside, mask), torch.tensor(1.0))
    far = torch.full((2, 5, 2), -50.0)  # clamped into the image: pixel (0, 0) is inside
    torch.testing.assert_close(mask_loss(far, mask), torch.tensor(0.0))
    assert float(mask_loss(outside, mask, torch.tensor([False, False]))) == 0.0


def test_training_loss_has_gradients_everywhere() -> None:
    n, v = 2, 30
    g = torch.Generator().manual_seed(3)
    out = {
        "joints2d": torch.randn(n, 21, 2, generator=g, requires_grad=True),
        "joints3d": torch.randn(n, 21, 3, generator=g, requires_grad=True),
        "vertices2d": (torch.rand(n, v, 2, generator=g) * 15).requires_grad_(),
        "scale": torch.full((n,), 500.0, requires_grad=True),
        "pose_pca": torch.randn(n, 6, generator=g, requires_grad=True),
        "betas": torch.randn(n, 10, generator=g, requires_grad=True),
    }
    batch = {
        "joints2d": torch.randn(n, 21, 2, generator=g),
        "joints3d": torch.randn(n, 21, 3, generator=g) + torch.tensor([0.0, 0.0, 1.0]),
        "joints3d_valid": torch.tensor([True, False]),
        "mask": torch.rand(n, 16, 16, generator=g),
    }
    res = ThreeDHandLoss()(out, batch)
    torch.testing.assert_close(res["prior"], prior_loss(out["pose_pca"], out["betas"]))
    res["loss"].backward()
    for name in ("joints2d", "joints3d", "vertices2d", "pose_pca", "betas"):
        assert out[name].grad is not None and torch.isfinite(out[name].grad).all(), name
    only_prior = ThreeDHandLoss()(out, {})
    assert float(only_prior["joints2d"].detach()) == float(only_prior["mask"].detach()) == 0.0


def test_losses_build_from_the_registry() -> None:
    from handzoo.registry import build

    assert isinstance(build("losses", {"type": "ThreeDHandLoss", "w_mask": 100.0}), ThreeDHandLoss)
    assert isinstance(build("losses", {"type": "ThreeDHandPretrainLoss"}), ThreeDHandPretrainLoss)


def test_one_training_step_on_the_open_hand() -> None:
    from handzoo_3dhand.model import ThreeDHand

    torch.manual_seed(0)
    model = ThreeDHand(hand_model="openhand").train()
    out = model({"img": torch.rand(2, 3, 256, 256)})
    batch = {"joints2d": torch.full((2, 21, 2), 128.0), "mask": torch.ones(2, 256, 256)}
    res = model.losses()["train"](out, batch)
    res["loss"].backward()
    assert model.backbone.conv1.weight.grad is not None and model.head.fc.weight.grad.abs().sum() > 0
    pre = model.losses()["pretrain"](out, {"params": out["params"].detach() + 0.1})
    assert float(pre["loss"].detach()) > 0.0
