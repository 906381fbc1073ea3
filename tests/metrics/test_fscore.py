"""F-scores: exact official decisions (strict <) from the fast float32 path, chunking, odd inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from handzoo.errors import InputError
from handzoo.metrics import fscore, nearest_distances


def _official(gt: np.ndarray, pr: np.ndarray, th: float) -> float:
    """HO-3D's brute-force calculate_fscore, one sample (reference written for the test)."""
    d1 = np.min(np.linalg.norm(gt[:, None] - pr[None], axis=-1), axis=-1)
    d2 = np.min(np.linalg.norm(pr[:, None] - gt[None], axis=-1), axis=-1)
    recall = float(sum(d < th for d in d2)) / float(len(d2))
    precision = float(sum(d < th for d in d1)) / float(len(d1))
    return 2 * recall * precision / (recall + precision) if recall + precision > 0 else 0.0


def _clouds(seed: int, n: int, ng: int, np_: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gt = rng.normal(scale=0.03, size=(n, ng, 3)) + rng.uniform(-0.2, 0.2, size=(n, 1, 3)) + [0, 0, 0.7]
    pr = gt[:, rng.integers(0, ng, size=np_)] + rng.normal(scale=noise, size=(n, np_, 3))
    return gt, pr


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 60), st.integers(1, 60), st.sampled_from([0.001, 0.005, 0.02]))
def test_fast_path_equals_official(seed: int, ng: int, np_: int, noise: float) -> None:
    gt, pr = _clouds(seed, 5, ng, np_, noise)
    res = fscore(gt, pr, (0.005, 0.015), chunk_size=2)
    for i in range(len(gt)):
        for j, th in enumerate((0.005, 0.015)):
            assert float(res.fscore[i, j]) == _official(gt[i], pr[i], th)


def test_points_on_the_threshold_are_decided_like_numpy() -> None:
    """Nearest distances equal to the threshold up to a few ulps: strict <, decided in float64."""
    rng = np.random.default_rng(0)
    th = 0.005
    gt = rng.normal(scale=0.05, size=(3, 200, 3)) + [0.1, -0.2, 0.8]
    direction = rng.normal(size=(3, 200, 3))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    jitter = rng.integers(-3, 4, size=(3, 200, 1)) * np.finfo(float).eps * th
    pr = gt + direction * (th + jitter)
    fast = fscore(gt, pr, (th,))
    exact = fscore(gt, pr, (th,), exact=True)
    assert torch.equal(fast.fscore, exact.fscore)
    assert torch.equal(fast.precision, exact.precision)
    for i in range(3):
        assert float(fast.fscore[i, 0]) == _official(gt[i], pr[i], th)


def test_identical_sets_strict_comparison_and_zero_threshold() -> None:
    gt, _ = _clouds(1, 2, 30, 30, 0.0)
    res = fscore(gt, gt.copy(), (0.0, 0.001))
    assert res.fscore[:, 0].tolist() == [0.0, 0.0]  # 0 < 0 is False
    assert res.fscore[:, 1].tolist() == [1.0, 1.0]


def test_precision_recall_are_the_official_names() -> None:
    gt = np.array([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]])
    pr = np.array([[[0.0, 0.0, 0.001], [0.0, 0.001, 0.0], [0.0, 0.002, 0.0], [5.0, 5.0, 5.0]]])
    res = fscore(gt, pr, (0.005,))
    assert float(res.precision[0, 0]) == 0.5  # GT points matched
    assert float(res.recall[0, 0]) == 0.75  # predicted points near the GT
    assert float(res.fscore[0, 0]) == pytest.approx(2 * 0.75 * 0.5 / 1.25)
    assert res.mean().shape == (1,)


def test_nearest_distances_and_progress() -> None:
    gt, pr = _clouds(2, 7, 20, 25, 0.01)
    d_ab, d_ba = nearest_distances(gt, pr, chunk_size=3)
    ref = np.linalg.norm(gt[:, :, None] - pr[:, None], axis=-1)
    np.testing.assert_allclose(d_ab.numpy(), ref.min(2), rtol=1e-15)
    np.testing.assert_allclose(d_ba.numpy(), ref.min(1), rtol=1e-15)
    seen: list[int] = []
    fscore(gt, pr, chunk_size=3, progress=seen.append)
    assert sum(seen) == 7


def test_far_apart_and_empty_sets() -> None:
    gt, _ = _clouds(3, 2, 10, 10, 0.0)
    assert fscore(gt, np.zeros_like(gt)).fscore.abs().sum() == 0
    assert fscore(gt, np.zeros((2, 0, 3))).fscore.tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_bad_inputs() -> None:
    gt, pr = _clouds(4, 2, 10, 10, 0.01)
    with pytest.raises(InputError):
        fscore(gt, pr[:1])
    bad = pr.copy()
    bad[1, 3, 0] = np.nan
    with pytest.raises(InputError, match="sample 1"):
        fscore(gt, bad)
    with pytest.raises(InputError):
        fscore(gt[..., :2], pr[..., :2])
