"""handzoo-compact: crop camera, training targets and the user-facing output."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from handzoo_compact.crop import crop_camera
from handzoo_compact.transform import CompactTrainTransform

import handzoo
from handzoo.datasets import load_dataset
from handzoo.handmodels import hand_model
from handzoo.train.data import sample_to_record


@pytest.fixture(scope="module")
def records() -> list[dict]:
    ds = load_dataset("synthetic", split="bench", n=4, image_size=128)
    recs = [sample_to_record(ds[i]) for i in range(4)]
    assert {r["side"] for r in recs} == {0, 1}  # both sides covered
    return recs


@pytest.mark.parametrize("augment", [False, True])
def test_targets_pose_the_hand_seen_in_the_crop(records: list[dict], augment: bool) -> None:
    """The target parameters posed by the right hand model equal the ground-truth joints in the crop frame."""
    right = hand_model("openhand", side="right", flat_hand_mean=True)
    for i, rec in enumerate(records):
        tf = CompactTrainTransform(input_size=64, augment=augment, colour=0.0, seed=3)
        out = tf(rec, i)
        _, j = right(*(torch.as_tensor(out[k])[None] for k in ("gt_global_orient", "gt_hand_pose", "gt_betas")))
        j = (j - j[:, :1])[0].numpy()
        # the same random crop camera, drawn again from the transform's generator
        rng = np.random.default_rng([3, i, 1])
        if augment:
            scale = 1.5 * float(np.exp(rng.uniform(-0.15, 0.15)))
            angle = float(rng.uniform(-np.pi, np.pi))
            shift = tuple(float(v) for v in rng.uniform(-0.08, 0.08, 2))
        else:
            scale, angle, shift = 1.5, 0.0, (0.0, 0.0)
        cam = crop_camera(rec["K"], rec["bbox"], 64, rec["side"] == 1, scale=scale, angle=angle, shift=shift)
        ref = (rec["joints3d"] - rec["joints3d"][0]) @ cam.R.T
        np.testing.assert_allclose(j, ref, atol=2e-5)
        uv = ref + (cam.R @ rec["joints3d"][0])
        uv = uv[:, :2] / uv[:, 2:] * cam.K[0, 0] / 32.0
        np.testing.assert_allclose(out["gt_joints2d_n"], uv, atol=1e-4)


def test_predict_returns_hands_in_the_input_camera(records: list[dict]) -> None:
    model = handzoo.load(
        "compact-openhand",
        pretrained=False,
        backbone={"type": "TimmBackbone", "name": "resnet10t", "out_indices": [4]},
        input_size=64,
    )
    imgs = [r["image"] for r in records[:2]]
    out = model(
        imgs, boxes=[r["bbox"][None] for r in records[:2]], sides=[[r["side"]] for r in records[:2]], K=records[0]["K"]
    )
    assert out.joints3d.shape == (2, 1, 21, 3) and out.vertices.shape == (2, 1, 1609, 3)
    assert out.root_relative and out.valid.all()
    assert out.side[:, 0].tolist() == [r["side"] for r in records[:2]]
    # the 2D joints are the projection of the joints placed at cam_t
    K = torch.as_tensor(records[0]["K"], dtype=torch.float32)
    p = (out.joints3d + out.cam_t[:, :, None]) @ K.T
    np.testing.assert_allclose((p[..., :2] / p[..., 2:]).numpy(), out.joints2d.numpy(), rtol=1e-4, atol=1e-2)
