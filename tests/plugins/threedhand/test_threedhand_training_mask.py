"""3D-hand's mask target: the hand's silhouette rendered in the training crop, and the recipes'
mask term (weight 10) training on it.

The rendered mask is checked against what the image shows: the generator's own mask of the same
sample warped into the crop (the crop's map computed here from
:func:`handzoo_3dhand.preprocess.image_to_crop`, mirrored here for left hands), and the crop's 2D
joints, which lie on the hand (the joints inside the hand always; the fingertips, on the
surface, can round to a pixel just off the silhouette). The rendered mask is the whole hand; the
generator's is the hand's visible part, which a forearm drawn at the wrist can hide a little of
(IoU 0.88-0.99 with forearms, 0.96-0.99 without, on 12 samples at 128 px).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from handzoo_3dhand.preprocess import CROP_SIZE, image_to_crop, threedhand_box
from handzoo_3dhand.training import ThreeDHandTrainTransform

from handzoo.errors import ConfigError
from handzoo.types import LEFT, RIGHT

S = CROP_SIZE


@pytest.fixture(scope="module")
def records() -> list[dict]:
    """Two right and two left one-hand generator records at 128 px, with the generator's mask."""
    from handzoo.datasets.synth.scene import HandSynthesizer, SynthConfig
    from handzoo.train.data import sample_to_record

    gen = HandSynthesizer(SynthConfig(image_size=128, supersample=1, left_prob=0.5))
    out: dict[int, list[dict]] = {RIGHT: [], LEFT: []}
    i = 0
    while min(len(v) for v in out.values()) < 2:
        s = gen.generate(11, i)
        i += 1
        rec = sample_to_record(s)
        if len(out[rec["side"]]) < 2:
            rec["mask"] = np.asarray(s.mask, np.uint8)
            out[rec["side"]].append(rec)
    return out[RIGHT] + out[LEFT]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0.5, b > 0.5
    return float((a & b).sum() / max((a | b).sum(), 1))


TIPS = (4, 8, 12, 16, 20)
INNER = [j for j in range(21) if j not in TIPS]


def _joint_coverage(mask: np.ndarray, joints2d: np.ndarray) -> float:
    """Share of the 2D joints whose nearest crop pixel is on the mask; every joint inside the hand
    (all but the fingertips) must be."""
    px = np.clip(np.rint(joints2d).astype(np.int64), 0, S - 1)
    on = mask[px[:, 1], px[:, 0]] > 0.5
    assert on[INNER].all(), np.nonzero(~on)[0]
    return float(on.mean())


def test_rendered_mask_is_the_generators_mask_in_the_crop(records: list[dict]) -> None:
    tf = ThreeDHandTrainTransform(augment=False)
    for rec in records:
        out = tf(rec, 0)
        mask = out["mask"]
        assert mask.shape == (S, S) and mask.dtype == np.float32 and out["mask_valid"] == 1.0
        assert set(np.unique(mask)) <= {0.0, 1.0} and mask.mean() > 0.02
        # the generator's mask through the crop's map (three points of image_to_crop) and mirror
        K = np.asarray(rec["K"], np.float64)
        j3 = np.asarray(rec["joints3d"], np.float64)
        uv = j3[:, :2] / j3[:, 2:] * np.diag(K)[:2] + K[:2, 2]
        h, w = rec["image"].shape[:2]
        box = threedhand_box(uv, w, h)
        src = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0]])
        A = cv2.getAffineTransform(src.astype(np.float32), image_to_crop(src, box).astype(np.float32))
        ref = cv2.warpAffine(rec["mask"].astype(np.float32) / 255.0, A, (S, S), flags=cv2.INTER_LINEAR)
        if rec["side"] == LEFT:
            ref = ref[:, ::-1]
        assert _iou(mask, ref) > 0.85, (rec["side"], _iou(mask, ref))
        assert _joint_coverage(mask, out["joints2d"]) > 0.9


