"""EvalUtil-equivalent statistics: per-keypoint means/medians, PCK (<=) and AUC."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from handzoo.errors import InputError
from handzoo.metrics import pck_curve, pck_thresholds, summarize_errors, trapz_auc


def _trapz(y: np.ndarray, x: np.ndarray) -> float:
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def _evalutil(errors: np.ndarray, vis: np.ndarray, lo: float, hi: float, steps: int) -> tuple:
    """FreiHAND's EvalUtil.get_measures, one keypoint at a time (reference written for the test)."""
    t = np.linspace(lo, hi, steps)
    norm = _trapz(np.ones_like(t), t)
    means, medians, aucs, curves = [], [], [], []
    for k in range(errors.shape[1]):
        data = errors[vis[:, k], k]
        if len(data) == 0:
            continue
        means.append(np.mean(data))
        medians.append(np.median(data))
        c = np.array([np.mean((data <= x).astype(float)) for x in t])
        curves.append(c)
        aucs.append(_trapz(c, t) / norm)
    return np.mean(means), np.mean(medians), np.mean(aucs), np.mean(np.array(curves), 0)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 30), st.integers(1, 25), st.booleans())
def test_summary_equals_evalutil(seed: int, n: int, k: int, masked: bool) -> None:
    rng = np.random.default_rng(seed)
    err = np.abs(rng.normal(scale=0.02, size=(n, k)))
    vis = rng.uniform(size=(n, k)) > 0.3 if masked else np.ones((n, k), dtype=bool)
    if not vis.any():
        vis[0, 0] = True
    s = summarize_errors(err, vis)
    mean, median, auc, curve = _evalutil(err, vis, 0.0, 0.05, 100)
    assert s.mean == pytest.approx(mean, rel=1e-12)
    assert s.median == pytest.approx(median, rel=1e-12)
    assert s.auc == pytest.approx(auc, rel=1e-12)
    np.testing.assert_allclose(s.pck.numpy(), curve, rtol=1e-12)
    assert s.counts.tolist() == vis.sum(0).tolist()


def test_threshold_is_inclusive_and_exact() -> None:
    t = pck_thresholds(0.0, 0.05, 100)
    assert np.array_equal(t.numpy(), np.linspace(0.0, 0.05, 100))
    err = np.array([[0.0], [t[10].item()], [0.06]])
    curve = pck_curve(err, t).numpy()[0]
    assert curve[0] == pytest.approx(1 / 3)  # 0 <= 0 counts
    assert curve[10] == pytest.approx(2 / 3)  # error exactly at a threshold counts
    assert curve[-1] == pytest.approx(2 / 3)


def test_perfect_and_hopeless_auc() -> None:
    assert summarize_errors(np.zeros((4, 21))).auc == pytest.approx(1.0)
    assert summarize_errors(np.ones((4, 21))).auc == 0.0
    t = pck_thresholds()
    assert float(trapz_auc(torch.ones(100, dtype=torch.float64), t)) == pytest.approx(1.0, abs=1e-15)


def test_mean_of_means_differs_from_global_mean_with_masks() -> None:
    err = np.array([[1.0, 10.0], [3.0, 0.0]])
    vis = np.array([[True, True], [True, False]])
    s = summarize_errors(err, vis, 0, 50, 100)
    assert s.mean == pytest.approx((2.0 + 10.0) / 2)  # not (1 + 10 + 3) / 3
    assert s.median == pytest.approx((2.0 + 10.0) / 2)


def test_keypoints_without_data_are_skipped_and_nan_propagates() -> None:
    err = np.array([[0.01, 0.02], [0.03, np.nan]])
    vis = np.array([[True, False], [True, False]])
    s = summarize_errors(err, vis)
    assert s.mean == pytest.approx(0.02)
    assert np.isnan(float(s.per_keypoint_mean[1]))
    s2 = summarize_errors(err)
    assert np.isnan(s2.mean) and np.isnan(s2.median)
    assert s2.pck[-1] == pytest.approx((1.0 + 0.5) / 2)  # NaN never <= t
    empty = summarize_errors(err, np.zeros_like(vis))
    assert np.isnan(empty.mean) and np.isnan(empty.auc)


def test_bad_shapes() -> None:
    with pytest.raises(InputError):
        summarize_errors(np.zeros(5))
    with pytest.raises(InputError):
        summarize_errors(np.zeros((2, 3)), np.ones((3, 2), dtype=bool))
