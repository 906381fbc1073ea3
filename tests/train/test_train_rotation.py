"""In-plane rotation of the training crops: the 3D targets and the global rotation roll with the image.

For H2ONet (single- and multi-frame) and 3D-hand: the rotated 3D joints project onto the crop's 2D
joints, the target global rotation reproduces the target joints, and a sample is a function of
(seed, index).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from handzoo.geometry.flip import flip_axis_angle
from handzoo.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from handzoo.imaging.transforms import crop_matrix
from handzoo.train.augment import camera_roll, roll_global_orient, sample_rotation
from handzoo.train.data import ShardSamples
from handzoo.types import LEFT


def _R(aa: np.ndarray) -> np.ndarray:
    return axis_angle_to_matrix(torch.as_tensor(np.asarray(aa, np.float64))[None])[0].numpy()


def _camera_joints(rec: dict) -> np.ndarray:
    """The record's 3D joints in the network's camera (mirrored for left hands)."""
    j3 = np.asarray(rec["joints3d"], np.float64).copy()
    if int(rec["side"]) == LEFT:
        j3[:, 0] = -j3[:, 0]
    return j3


def _network_orient(rec: dict) -> np.ndarray:
    go = np.asarray(rec["global_orient"], np.float64)
    return flip_axis_angle(go) if int(rec["side"]) == LEFT else go


def _similarity_residual(src: np.ndarray, dst: np.ndarray) -> float:
    """Max residual of ``dst = a * src + t`` fitted by least squares (no rotation, no mirror)."""
    A = np.concatenate([src.reshape(-1, 1), np.tile(np.eye(2), (len(src), 1))], axis=1)
    sol, *_ = np.linalg.lstsq(A, dst.reshape(-1), rcond=None)
    assert sol[0] > 0
    return float(np.abs(A @ sol - dst.reshape(-1)).max())


def test_camera_roll_moves_projections_with_the_crop() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(0, 0.05, (21, 3)) + np.array([0.02, -0.01, 0.5])
    f, c = 500.0, np.array([60.0, 50.0])
    uv = f * X[:, :2] / X[:, 2:] + c
    for rot in (-50.0, 0.0, 33.0):
        M = crop_matrix(120, [30, 20, 50, 50], 128, scale=1.2, rot=rot)
        uv_crop = uv @ M[:, :2].T + M[:, 2]
        Rz = camera_roll(M)
        Xr = X @ Rz.T
        s = np.linalg.norm(M[:, 0])
        # the crop's intrinsics: the focal length scaled, the principal point through the map
        np.testing.assert_allclose(s * f * Xr[:, :2] / Xr[:, 2:] + (M[:, :2] @ c + M[:, 2]), uv_crop, atol=1e-9)
        np.testing.assert_allclose(Xr[:, 2], X[:, 2])
        go = np.array([0.3, -1.1, 0.4])
        np.testing.assert_allclose(_R(roll_global_orient(Rz, go)), Rz @ _R(go), atol=1e-9)


def test_sample_rotation_follows_the_authors_law() -> None:
    draws = [sample_rotation(np.random.default_rng([1, i]), 30.0, 0.6) for i in range(400)]
    share = np.mean([d != 0.0 for d in draws])
    assert 0.5 < share < 0.7 and max(abs(d) for d in draws) <= 60.0
    assert all(sample_rotation(np.random.default_rng(i), 30.0, 0.0) == 0.0 for i in range(20))
    assert draws[:5] == [sample_rotation(np.random.default_rng([1, i]), 30.0, 0.6) for i in range(5)]


def _check_h2onet_frame(rec: dict, joints_img: np.ndarray, targets: dict[str, np.ndarray], hm) -> float:
    """Checks one H2ONet frame; returns its roll angle (degrees)."""
    R = targets["gt_glob_rot_mat"].astype(np.float64)
    Rz = R @ _R(_network_orient(rec)).T
    np.testing.assert_allclose(Rz[2], [0.0, 0.0, 1.0], atol=1e-5)  # a roll about the camera's axis
    X = _camera_joints(rec) @ Rz.T
    K = np.asarray(rec["K"], np.float64)
    assert K[0, 0] == pytest.approx(K[1, 1])
    # the rolled joints project onto the crop's 2D joints (up to the crop's scale and shift)
    assert _similarity_residual(X[:, :2] / X[:, 2:], joints_img.astype(np.float64) * 128) < 0.05
    # the rotated target joints are the record's joints, rolled (root-relative)
    np.testing.assert_allclose(targets["gt_joints3d_w_gr"], X - X[:1], atol=2e-3)
    # the target rotation reproduces the target joints through the hand model
    hp = np.asarray(rec["hand_pose"], np.float64)
    hp = flip_axis_angle(hp) if int(rec["side"]) == LEFT else hp
    go = matrix_to_axis_angle(torch.as_tensor(R)[None]).float()
    _, j = hm(go, torch.as_tensor(hp, dtype=torch.float32)[None], torch.as_tensor(np.asarray(rec["betas"]))[None])
    np.testing.assert_allclose((j - j[:, :1])[0].numpy(), targets["gt_joints3d_w_gr"], atol=1e-4)
    return float(np.degrees(np.arctan2(Rz[1, 0], Rz[0, 0])))


def test_h2onet_rotated_crops_roll_the_3d_targets(tiny_shards: Path) -> None:
    from handzoo_h2onet.training import H2ONetTrainTransform

    src = ShardSamples(tiny_shards)
    tf = H2ONetTrainTransform(rotation_deg=45.0, rotation_prob=1.0, colour=0.0, seed=2)
    sides, angles = set(), []
    for i in range(len(src)):
        rec = src[i]
        out = tf(rec, i)
        angles.append(_check_h2onet_frame(rec, out["joints_img"], out, tf.hand_model))
        sides.add(int(rec["side"]))
        # the canonical targets do not turn
        np.testing.assert_allclose(tf(rec, i)["gt_joints3d_wo_gr"], out["gt_joints3d_wo_gr"])
    assert len(sides) == 2, "the tiny shards should hold both sides"
    assert np.mean(np.abs(angles) > 1.0) > 0.8


def test_h2onet_evaluation_crop_is_the_methods_crop(tiny_shards: Path) -> None:
    from handzoo_h2onet.model import INPUT_SIZE
    from handzoo_h2onet.preprocess import crop_hands
    from handzoo_h2onet.training import H2ONetTrainTransform

    from handzoo.query import make_query

    src = ShardSamples(tiny_shards)
    tf = H2ONetTrainTransform(augment=False)
    for i in range(len(src)):
        rec = src[i]
        out = tf(rec, i)
        q = make_query(rec["image"], np.asarray(rec["bbox"])[None], sides=[int(rec["side"])], K=rec["K"])
        crops, _ = crop_hands(q, INPUT_SIZE)
        np.testing.assert_allclose(out["img"], crops[0].numpy(), atol=1e-6)
        np.testing.assert_allclose(out["gt_glob_rot_mat"], _R(_network_orient(rec)), atol=1e-5)


def test_h2onet_augmentation_is_deterministic_per_seed(tiny_shards: Path) -> None:
    from handzoo_h2onet.training import H2ONetMFTrainTransform, H2ONetTrainTransform

    rec = ShardSamples(tiny_shards)[0]
    for cls in (H2ONetTrainTransform, H2ONetMFTrainTransform):
        a, b = cls(seed=4, rotation_prob=1.0)(rec, 3), cls(seed=4, rotation_prob=1.0)(rec, 3)
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
        c = cls(seed=5, rotation_prob=1.0)(rec, 3)
        assert not np.allclose(a["gt_glob_rot_mat"], c["gt_glob_rot_mat"])


def test_h2onet_mf_frames_share_one_rotation(tiny_shards: Path) -> None:
    from handzoo_h2onet.training import H2ONetMFTrainTransform

    src = ShardSamples(tiny_shards)
    tf = H2ONetMFTrainTransform(rotation_deg=45.0, rotation_prob=1.0, colour=0.0, occlude=0.0, seed=1)
    for i in range(4):
        rec = src[i]
        out = tf(rec, i)
        angles = [
            _check_h2onet_frame(rec, out["joints_img"][f], {k: v[f] for k, v in out.items()}, tf.hand_model)
            for f in range(3)
        ]
        np.testing.assert_allclose(angles, angles[0], atol=1e-3)  # the authors' same rotation
        assert not np.allclose(out["joints_img"][0], out["joints_img"][2])  # own crops


def test_3dhand_rotated_crops_roll_the_3d_targets(tiny_shards: Path) -> None:
    from handzoo_3dhand.mesh import decode_hand
    from handzoo_3dhand.preprocess import CROP_SIZE
    from handzoo_3dhand.training import ThreeDHandTrainTransform

    src = ShardSamples(tiny_shards)
    tf = ThreeDHandTrainTransform(rotation_deg=45.0, rotation_prob=1.0, colour=0.0, seed=2)
    plain = ThreeDHandTrainTransform(rotation_deg=0.0, colour=0.0, seed=2)
    turned = 0
    for i in range(len(src)):
        rec = src[i]
        out = tf(rec, i)
        X = out["joints3d"].astype(np.float64)
        # through the crop's intrinsics (focal in crop pixels, one principal point) onto the 2D joints
        pp = out["joints2d"] - out["focal"] * X[:, :2] / X[:, 2:]
        assert np.abs(pp - pp.mean(0)).max() < 0.05, (i, pp)
        assert 0 <= pp.mean(0).min() and pp.mean(0).max() < CROP_SIZE * 2
        # the 3D joints are the record's, rolled about the camera's axis
        Y = _camera_joints(rec)
        Rz = np.linalg.lstsq(Y - Y.mean(0), X - X.mean(0), rcond=None)[0].T
        np.testing.assert_allclose(Rz[2], [0.0, 0.0, 1.0], atol=1e-6)
        np.testing.assert_allclose(Rz @ Rz.T, np.eye(3), atol=1e-6)
        turned += abs(np.degrees(np.arctan2(Rz[1, 0], Rz[0, 0]))) > 1.0
        # the target rotation reproduces the target joints: the palm joints (wrist and finger
        # bases depend on the global rotation and shape only, not on the 6-component pose)
        p = torch.as_tensor(out["params"], dtype=torch.float64)[None]
        d = (
            decode_hand(
                tf.hand_model,
                torch.ones(1),
                torch.zeros(1, 2),
                p[:, 3:6].float(),
                p[:, 6:12].float(),
                p[:, 12:22].float(),
                with_mano=False,
            )["joints3d"][0]
            .double()
            .numpy()
        )
        palm = [0, 5, 9, 13, 17]
        np.testing.assert_allclose(d[palm] - d[:1], X[palm] - X[:1], atol=2e-3)
        # the weak-perspective fit places the hand on the crop's joints as well as without the
        # rotation (the 6-component pose is lossy: a few to ~25 crop pixels either way)
        ref = plain(rec, i)
        np.testing.assert_allclose(ref["joints3d"], _camera_joints(rec), atol=1e-6)  # same jitter, no roll
        assert _fit_error(tf, out) < _fit_error(plain, ref) + 2.0
        # deterministic per (seed, index)
        b = tf(rec, i)
        assert all(np.array_equal(out[k], b[k]) for k in out)
    assert turned >= len(src) - 1


def _fit_error(tf, out: dict[str, np.ndarray]) -> float:
    from handzoo_3dhand.mesh import decode_hand

    p = torch.as_tensor(out["params"])[None]
    d = decode_hand(tf.hand_model, p[:, 0], p[:, 1:3], p[:, 3:6], p[:, 6:12], p[:, 12:22], with_mano=False)
    return float(np.abs(d["joints2d"][0].numpy() - out["joints2d"]).mean())


def test_h2onet_mf_frames_share_the_colour_and_crop_scale(tiny_shards: Path) -> None:
    from handzoo_h2onet.training import H2ONetMFTrainTransform

    rec = ShardSamples(tiny_shards)[1]
    # without the frames' own box motion the three crops are one image: the clip's crop scale,
    # rotation and colour are drawn once (the authors' multi-frame augmentation)
    tf = H2ONetMFTrainTransform(scale_jitter=0.0, shift=0.0, occlude=0.0, rotation_prob=1.0, seed=6)
    out = tf(rec, 2)
    np.testing.assert_array_equal(out["img_0"], out["img_1"])
    np.testing.assert_array_equal(out["img_0"], out["img_2"])
    assert not np.allclose(out["img_0"], H2ONetMFTrainTransform(augment=False)(rec, 2)["img_0"], atol=1e-3)
