"""The synthetic open-hand dataset: determinism, ground-truth consistency, and a picture test."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from handzoo.datasets import SyntheticHands, load_dataset
from handzoo.errors import ConfigError
from handzoo.handmodels import hand_model
from handzoo.types import LEFT, RIGHT, SIDE_NAMES


@pytest.fixture(scope="module")
def bench():
    return load_dataset("synthetic")  # the default split is the benchmark


@pytest.fixture(scope="module")
def samples(bench):
    return [bench[i] for i in range(8)]


def test_bench_split_definition(bench):
    assert bench.split == "bench" and len(bench) == 256 and bench.seed == 0
    assert bench.protocol == "freihand" and bench.root is None
    assert bench.config.image_size == 224 and bench.config.two_hand_prob == 0.0
    assert bench.fingerprint() == SyntheticHands(split="bench").fingerprint()
    assert bench.fingerprint() != SyntheticHands(split="bench", seed=1).fingerprint()


def test_deterministic_and_order_independent(samples):
    a = samples[5]  # generated after 0-4 by the module fixture
    b = SyntheticHands(split="bench")[5]  # generated first by a fresh instance
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.joints3d, b.joints3d)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert not np.array_equal(samples[6].image, a.image)


def test_ground_truth_is_the_hand_model_output(samples):
    for s in samples[:3]:
        for h in range(s.num_hands):
            m = hand_model("openhand", side=SIDE_NAMES[int(s.side[h])], dtype=torch.float64)
            args = [
                torch.as_tensor(s.mano[k][h : h + 1], dtype=torch.float64)
                for k in ("global_orient", "hand_pose", "betas", "transl")
            ]
            v, j = m(*args)
            np.testing.assert_allclose(v[0].numpy(), s.vertices[h], atol=1e-5)
            np.testing.assert_allclose(j[0].numpy(), s.joints3d[h], atol=1e-5)
        uv = s.joints3d[0] @ s.K.T
        np.testing.assert_allclose(uv[:, :2] / uv[:, 2:], s.joints2d[0], atol=1e-3)


def test_picture_projected_joints_fall_on_the_rendered_hand(samples):
    """The rendered mask must be where the ground truth says the hand is."""
    hits = total = 0
    for s in samples:
        assert s.image.shape == (224, 224, 3) and s.image.dtype == np.uint8
        assert s.num_hands == 1 and s.mask.shape == (224, 224)
        mask = s.mask > 0
        # every joint is inside the image and the hand fills 40-70 % of it (box of the mesh)
        assert (s.joints2d >= 0).all() and (s.joints2d < 224).all()
        uvw = s.vertices[0] @ s.K.T
        uv = uvw[:, :2] / uvw[:, 2:]
        side = (uv.max(0) - uv.min(0)).max() / 224
        assert 0.37 <= side <= 0.73
        vis = s.meta["visible"][0]
        px = np.rint(s.joints2d[0]).astype(int)
        # within 2 px of the joint's projection there is hand (joints sit inside the mesh)
        for (x, y), v in zip(px, vis):
            if v:
                total += 1
                hits += bool(mask[max(0, y - 2) : y + 3, max(0, x - 2) : x + 3].any())
        # and most of the mesh silhouette is the mask: projected vertices land on it
        inside = (uv >= 0).all(1) & (uv < 224).all(1)
        q = np.rint(uv[inside]).astype(int)
        on = mask[q[:, 1], q[:, 0]].mean()
        assert on > 0.75
        # and the mask stays inside the mesh's projected hull (forearms and background are not hand)
        hull = np.zeros((224, 224), np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(np.rint(uv).astype(np.int32)), 1)
        hull = cv2.dilate(hull, np.ones((5, 5), np.uint8)) > 0
        assert not (mask & ~hull).any()
    assert total > 60 and hits / total > 0.97


def test_sides_and_two_hand_images(samples):
    ds = SyntheticHands(split="bench_multi")
    sides = [tuple(ds[i].side.tolist()) for i in range(4)]
    assert any(len(s) == 2 for s in sides)
    for s in sides:
        if len(s) == 2:
            assert sorted(s) == [RIGHT, LEFT]
    assert {int(s.side[0]) for s in samples} == {RIGHT, LEFT}


def test_options_and_errors():
    small = SyntheticHands(split="custom", n=2, seed=7, image_size=96)
    s = small[0]
    assert s.image.shape == (96, 96, 3) and len(small) == 2
    with pytest.raises(IndexError):
        small[2]
    with pytest.raises(ConfigError, match="synthetic split"):
        SyntheticHands(split="nope")
    with pytest.raises(ConfigError, match="unknown synthetic option"):
        SyntheticHands(split="bench", colour="red")
