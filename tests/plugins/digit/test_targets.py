"""Training targets: image-space joints -> DIGIT's heatmap space, inverse of the decoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from handzoo_digit.decode import back_project, bins_to_metres, heatmap_to_image
from handzoo_digit.preprocess import crop_matrices, expand_box
from handzoo_digit.targets import encode_rel_root, sample_targets

from handzoo.geometry.joint_orders import TO_HANDZOO21
from handzoo.types import LEFT, RIGHT, Sample


def _sample() -> Sample:
    rng = np.random.default_rng(5)
    right = np.array([0.03, 0.0, 0.62]) + rng.normal(0, 0.03, (21, 3))
    left = np.array([-0.05, 0.01, 0.66]) + rng.normal(0, 0.03, (21, 3))
    K = np.array([[500.0, 0, 160], [0, 500.0, 120], [0, 0, 1]])
    return Sample(
        image=np.zeros((240, 320, 3), np.uint8),
        K=K,
        side=np.array([RIGHT, LEFT]),
        joints3d=np.stack([right, left]),
        joints_valid=np.ones((2, 21), bool),
        bbox=np.zeros((2, 4)),
        hand_valid=np.ones(2, bool),
    )


def test_targets_decode_back_to_the_joints() -> None:
    s = _sample()
    proj = s.joints3d @ s.K.T
    uv = proj[..., :2] / proj[..., 2:]
    box = np.array([uv[..., 0].min(), uv[..., 1].min(), uv[..., 0].max(), uv[..., 1].max()])
    trans, inv = crop_matrices(expand_box(box))
    t = sample_targets(s, trans)
    assert t["joint_valid"].all() and float(t["root_valid"]) == 1.0
    assert t["hand_type"].tolist() == [1.0, 1.0]
    uvz = heatmap_to_image(torch.from_numpy(t["joints25d"])[None], torch.from_numpy(inv)[None])[0].numpy()
    ih = np.argsort(TO_HANDZOO21["interhand"])  # handzoo21 -> InterHand order
    for h, sl in ((0, slice(0, 21)), (1, slice(21, 42))):
        # float32 crop maps: sub-millipixel agreement
        np.testing.assert_allclose(uvz[sl, :2], uv[h][ih], atol=2e-3)
        # depth relative to the hand's own wrist (handzoo21 joint 0)
        np.testing.assert_allclose(uvz[sl, 2], s.joints3d[h][ih, 2] - s.joints3d[h][0, 2], atol=1e-9)
    rel = bins_to_metres(torch.tensor(float(t["rel_root_bin"]), dtype=torch.float64), 64, 0.4).item()
    assert rel == pytest.approx(s.joints3d[1, 0, 2] - s.joints3d[0, 0, 2], abs=1e-12)
    # back-projected at the true root depths: the camera joints again
    img = torch.from_numpy(uvz)[None].clone()
    img[:, :21, 2] += s.joints3d[0, 0, 2]
    img[:, 21:, 2] += s.joints3d[1, 0, 2]
    cam = back_project(img, torch.from_numpy(s.K)[None])[0].numpy()
    np.testing.assert_allclose(cam[:21], s.joints3d[0][ih], atol=1e-5)
    np.testing.assert_allclose(cam[21:], s.joints3d[1][ih], atol=1e-5)


def test_out_of_range_depths_and_missing_hands_are_invalid() -> None:
    s = _sample()
    s.joints3d[0, 5, 2] += 0.5  # 0.5 m behind its wrist: outside the 0.4 m span
    trans, _ = crop_matrices(expand_box(np.array([0.0, 0.0, 320.0, 240.0])))
    t = sample_targets(s, trans)
    ih = list(np.argsort(TO_HANDZOO21["interhand"]))
    assert t["joint_valid"][ih.index(5)] == 0 and t["joint_valid"].sum() == 41
    one = Sample(
        image=s.image,
        K=s.K,
        side=np.array([LEFT]),
        joints3d=s.joints3d[1:],
        joints_valid=np.ones((1, 21), bool),
        bbox=np.zeros((1, 4)),
        hand_valid=np.ones(1, bool),
    )
    t1 = sample_targets(one, trans)
    assert t1["hand_type"].tolist() == [0.0, 1.0] and float(t1["root_valid"]) == 0.0
    assert t1["joint_valid"][:21].sum() == 0 and t1["joint_valid"][21:].all()
    assert encode_rel_root(0.25) == (72.0, 0.0)
