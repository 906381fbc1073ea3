"""Parity with the authors' Pose2Pose hand code on deterministic weights (golden fixtures)."""

from __future__ import annotations

import h4w_testutils as tu
import numpy as np
import pytest
import torch

ATOL = 1e-4


def _close(ours: torch.Tensor | np.ndarray, theirs: np.ndarray, atol: float = ATOL) -> None:
    ours = ours.detach().cpu().numpy() if isinstance(ours, torch.Tensor) else np.asarray(ours)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=atol)


def test_fixture_inputs_are_reproduced(parity: dict) -> None:
    # the seeded crops the authors' run saw
    assert tu.seeded_crops(2).double().sum().item() == pytest.approx(float(parity["net_input_sum"][0]), abs=1e-3)


@pytest.fixture(scope="module")
def net_out(h4w_model) -> dict:
    with torch.no_grad():
        return h4w_model({"img": tu.seeded_crops(2)})


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("joint_img", "joint_img"),
        ("mano_pose", "mano_pose"),
        ("betas", "mano_shape"),
        ("cam_t", "cam_trans"),
        ("vertices", "mano_mesh_cam"),
        ("joint_cam", "joint_cam"),
    ],
)
def test_network_matches_authors(net_out: dict, parity: dict, ours: str, theirs: str) -> None:
    _close(net_out[ours], parity["net_" + theirs])


def test_joints_match_authors(net_out: dict, parity: dict) -> None:
    # the authors' camera-frame joints: regressor(mesh) (root-relative) + root + translation
    root = net_out["joints3d"][:, :1] - net_out["cam_t"][:, None]
    _close(net_out["joints3d"] - root - net_out["cam_t"][:, None], parity["net_joint_cam"])
    # joint_proj: the projection the authors' training loss uses (heatmap units, ~1e2 magnitude)
    _close(net_out["joint_proj"], parity["net_joint_proj"], atol=1e-3)


def test_pipeline_matches_authors_demo(h4w_model, parity: dict) -> None:
    """Image + boxes (a right and a left hand) -> crops -> network -> un-flip, as demo_hand.py."""
    image = tu.seeded_image()
    batch, meta = h4w_model.preprocess(
        h4w_model.make_query(image, boxes=[tu.PIPELINE_BOXES], sides=[list(tu.PIPELINE_SIDES)])
    )
    crops = batch["img"]
    np.testing.assert_allclose(meta["crops"].boxes, parity["pipe_bbox"], rtol=0, atol=1e-4)
    _close(crops[:, :, ::8, ::8], parity["pipe_crop_sub"], atol=1e-4)
    np.testing.assert_allclose(crops.double().sum((1, 2, 3)).numpy(), parity["pipe_crop_sum"], rtol=1e-6)
    with torch.no_grad():
        out = h4w_model.postprocess(h4w_model(batch), meta)
    _close(out.extras["joint_img"][0], parity["pipe_joint_img"])
    _close(out.vertices[0], parity["pipe_mesh_unflipped"])
    pose = torch.cat([out.mano["global_orient"][0], out.mano["hand_pose"][0]], dim=1)
    _close(pose, parity["pipe_pose_unflipped"])
    _close(out.mano["betas"][0], parity["pipe_shape"])
    cam = parity["pipe_cam_trans"].copy()
    cam[1, 0] *= -1  # the left hand's translation, un-flipped like its mesh
    _close(out.cam_t[0], cam)
    # joints: the authors' root-relative joints, un-flipped, plus the root and translation
    rel = out.joints3d[0] - out.joints3d[0][:, :1]
    theirs = parity["pipe_joint_cam_rootrel"].copy()
    theirs[1, :, 0] *= -1
    _close(rel, theirs)
    assert out.side[0].tolist() == list(tu.PIPELINE_SIDES)
