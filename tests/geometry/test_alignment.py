"""Similarity alignment: FreiHAND's align_w_scale (reflections allowed) and proper Umeyama."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from handzoo.errors import InputError
from handzoo.geometry.alignment import align_w_scale, similarity_transform, umeyama_align
from handzoo.geometry.rotations import axis_angle_to_matrix


def _freihand_reference(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """The official algorithm, re-expressed with numpy's SVD (independent of our torch code)."""
    mu1, mu2 = gt.mean(0), pred.mean(0)
    t1, t2 = gt - mu1, pred - mu2
    s1 = np.linalg.norm(t1) + 1e-8
    s2 = np.linalg.norm(t2) + 1e-8
    t1, t2 = t1 / s1, t2 / s2
    u, w, vt = np.linalg.svd(t1.T @ t2)  # scipy.linalg.orthogonal_procrustes(t1, t2)
    r = u @ vt
    return (t2 @ r.T) * w.sum() * s1 + mu1


def _pair(seed: int, b: int = 4, n: int = 21, noise: float = 0.005):
    g = torch.Generator().manual_seed(seed)
    gt = torch.randn(b, n, 3, generator=g, dtype=torch.float64) * 0.05
    r = axis_angle_to_matrix(torch.randn(b, 3, generator=g, dtype=torch.float64))
    s = torch.rand(b, 1, 1, generator=g, dtype=torch.float64) + 0.5
    t = torch.randn(b, 1, 3, generator=g, dtype=torch.float64)
    pred = s * (gt @ r.transpose(-1, -2)) + t + noise * torch.randn(b, n, 3, generator=g, dtype=torch.float64)
    return gt, pred


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 100_000))
def test_align_w_scale_matches_official_formula(seed):
    gt, pred = _pair(seed)
    ours = align_w_scale(gt, pred)
    for i in range(gt.shape[0]):
        ref = _freihand_reference(gt[i].numpy(), pred[i].numpy())
        assert np.allclose(ours[i].numpy(), ref, atol=1e-12)


def test_align_w_scale_matches_scipy_procrustes():
    linalg = pytest.importorskip("scipy.linalg")
    gt, pred = _pair(5, b=1)
    g, p = gt[0].numpy(), pred[0].numpy()
    t1 = (g - g.mean(0)) / (np.linalg.norm(g - g.mean(0)) + 1e-8)
    t2 = (p - p.mean(0)) / (np.linalg.norm(p - p.mean(0)) + 1e-8)
    r, s = linalg.orthogonal_procrustes(t1, t2)
    ref = (t2 @ r.T) * s * (np.linalg.norm(g - g.mean(0)) + 1e-8) + g.mean(0)
    assert np.allclose(align_w_scale(gt, pred)[0].numpy(), ref, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 100_000))
def test_mirrored_prediction_same_error_only_with_reflections(seed):
    gt, pred = _pair(seed, noise=0.001)
    mirrored = pred * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    err = (align_w_scale(gt, pred) - gt).norm(dim=-1).mean()
    err_m = (align_w_scale(gt, mirrored) - gt).norm(dim=-1).mean()
    assert torch.allclose(err, err_m, atol=1e-12)
    err_u = (umeyama_align(gt, mirrored) - gt).norm(dim=-1).mean()
    assert err_u > 5 * err


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 100_000))
def test_variants_agree_without_reflection_and_invert_similarity(seed):
    gt, pred = _pair(seed, noise=0.0)
    assert torch.allclose(umeyama_align(gt, pred), gt, atol=1e-10)
    assert torch.allclose(align_w_scale(gt, pred), gt, atol=1e-7)  # 1e-8 epsilon in the scale
    noisy_gt, noisy_pred = _pair(seed)
    assert torch.allclose(umeyama_align(noisy_gt, noisy_pred), align_w_scale(noisy_gt, noisy_pred), atol=1e-7)
    s, r, _ = similarity_transform(gt, pred)
    assert torch.allclose(torch.linalg.det(r), torch.ones_like(s))


def test_zero_prediction_gives_gt_mean():
    gt, _ = _pair(0)
    out = align_w_scale(gt, torch.zeros_like(gt))
    assert torch.allclose(out, gt.mean(1, keepdim=True).expand_as(gt))


def test_mask_ignores_outliers():
    gt, pred = _pair(3, noise=0.0)
    corrupted = pred.clone()
    corrupted[:, :3] += 10.0
    mask = torch.ones(gt.shape[:2], dtype=torch.bool)
    mask[:, :3] = False
    for fn, tol in ((umeyama_align, 1e-10), (align_w_scale, 1e-7)):
        out = fn(gt, corrupted, mask=mask)
        assert torch.allclose(out[:, 3:], gt[:, 3:], atol=tol)
        assert not torch.allclose(fn(gt, corrupted)[:, 3:], gt[:, 3:], atol=1e-3)


def test_float32_and_batch_dims():
    gt, pred = _pair(4)
    out = align_w_scale(gt.float()[None], pred.float()[None])
    assert out.shape == (1, 4, 21, 3) and out.dtype == torch.float32
    assert torch.allclose(out[0].double(), align_w_scale(gt, pred), atol=1e-5)


def test_bad_input():
    with pytest.raises(InputError):
        align_w_scale(torch.zeros(4, 3), torch.zeros(5, 3))
    with pytest.raises(InputError):
        umeyama_align(torch.zeros(4, 2), torch.zeros(4, 2))
    with pytest.raises(InputError):
        align_w_scale(torch.zeros(4, 3), torch.zeros(4, 3), mask=torch.ones(5))
