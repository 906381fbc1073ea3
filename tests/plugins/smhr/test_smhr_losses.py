"""SMHR's weakly supervised losses: values, gradients, registration."""

from __future__ import annotations

import math

import pytest
import torch
from handzoo_smhr.losses import (
    LOSS_CLASSES,
    SMHRBoneDirectionLoss,
    SMHRCenterFocalLoss,
    SMHRHandednessFocalLoss,
    SMHRKeypointConsistencyLoss,
    SMHRPhotometricLoss,
    SMHRPosePriorLoss,
    SMHRReprojectionLoss,
    SMHRSilhouetteLoss,
    bone_directions,
    focal_loss,
    pose_limits,
)

from handzoo.types import LEFT, RIGHT


def test_all_losses_are_registered() -> None:
    from handzoo.registry import build

    for name in LOSS_CLASSES:
        assert isinstance(build("losses", {"type": name}), LOSS_CLASSES[name])


def test_focal_loss_rewards_the_right_peaks() -> None:
    gt = torch.zeros(1, 1, 8, 8)
    gt[0, 0, 3, 4] = 1.0
    good = torch.full_like(gt, 1e-3)
    good[0, 0, 3, 4] = 0.999
    bad = torch.full_like(gt, 0.5)
    assert float(focal_loss(good, gt)) < 0.01 < float(focal_loss(bad, gt))
    logits = torch.zeros(1, 1, 8, 8, requires_grad=True)
    out = SMHRCenterFocalLoss()({"hm": logits}, {"hm": gt})
    out["loss"].backward()
    assert logits.grad[0, 0, 3, 4] < 0  # raise the peak
    hand = SMHRHandednessFocalLoss()({"handmap": torch.zeros(1, 2, 8, 8)}, {"handmap": gt.repeat(1, 2, 1, 1)})
    assert hand["loss"] == 100.0 * hand["handedness_focal"]


def _output(k: int = 2) -> dict:
    torch.manual_seed(0)
    j2d = (torch.rand(1, k, 21, 2) * 50 + 10).requires_grad_(True)
    return {"joints2d_net": j2d, "ind": torch.zeros(1, k, dtype=torch.long)}


def test_reprojection_bone_and_consistency_losses() -> None:
    out = _output()
    gt = out["joints2d_net"].detach().clone()
    batch = {"joints2d": gt, "joints2d_local": gt, "hand_mask": torch.tensor([[1.0, 0.0]])}
    for cls in (SMHRReprojectionLoss, SMHRBoneDirectionLoss, SMHRKeypointConsistencyLoss):
        assert float(cls()(out, batch)["loss"].detach()) == 0.0
    shifted = {**batch, "joints2d": gt + 2.0}
    assert float(SMHRReprojectionLoss()(out, shifted)["reprojection"]) == pytest.approx(4.0)
    assert float(SMHRBoneDirectionLoss()(out, shifted)["bone_direction"]) < 1e-9  # translation keeps directions
    scaled = {**batch, "joints2d": gt.flip(-1)}
    loss = SMHRBoneDirectionLoss()(out, scaled)["loss"]
    loss.backward()
    assert float(loss.detach()) > 0 and out["joints2d_net"].grad[0, 1].abs().sum() == 0  # masked hand gets no gradient
    dirs = bone_directions(gt)
    assert dirs.shape == (1, 2, 20, 2) and torch.allclose(dirs.norm(dim=-1), torch.ones(1, 2, 20), atol=1e-3)


