"""Official alignments: FreiHAND align_w_scale / align_by_trafo, HandOccNet rigid_align, HO-3D align_sc_tr."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import orthogonal_procrustes

from handzoo.metrics import (
    align_by_trafo,
    align_scale_translation,
    align_w_scale,
    pa_mpjpe,
    point_errors,
    procrustes_trafo,
    rigid_align,
)


def _rot(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _ref_align_w_scale(g: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, tuple]:
    """FreiHAND's algorithm written here with scipy (one sample)."""
    t1, t2 = g.mean(0), p.mean(0)
    a, b = g - t1, p - t2
    s1 = np.linalg.norm(a) + 1e-8
    s2 = np.linalg.norm(b) + 1e-8
    a, b = a / s1, b / s2
    r, s = orthogonal_procrustes(a, b)
    return (b @ r.T) * s * s1 + t1, (r, s, s1, t1 - t2)


def _ref_rigid_align(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """HandOccNet's Umeyama (one sample): a = prediction, b = ground truth."""
    ca, cb = a.mean(0), b.mean(0)
    h = (a - ca).T @ (b - cb) / len(a)
    u, s, vt = np.linalg.svd(h)
    r = vt.T @ u.T
    if np.linalg.det(r) < 0:
        s[-1] = -s[-1]
        vt[2] = -vt[2]
        r = vt.T @ u.T
    c = s.sum() / np.var(a, axis=0).sum()
    t = cb - c * r @ ca
    return (c * r @ a.T).T + t


def _pairs(seed: int, n: int = 6, k: int = 21, noise: float = 0.004) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gt = rng.normal(scale=0.05, size=(n, k, 3)) + np.array([0, 0, 0.6])
    pred = np.stack([(g - g.mean(0)) @ _rot(rng).T * rng.uniform(0.7, 1.3) + rng.normal(size=3) for g in gt])
    return gt, pred + rng.normal(scale=noise, size=pred.shape)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([3, 21, 100]))
def test_align_w_scale_equals_reference(seed: int, k: int) -> None:
    gt, pred = _pairs(seed, k=k)
    ours = align_w_scale(torch.from_numpy(gt), torch.from_numpy(pred)).numpy()
    ref = np.stack([_ref_align_w_scale(g, p)[0] for g, p in zip(gt, pred)])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-13)


def test_trafo_and_align_by_trafo_equal_reference() -> None:
    gt, pred = _pairs(1)
    rng = np.random.default_rng(2)
    verts = pred[:, :1] + rng.normal(scale=0.03, size=(len(pred), 50, 3))
    tr = procrustes_trafo(torch.from_numpy(gt), torch.from_numpy(pred))
    ours = align_by_trafo(torch.from_numpy(verts), tr).numpy()
    for i in range(len(gt)):
        r, s, s1, t = _ref_align_w_scale(gt[i], pred[i])[1]
        np.testing.assert_allclose(tr.rotation[i].numpy(), r, atol=1e-12)
        np.testing.assert_allclose(float(tr.scale[i]), s, rtol=1e-12)
        np.testing.assert_allclose(float(tr.gt_norm[i]), s1, rtol=1e-14)
        np.testing.assert_allclose(tr.offset[i].numpy(), t, atol=1e-15)
        t2 = verts[i].mean(0)
        ref = (verts[i] - t2) @ r.T * s * s1 + t + t2  # FreiHAND's align_by_trafo (no 1/s2)
        np.testing.assert_allclose(ours[i], ref, atol=1e-13)


def test_mirrored_prediction_aligns_like_the_original() -> None:
    gt, pred = _pairs(3)
    mirrored = pred * np.array([-1.0, 1.0, 1.0])
    a = float(pa_mpjpe(pred, gt))
    b = float(pa_mpjpe(mirrored, gt))
    assert a == pytest.approx(b, rel=1e-10)
    # without reflections (HandOccNet) the mirrored prediction is much worse
    assert float(pa_mpjpe(mirrored, gt, reflection=False)) > 3 * a


@pytest.mark.parametrize("value", [0.0, 0.3])
def test_constant_prediction_lands_on_gt_centroid(value: float) -> None:
    gt, _ = _pairs(4)
    pred = np.full_like(gt, value)
    centroid = gt.mean(1, keepdims=True)
    for fn in (lambda g, p: align_w_scale(g, p), lambda g, p: rigid_align(p, g)):
        out = fn(torch.from_numpy(gt), torch.from_numpy(pred)).numpy()
        np.testing.assert_allclose(out, np.broadcast_to(centroid, gt.shape), atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000))
def test_rigid_align_equals_reference_and_never_reflects(seed: int) -> None:
    gt, pred = _pairs(seed)
    if seed % 2:
        pred = pred * np.array([-1.0, 1.0, 1.0])
    ours = rigid_align(torch.from_numpy(pred), torch.from_numpy(gt)).numpy()
    ref = np.stack([_ref_rigid_align(p, g) for g, p in zip(gt, pred)])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.2, 5.0))
def test_pa_error_is_invariant_to_similarity_of_the_prediction(seed: int, scale: float) -> None:
    gt, pred = _pairs(seed)
    rng = np.random.default_rng(seed + 1)
    r = _rot(rng)
    moved = pred @ r.T * scale + rng.normal(size=3)
    for reflection in (True, False):
        assert float(pa_mpjpe(moved, gt, reflection=reflection)) == pytest.approx(
            float(pa_mpjpe(pred, gt, reflection=reflection)), rel=1e-7, abs=1e-12
        )


def test_scale_translation_alignment_by_hand() -> None:
    gt = np.zeros((1, 21, 3))
    gt[0, :, 0] = np.arange(21) * 0.01  # bone 0->4 has length 0.04
    gt[0] += [0.1, 0.2, 0.5]
    pred = np.zeros((1, 21, 3))
    pred[0, :, 1] = np.arange(21) * 0.02  # bone 0->4 has length 0.08, along y
    out = align_scale_translation(torch.from_numpy(gt), torch.from_numpy(pred)).numpy()[0]
    expect = np.zeros((21, 3))
    expect[:, 1] = np.arange(21) * 0.01  # scaled by 0.04 / 0.08, no rotation
    expect += gt[0, 0]
    np.testing.assert_allclose(out, expect, atol=1e-15)
    # zero-length bone: scale step skipped, prediction multiplied by the GT bone length (official)
    zero = align_scale_translation(torch.from_numpy(gt), torch.zeros(1, 21, 3, dtype=torch.float64))
    np.testing.assert_allclose(zero.numpy()[0], np.broadcast_to(gt[0, 0], (21, 3)))


def test_point_errors_sum_order_and_value() -> None:
    p = torch.tensor([[[3.0, 4.0, 12.0]]], dtype=torch.float64)
    assert float(point_errors(p, torch.zeros_like(p))) == 13.0
