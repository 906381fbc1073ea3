"""DIGIT's part labels for training: rendered from the hand model's parts in the crop's camera.

The labels must sit on the image (the generator's own hand mask, warped with the crop), keep each
hand in its range (1-16 right, 17-32 left), let the nearer hand win where the hands overlap,
come from either a record's vertices or its hand-model parameters, and train: the segmentation
term falls through ``handzoo-train`` in a few CPU iterations.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from handzoo_digit.parts import PartLabeller, crop_intrinsics
from handzoo_digit.preprocess import crop_matrices, expand_box, union_box
from handzoo_digit.training import DigitTrainTransform

from handzoo.train.data import SceneSamples, ShardSamples
from handzoo.types import LEFT, RIGHT

# a small DIGIT (same parts, narrow HRNet) at 64 px: heatmaps 16, part labels 32
SMALL_DIGIT = (
    "model.kwargs={'input_size': 64, 'heatmap_size': 16, "
    "'backbone': {'type': 'DigitHRNet', 'stages': [[1, [8, 16]], [1, [8, 16, 32]], [1, [8, 16, 32, 64]]], "
    "'blocks_per_branch': 1}, "
    "'segm_head': {'type': 'DigitSegmHead', 'in_channels': 8, 'hidden': 16, 'num_classes': 33}, "
    "'merge': {'type': 'DigitMerge', 'image_channels': 8, 'num_classes': 33, 'segm_channels': 16}, "
    "'joint_head': {'type': 'DigitJointHead', 'in_channels': 24}, "
    "'root_hand_head': {'type': 'DigitRootHandHead', 'in_channels': 24}}"
)
SMALL_CROP = [
    "train_data.transform.input_size=64",
    "train_data.transform.heatmap_size=16",
    "train_data.transform.segm_size=32",
]


@pytest.fixture(scope="module")
def scenes() -> SceneSamples:
    """Three two-hand synthetic images at 128 px (the generator's vertices and hand mask)."""
    return SceneSamples("synthetic", max_hands=2, split="tiny", n=3, seed=7, image_size=128, two_hand_prob=1.0)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def _evaluation_crop(rec: dict, S: int = 256) -> np.ndarray:
    box = union_box(np.asarray(rec["bbox"])[: rec["n_hands"]], rec["image"].shape[:2])
    trans, _ = crop_matrices(expand_box(np.asarray(box, np.float32)), (S, S))
    return trans


def test_labels_cover_the_generators_hand_mask_in_the_crop(scenes: SceneSamples) -> None:
    tf = DigitTrainTransform(augment=False)
    for i in range(len(scenes)):
        rec = scenes[i]
        out = tf(rec, i)
        assert out["segm"].shape == (128, 128) and out["segm"].dtype == np.int64
        assert float(out["segm_valid"]) == 1.0
        # the generator's mask through the same crop map, subsampled to 128 as the labels are
        A = np.diag([0.5, 0.5, 1.0]) @ np.vstack([_evaluation_crop(rec), [0, 0, 1]])
        mask = cv2.warpAffine(rec["mask"], A[:2], (128, 128), flags=cv2.INTER_NEAREST) > 0
        assert _iou(out["segm"] > 0, mask) > 0.9, (i, _iou(out["segm"] > 0, mask))


@pytest.mark.parametrize(
    "augment",
    [
        {},
        {"rotation": 45.0, "rotation_prob": 1.0},
        # the InterHand2.6M recipe's (the authors' box law, rotation, flip, channel gain)
        {"scale_factor": 0.25, "shift": 0.15, "rotation": 45.0, "flip": 0.5, "colour": 0.0, "channel_gain": 0.2},
    ],
)
def test_each_hands_joints_land_on_its_own_labels(scenes: SceneSamples, augment: dict) -> None:
    # the 2.5D joint targets (heatmap pixels, x2 = label pixels) and the labels share the crop,
    # every augmentation included; right-slot joints on 1-16, left-slot joints on 17-32
    tf = DigitTrainTransform(seed=3, **augment)
    right, left = [], []
    for i in range(len(scenes)):
        out = tf(scenes[i], i)
        uv = np.round(out["joints25d"][:, :2] * 2).astype(int)
        inside = (out["joint_valid"] > 0) & (uv >= 0).all(1) & (uv < 128).all(1)
        lab = out["segm"][uv[:, 1].clip(0, 127), uv[:, 0].clip(0, 127)]
        right += list(lab[:21][inside[:21]])
        left += list(lab[21:][inside[21:]])
    right, left = np.array(right), np.array(left)
    assert len(right) > 30 and len(left) > 30
    assert np.mean((right >= 1) & (right <= 16)) > 0.8 and np.mean(right >= 17) < 0.05, right
    assert np.mean(left >= 17) > 0.8 and np.mean((left >= 1) & (left <= 16)) < 0.05, left


def _two_hands(right_z: float, left_z: float) -> dict:
    """A scene record with an open right and left hand, one behind the other, both facing the camera."""
    from handzoo.handmodels import hand_model

    verts = []
    for side, z in (("right", right_z), ("left", left_z)):
        m = hand_model("openhand", side=side, dtype=torch.float64)
        go = torch.tensor([[np.pi, 0.0, 0.0]], dtype=torch.float64)  # palm towards the camera (OpenCV frame)
        v, j = m(go, torch.zeros(1, 45, dtype=torch.float64))
        v = v[0] - v[0].mean(0)
        verts.append((v + torch.tensor([0.0, 0.0, z], dtype=torch.float64)).numpy())
    return {
        "n_hands": 2,
        "side": np.array([RIGHT, LEFT]),
        "vertices": np.stack(verts).astype(np.float32),
        "has_vertices": np.ones(2, np.uint8),
    }


def _solo(rec: dict, side: int) -> dict:
    h = [0 if side == RIGHT else 1]
    return {**rec, "n_hands": 1, "side": rec["side"][h], "vertices": rec["vertices"][h], "has_vertices": np.ones(1)}


def test_the_nearer_hand_wins_and_each_hand_keeps_its_range() -> None:
    labeller = PartLabeller("openhand")
    K = np.array([[300.0, 0, 63.5], [0, 300.0, 63.5], [0, 0, 1]])
    for near, far in ((RIGHT, LEFT), (LEFT, RIGHT)):
        z = {near: 0.5, far: 0.62}
        pair = _two_hands(z[RIGHT], z[LEFT])
        lab, ok = labeller(pair, K, (128, 128))
        assert ok
        solo = {}
        for side, (lo, hi) in ((RIGHT, (1, 16)), (LEFT, (17, 32))):
            alone, ok = labeller(_solo(pair, side), K, (128, 128))
            vals = np.unique(alone[alone > 0])
            assert ok and vals.min() >= lo and vals.max() <= hi and len(vals) >= 12  # most parts seen
            solo[side] = alone > 0
        overlap = solo[RIGHT] & solo[LEFT]
        assert overlap.sum() > 200
        in_near_range = (lab[overlap] >= 1) & (lab[overlap] <= 16) if near == RIGHT else lab[overlap] >= 17
        assert in_near_range.all(), near
        only_r, only_l = solo[RIGHT] & ~solo[LEFT], solo[LEFT] & ~solo[RIGHT]
        assert ((lab[only_r] >= 1) & (lab[only_r] <= 16)).all() and (lab[only_l] >= 17).all()
        assert (lab[~(solo[RIGHT] | solo[LEFT])] == 0).all()


def test_parameters_place_the_same_mesh_as_the_generators_vertices(scenes: SceneSamples) -> None:
    rec = dict(scenes[0])
    K = crop_intrinsics(rec["K"], _evaluation_crop(rec), 0.5)
    labeller = PartLabeller("openhand")
    from_vertices, ok1 = labeller(rec, K, (128, 128))
    rec["has_vertices"] = np.zeros(2, np.uint8)
    from_params, ok2 = labeller(rec, K, (128, 128))  # posed model + transl
    rec["has_transl"] = np.zeros(2, np.uint8)
    from_wrist, ok3 = labeller(rec, K, (128, 128))  # posed model on the annotated wrist
    assert ok1 and ok2 and ok3
    assert (from_params == from_vertices).mean() > 0.999 and (from_wrist == from_vertices).mean() > 0.999
    # a hand without vertices, transl or a valid wrist cannot be placed: no labels for the sample
    rec["joints_valid"] = rec["joints_valid"].copy()
    rec["joints_valid"][1, 0] = 0
    lab, ok = labeller(rec, K, (128, 128))
    assert not ok and not lab.any()


def test_one_hand_shard_records_get_labels(tmp_path: Path) -> None:
    from handzoo.train.shards import render_shards

    render_shards(tmp_path, n=2, seed=5, shard_size=2, workers=0, image_size=96, supersample=1, progress=False)
    src = ShardSamples(tmp_path)
    assert "transl" in src[0]  # the placement round-trips through the shard
    tf = DigitTrainTransform(augment=False)
    for i in range(len(src)):
        rec = src[i]
        out = tf(rec, i)
        assert float(out["segm_valid"]) == 1.0
        vals = out["segm"][out["segm"] > 0]
        lo, hi = (1, 16) if int(rec["side"]) == RIGHT else (17, 32)
        assert vals.size > 500 and vals.min() >= lo and vals.max() <= hi
        assert out["hand_type"].tolist() == ([1.0, 0.0] if int(rec["side"]) == RIGHT else [0.0, 1.0])


def test_without_a_hand_model_the_term_is_off_and_says_so(scenes: SceneSamples, tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="segmentation loss off"):
        tf = DigitTrainTransform(hand_model=None)
    out = tf(scenes[0], 0)
    assert float(out["segm_valid"]) == 0.0 and not out["segm"].any()
    with pytest.warns(UserWarning, match="mano_dir"):
        tf = DigitTrainTransform(hand_model="mano", mano_dir=tmp_path)  # no MANO files there
    assert float(tf(scenes[0], 0)["segm_valid"]) == 0.0


@pytest.mark.slow
def test_openhand_recipe_trains_the_segmentation_term(tmp_path: Path) -> None:
    from handzoo.testing.train import short_run_args
    from handzoo.train.cli import main
    from handzoo.train.hooks import read_loss_curve

    iters = 6
    cfg_options = [
        "train_data.source={'type': 'scenes', 'dataset': 'synthetic', 'split': 'tiny', 'n': 2, 'seed': 7, "
        "'image_size': 64, 'two_hand_prob': 1.0, 'max_hands': 2}",
        "train_data.transform.augment=False",
        "train_data.shuffle=False",
        f"checkpoint_interval={iters}",
        "log_interval=1",
        "param_scheduler=None",
        SMALL_DIGIT,
        *SMALL_CROP,
    ]
    assert (
        main(short_run_args("digit-interhand-openhand", tmp_path / "w", iters, lr="1e-3", cfg_options=cfg_options)) == 0
    )
    curve = read_loss_curve(tmp_path / "w")
    segm = [r["loss_segm"] for r in curve]
    loss = [r["loss"] for r in curve]
    assert all(np.isfinite(loss)) and segm[0] > 0.5  # labels present: cross-entropy of 33 classes
    assert segm[-1] < segm[0] and loss[-1] < loss[0], (segm, loss)


def test_a_mirrored_crop_swaps_the_hands(scenes: SceneSamples) -> None:
    # the authors' flip: the same crop mirrored, a right hand now in the left slot and conversely
    # (labels at the crop's own 256 pixels, so mirroring is exactly pixel x <-> 255 - x)
    fixed = {"scale_jitter": 0.0, "shift": 0.0, "colour": 0.0, "segm_size": 256}
    plain, mirrored = DigitTrainTransform(**fixed), DigitTrainTransform(flip=1.0, **fixed)
    for i in range(len(scenes)):
        a, b = plain(scenes[i], i), mirrored(scenes[i], i)
        np.testing.assert_allclose(b["img"], a["img"][:, :, ::-1], atol=2 / 255)
        assert b["hand_type"].tolist() == a["hand_type"][::-1].tolist()
        assert float(b["rel_root_bin"]) == pytest.approx(64 - float(a["rel_root_bin"]), abs=1e-4)
        for sl_a, sl_b in ((slice(0, 21), slice(21, 42)), (slice(21, 42), slice(0, 21))):
            np.testing.assert_allclose(b["joints25d"][sl_b, 0], 64 * 255 / 256 - a["joints25d"][sl_a, 0], atol=1e-3)
            np.testing.assert_allclose(b["joints25d"][sl_b, 1:], a["joints25d"][sl_a, 1:], atol=1e-3)
            np.testing.assert_array_equal(b["joint_valid"][sl_b], a["joint_valid"][sl_a])
        # labels: mirrored, with the ranges swapped (up to triangle-edge ties)
        swapped = np.where(a["segm"] > 16, a["segm"] - 16, np.where(a["segm"] > 0, a["segm"] + 16, 0))[:, ::-1]
        hand = (b["segm"] > 0) | (swapped > 0)
        assert (b["segm"][hand] == swapped[hand]).mean() > 0.99
        assert set(np.unique(b["segm"])) == set(np.unique(swapped))


def test_a_parts_file_renumbers_the_parts(scenes: SceneSamples, tmp_path: Path) -> None:
    import json

    from handzoo_digit.parts import vertex_parts

    from handzoo.errors import ConfigError

    default = PartLabeller("openhand")
    shuffled = (vertex_parts(default.models[RIGHT]).numpy() + 3) % 16
    path = tmp_path / "parts.json"
    path.write_text(json.dumps([*shuffled.tolist(), 8]))  # one extra entry (a sealed wrist vertex)
    renumbered = PartLabeller("openhand", parts_file=path)
    rec = scenes[0]
    K = crop_intrinsics(rec["K"], _evaluation_crop(rec), 0.5)
    a, b = default(rec, K, (128, 128))[0], renumbered(rec, K, (128, 128))[0]
    expected = np.where(a > 16, (a - 17 + 3) % 16 + 17, np.where(a > 0, (a - 1 + 3) % 16 + 1, 0))
    np.testing.assert_array_equal(b, expected)
    path.write_text(json.dumps(shuffled.tolist()[:100]))
    with pytest.raises(ConfigError, match="1609 vertices"):
        PartLabeller("openhand", parts_file=path)