def test_augmented_crops_carry_their_mask(records: list[dict]) -> None:
    # rotation, scale, shift and colour on: the rendered mask (through the composed camera) and
    # the generator's mask warped by the same maps agree, left hands mirrored with the image
    render = ThreeDHandTrainTransform(rotation_deg=45.0, rotation_prob=1.0, seed=3)
    warp = ThreeDHandTrainTransform(rotation_deg=45.0, rotation_prob=1.0, seed=3, mask_source="record")
    for i, rec in enumerate(records):
        a, b = render(rec, i), warp(rec, i)
        np.testing.assert_array_equal(a["img"], b["img"])
        assert _iou(a["mask"], b["mask"]) > 0.85, (rec["side"], _iou(a["mask"], b["mask"]))
        assert _joint_coverage(a["mask"], a["joints2d"]) > 0.9
        assert b["mask"].min() >= 0.0 and b["mask"].max() <= 1.0


def test_mask_sources_and_validity(records: list[dict]) -> None:
    rec = records[0]
    off = ThreeDHandTrainTransform(augment=False, mask_source="none")(rec, 0)
    assert off["mask_valid"] == 0.0 and not off["mask"].any()
    # parameters of another hand model cannot pose this one: no mask, marked invalid
    other = ThreeDHandTrainTransform(augment=False)({**rec, "hand_model": "mano"}, 0)
    assert other["mask_valid"] == 0.0 and not other["mask"].any()
    with pytest.raises(ConfigError, match="mask_source"):
        ThreeDHandTrainTransform(mask_source="image")
    # the transform (with its lazily built models) pickles for DataLoader workers
    import pickle

    tf = ThreeDHandTrainTransform(augment=False)
    first = tf(rec, 0)
    again = pickle.loads(pickle.dumps(tf))(rec, 0)
    np.testing.assert_array_equal(first["mask"], again["mask"])


def test_mask_loss_is_low_for_the_target_hand_and_high_elsewhere(records: list[dict]) -> None:
    from handzoo_3dhand.losses import mask_loss

    tf = ThreeDHandTrainTransform(augment=False)
    out = tf(records[0], 0)
    mask = torch.as_tensor(out["mask"])[None]
    # the posed hand's own vertices in the crop (the rendered model: right hand after mirroring)
    ys, xs = np.nonzero(out["mask"] > 0.5)
    on = torch.as_tensor(np.stack([xs, ys], 1)[::7], dtype=torch.float32)[None]
    off = torch.tensor([[[2.0, 2.0], [S - 3.0, 2.0], [2.0, S - 3.0]]])
    assert float(mask_loss(on, mask)) < 0.01
    assert float(mask_loss(off, mask)) > 0.99


def test_recipes_turn_the_mask_term_on() -> None:
    from handzoo.train.config import load_config

    for variant in ("3dhand-rgb-openhand", "3dhand-rgb2d-openhand"):
        cfg = load_config(variant)
        assert cfg.model.kwargs.losses["train"]["w_mask"] == 10.0
        assert cfg.train_data.transform.mask_source == "render"


def test_training_with_the_mask_term_falls(tmp_path: Path) -> None:
    from handzoo.testing.train import shards_source, short_run_args
    from handzoo.train.cli import main
    from handzoo.train.hooks import read_loss_curve
    from handzoo.train.shards import render_shards

    shards = tmp_path / "shards"
    render_shards(shards, n=2, seed=5, shard_size=2, workers=0, image_size=96, supersample=1, progress=False)
    iters = 8
    cfg_options = [
        shards_source(shards),
        "train_data.transform.augment=False",
        "train_data.shuffle=False",
        "model.kwargs.backbone={'type': 'ThreeDHandResNet', 'name': 'resnet18'}",
        "stages=[{'begin': 0, 'loss': 'train'}]",
        f"checkpoint_interval={iters}",
        "log_interval=1",
        "param_scheduler=None",
    ]
    assert main(short_run_args("3dhand-rgb-openhand", tmp_path / "w", iters, lr="1e-3", cfg_options=cfg_options)) == 0
    curve = read_loss_curve(tmp_path / "w")
    assert [r["iter"] for r in curve] == list(range(1, iters + 1))
    losses = [r["loss"] for r in curve]
    assert all(np.isfinite(losses))
    assert all(0.0 < r["mask"] <= 1.0 for r in curve), [r["mask"] for r in curve]
    assert sum(losses[-2:]) / 2 < losses[0], losses
