"""Properties of the official alignments beyond the reference comparisons (inverse, agreement, dtypes)."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from handzoo.geometry.rotations import axis_angle_to_matrix
from handzoo.metrics.procrustes import align_w_scale, rigid_align


def _pair(seed: int, b: int = 4, n: int = 21, noise: float = 0.005) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    gt = torch.randn(b, n, 3, generator=g, dtype=torch.float64) * 0.05
    r = axis_angle_to_matrix(torch.randn(b, 3, generator=g, dtype=torch.float64))
    s = torch.rand(b, 1, 1, generator=g, dtype=torch.float64) + 0.5
    t = torch.randn(b, 1, 3, generator=g, dtype=torch.float64)
    pred = s * (gt @ r.transpose(-1, -2)) + t + noise * torch.randn(b, n, 3, generator=g, dtype=torch.float64)
    return gt, pred


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 100_000))
def test_both_undo_a_similarity_and_agree_without_reflection(seed: int) -> None:
    gt, pred = _pair(seed, noise=0.0)
    assert torch.allclose(rigid_align(pred, gt), gt, atol=1e-10)
    assert torch.allclose(align_w_scale(gt, pred), gt, atol=1e-7)  # 1e-8 epsilon in the scale
    noisy_gt, noisy_pred = _pair(seed)
    assert torch.allclose(rigid_align(noisy_pred, noisy_gt), align_w_scale(noisy_gt, noisy_pred), atol=1e-7)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 100_000))
def test_mirrored_prediction_aligns_only_with_reflections(seed: int) -> None:
    gt, pred = _pair(seed, noise=0.001)
    mirrored = pred * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    err = (align_w_scale(gt, pred) - gt).norm(dim=-1).mean()
    assert torch.allclose(err, (align_w_scale(gt, mirrored) - gt).norm(dim=-1).mean(), atol=1e-12)
    assert (rigid_align(mirrored, gt) - gt).norm(dim=-1).mean() > 5 * err


def test_float32_and_batch_dims() -> None:
    gt, pred = _pair(4)
    out = align_w_scale(gt.float()[None], pred.float()[None])
    assert out.shape == (1, 4, 21, 3) and out.dtype == torch.float32
    assert torch.allclose(out[0].double(), align_w_scale(gt, pred), atol=1e-5)
