"""Our LBS equals smplx.MANO on the same arrays (random MANO-shaped stand-ins)."""

from __future__ import annotations

import pytest
import torch

from handzoo.geometry.joint_orders import convert_joints
from handzoo.handmodels import hand_model
from handzoo.handmodels.lbs import kinematic_levels
from handzoo.handmodels.mano_reader import MANO_TIP_IDS

smplx = pytest.importorskip("smplx")


def _smplx_mano(mano_dir, side, dtype, **kw):
    return smplx.MANO(str(mano_dir), is_rhand=side == "right", dtype=dtype, create_transl=False, **kw)


def _inputs(batch, pose_dim, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(batch, 3, generator=g, dtype=dtype),
        torch.randn(batch, pose_dim, generator=g, dtype=dtype) * 0.8,
        torch.randn(batch, 10, generator=g, dtype=dtype),
        torch.randn(batch, 3, generator=g, dtype=dtype) * 0.1,
    )


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("use_pca,flat_hand_mean", [(False, True), (False, False), (True, False)])
def test_equals_smplx_mano(mano_dir, side, dtype, use_pca, flat_hand_mean):
    opts = dict(use_pca=use_pca, flat_hand_mean=flat_hand_mean, num_pca_comps=12 if use_pca else 45)
    ref = _smplx_mano(mano_dir, side, dtype, **opts)
    ours = hand_model("mano", side, mano_dir=mano_dir, dtype=dtype, fix_left_shapedirs=False, **opts)
    go, hp, betas, transl = _inputs(7, 12 if use_pca else 45, dtype)
    with torch.no_grad():
        out = ref(global_orient=go, hand_pose=hp, betas=betas, transl=transl)
        verts, joints21 = ours(go, hp, betas, transl)
    # float64: smplx adds 1e-8 to the rotation vector before its norm, a ~1e-9 m difference
    tol = 1e-6 if dtype == torch.float32 else 1e-8
    assert verts.dtype == dtype and joints21.shape == (7, 21, 3)
    assert (verts - out.vertices).abs().max() < tol
    mano21 = convert_joints(joints21, "handzoo21", "mano21")
    assert (mano21[:, :16] - out.joints).abs().max() < tol
    assert torch.equal(mano21[:, 16:], verts[:, list(MANO_TIP_IDS[side])])


def test_gradients_flow(mano_dir):
    model = hand_model("mano", "right", mano_dir=mano_dir, dtype=torch.float64)
    go, hp, betas, _ = _inputs(2, 45, torch.float64)
    for t in (go, hp, betas):
        t.requires_grad_()
    verts, joints = model(go, hp, betas)
    (verts.square().sum() + joints.sum()).backward()
    assert all(torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0 for t in (go, hp, betas))


def test_broadcast_and_partial_betas(mano_dir):
    model = hand_model("mano", "right", mano_dir=mano_dir)
    go, hp, betas, _ = _inputs(4, 45, torch.float32)
    v_full, _ = model(go, hp, torch.cat([betas[:1, :3], torch.zeros(1, 7)], 1).expand(4, 10))
    v_part, _ = model(go, hp, betas[:1, :3])
    assert torch.allclose(v_full, v_part)
    v_none, _ = model(go, hp, None)
    v_zero, _ = model(go, hp, torch.zeros(4, 10))
    assert torch.equal(v_none, v_zero)


def test_kinematic_levels():
    levels = kinematic_levels([-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14])
    assert levels == [[0], [1, 4, 7, 10, 13], [2, 5, 8, 11, 14], [3, 6, 9, 12, 15]]
    with pytest.raises(ValueError):
        kinematic_levels([-1, 2, 0])