def test_pose_prior_hinges_on_mirrored_limits() -> None:
    right, left = pose_limits(RIGHT), pose_limits(LEFT)
    assert (
        right.shape == (45, 2) and bool((right[:, 0] <= right[:, 1]).all()) and bool((left[:, 0] <= left[:, 1]).all())
    )
    # index base pitch: right [-10, 100] degrees, left [-100, 10]; roll is not mirrored
    assert right[2].tolist() == pytest.approx([-10 * math.pi / 180, 100 * math.pi / 180])
    assert left[2].tolist() == pytest.approx([-100 * math.pi / 180, 10 * math.pi / 180])
    assert left[0].tolist() == pytest.approx(right[0].tolist())
    inside = (right[:, 0] + right[:, 1]) / 2
    out = {
        "hand_pose": inside.expand(1, 1, 45).clone(),
        "betas": torch.zeros(1, 1, 10),
        "side": torch.tensor([[RIGHT]]),
        "joints2d_net": torch.zeros(1, 1, 21, 2),
        "ind": torch.zeros(1, 1, dtype=torch.long),
    }
    assert float(SMHRPosePriorLoss()(out, {})["loss"]) == pytest.approx(0.0, abs=1e-9)
    out["side"] = torch.tensor([[LEFT]])  # the right hand's mid-range pitch is outside the left limits
    assert float(SMHRPosePriorLoss()(out, {})["pose_prior"]) > 0
    out["betas"] = torch.ones(1, 1, 10)
    out["side"] = torch.tensor([[RIGHT]])
    assert float(SMHRPosePriorLoss()(out, {})["pose_prior"]) == pytest.approx(0.1)


def _tetra(k: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    v = torch.tensor([[0.0, 0.0, 0.5], [0.05, 0.0, 0.5], [0.0, 0.05, 0.5], [0.0, 0.0, 0.55]])
    f = torch.tensor([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]])
    return v.expand(1, k, 4, 3).clone(), f


def test_photometric_and_silhouette_render_through_handzoo_render() -> None:
    verts, faces = _tetra()
    colours = torch.full((1, 1, 4, 3), 0.5, requires_grad=True)
    out = {
        "vertices": verts,
        "vertex_colors": colours,
        "ind": torch.zeros(1, 1, dtype=torch.long),
        "joints2d_net": torch.zeros(1, 1, 21, 2),
    }
    size = 32
    image = torch.zeros(1, 3, size, size)
    skin = torch.ones(1, size, size)
    res = SMHRPhotometricLoss()(out, {"image": image, "skin_mask": skin, "faces": faces})
    res["loss"].backward()
    assert float(res["photometric"]) == pytest.approx(0.75, rel=1e-5)  # 3 channels x 0.5^2 where covered
    assert colours.grad.abs().sum() > 0
    verts = verts.clone().requires_grad_(True)
    sil = SMHRSilhouetteLoss(sigma=1.0)(
        {**out, "vertices": verts}, {"skin_mask": torch.zeros(1, size, size), "faces": faces}
    )
    sil["loss"].backward()
    assert float(sil["silhouette"]) > 0 and torch.isfinite(verts.grad).all()


def test_training_step_through_every_default_loss(mano_dir) -> None:
    from handzoo_smhr.model import SMHR

    torch.manual_seed(0)
    model = SMHR(
        backbone={"type": "SMHRResNetTrunk", "name": "resnet18"},
        heads=["hm", "params", "texture", "light", "handmap"],
        hand_model="mano",
        mano_dir=mano_dir,
        input_size=64,
        max_hands=2,
    ).train()
    losses = model.losses()
    assert set(losses) == {
        "center_focal",
        "handedness_focal",
        "reprojection",
        "bone_direction",
        "pose_prior",
        "photometric",
        "silhouette",
    }
    ind = torch.tensor([[5 * 16 + 6, 10 * 16 + 9], [7 * 16 + 7, 0]])
    side = torch.tensor([[RIGHT, LEFT], [LEFT, RIGHT]])
    out = model({"img": torch.randn(2, 3, 64, 64), "ind": ind, "side": side})
    assert out["handmap"].shape == (2, 2, 16, 16) and out["vertices"].shape == (2, 2, 778, 3)
    hm = torch.zeros(2, 1, 16, 16)
    hm.view(2, -1).scatter_(1, ind, 1.0)
    batch = {
        "hm": hm,
        "handmap": hm.repeat(1, 2, 1, 1),
        "joints2d": out["joints2d_net"].detach() + 1.0,
        "hand_mask": torch.tensor([[1.0, 1.0], [1.0, 0.0]]),
        "image": torch.rand(2, 3, 64, 64),
        "skin_mask": torch.ones(2, 64, 64),
        "faces": model.faces,
    }
    total = sum(loss(out, batch)["loss"] for loss in losses.values())
    total.backward()
    assert torch.isfinite(total)
    for name in ("hm", "params", "texture", "light", "handmap"):
        grad = getattr(model.heads, name)[2].weight.grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name
