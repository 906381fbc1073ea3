"""PCK curves, AUC and per-keypoint error statistics, as FreiHAND's ``EvalUtil`` computes them.

``EvalUtil.get_measures(val_min, val_max, steps)`` (also used by HO-3D and the DexYCB toolkit):

* errors are collected per keypoint index over samples (only visible ones);
* keypoints without any visible sample are skipped everywhere;
* ``mean`` = mean over keypoints of the per-keypoint mean error (not the global mean when
  visibility differs between keypoints); ``median`` = mean over keypoints of per-keypoint medians;
* ``PCK_k(t)`` = fraction of the keypoint's errors ``<= t`` (inclusive) at
  ``t in numpy.linspace(val_min, val_max, steps)``;
* ``AUC_k = trapz(PCK_k, t) / trapz(1, t)``; ``auc`` = mean over keypoints; the reported curve is
  the mean of the per-keypoint curves.

This module computes the same numbers for all keypoints at once: each error is placed between two
thresholds by a binary search and the counts are accumulated, so no (samples x keypoints x
thresholds) array is built; medians (optional) sort each keypoint's errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from handzoo.errors import InputError
from handzoo.metrics._checks import as_float64, as_mask

__all__ = ["KeypointErrorSummary", "pck_thresholds", "summarize_errors", "trapz_auc", "pck_curve"]


@dataclass(frozen=True)
class KeypointErrorSummary:
    """What ``EvalUtil.get_measures`` returns, plus the per-keypoint pieces.

    Attributes:
        mean: mean over keypoints of the per-keypoint mean error.
        median: mean over keypoints of the per-keypoint median error.
        auc: mean over keypoints of the normalised area under the PCK curve, in [0, 1].
        pck: (T,) mean over keypoints of the per-keypoint PCK curves.
        thresholds: (T,) thresholds, in the unit of the errors.
        per_keypoint_mean: (K,) NaN where a keypoint has no visible sample.
        per_keypoint_median: (K,) likewise.
        per_keypoint_auc: (K,) likewise.
        counts: (K,) number of visible samples per keypoint.
    """

    mean: float
    median: float
    auc: float
    pck: torch.Tensor
    thresholds: torch.Tensor
    per_keypoint_mean: torch.Tensor
    per_keypoint_median: torch.Tensor
    per_keypoint_auc: torch.Tensor
    counts: torch.Tensor


def pck_thresholds(val_min: float = 0.0, val_max: float = 0.05, steps: int = 100) -> torch.Tensor:
    """``numpy.linspace(val_min, val_max, steps)`` as float64 (bit-identical to the official thresholds)."""
    return torch.from_numpy(np.linspace(val_min, val_max, steps).astype(np.float64))


def trapz_auc(curves: torch.Tensor, thresholds: torch.Tensor) -> torch.Tensor:
    """``numpy.trapz(curve, t) / numpy.trapz(ones, t)`` along the last axis.

    Args:
        curves: (..., T) PCK values.
        thresholds: (T,) increasing thresholds.

    Returns:
        (...,) normalised areas.
    """
    d = thresholds[1:] - thresholds[:-1]
    area = ((d * (curves[..., 1:] + curves[..., :-1])) / 2.0).sum(-1)
    norm = ((d * 2.0) / 2.0).sum()
    return area / norm


def pck_curve(errors: Any, thresholds: Any, valid: Any = None) -> torch.Tensor:
    """Per-keypoint PCK: fraction of visible errors ``<= t``.

    Args:
        errors: (N, K) errors of N samples and K keypoints.
        thresholds: (T,) thresholds in the errors' unit.
        valid: optional (N, K) visibility.

    Returns:
        (K, T) float64; NaN rows for keypoints without a visible sample.
    """
    e = as_float64(errors, "errors")
    if e.dim() != 2:
        raise InputError(f"errors must have shape (N, K), got {tuple(e.shape)}")
    v = as_mask(valid, tuple(e.shape), "valid", e.device)
    t = as_float64(thresholds, "thresholds").to(e.device)
    return _pck(e.T.contiguous(), v.T.contiguous(), t)[0]


def _pck(e: torch.Tensor, v: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(K, N) errors and mask -> (pck (K, T), counts (K,)), without sorting.

    Each visible error falls in bucket ``b`` = number of thresholds below it (``t[b-1] < e <=
    t[b]``); the count of errors ``<= t[k]`` is the number in buckets ``0..k``. NaN errors are never
    ``<= t`` (numpy), so they go to the overflow bucket with the invisible ones.
    """
    k, nt = e.shape[0], t.numel()
    counts = v.sum(1)
    bucket = torch.bucketize(e, t, right=False)  # (K, N) in [0, T]
    bucket = torch.where(v & ~torch.isnan(e), bucket, torch.full_like(bucket, nt))
    flat = bucket + (nt + 1) * torch.arange(k, device=e.device)[:, None]
    hist = torch.bincount(flat.reshape(-1), minlength=k * (nt + 1)).reshape(k, nt + 1)
    hits = hist[:, :nt].cumsum(1)
    pck = hits.to(e.dtype) / counts.to(e.dtype)[:, None]
    return pck, counts


def summarize_errors(
    errors: Any,
    valid: Any = None,
    val_min: float = 0.0,
    val_max: float = 0.05,
    steps: int = 100,
    median: bool = True,
) -> KeypointErrorSummary:
    """``EvalUtil.get_measures(val_min, val_max, steps)`` for all keypoints at once.

    Args:
        errors: (N, K) per-sample, per-keypoint errors (any unit; thresholds share it).
        valid: optional (N, K) visibility (EvalUtil's ``keypoint_vis``); all visible when None.
        val_min: first threshold.
        val_max: last threshold.
        steps: number of thresholds.
        median: compute the medians (a sort per keypoint; the official scripts discard them).

    Returns:
        A :class:`KeypointErrorSummary` (NaN measures when no keypoint has data).
    """
    e = as_float64(errors, "errors")
    if e.dim() != 2:
        raise InputError(f"errors must have shape (N, K), got {tuple(e.shape)}")
    v = as_mask(valid, tuple(e.shape), "valid", e.device)
    t = pck_thresholds(val_min, val_max, steps).to(e.device)
    et, vt = e.T.contiguous(), v.T.contiguous()
    pck, counts = _pck(et, vt, t)
    has = counts > 0
    nan = torch.full((et.shape[0],), float("nan"), dtype=e.dtype, device=e.device)
    n = counts.to(e.dtype).clamp_min(1)

    total = torch.where(vt, et, torch.zeros_like(et)).sum(1)
    kp_mean = torch.where(has, total / n, nan)

    if median:
        any_nan = (vt & torch.isnan(et)).any(1)
        ordered = torch.sort(torch.where(vt & ~torch.isnan(et), et, torch.full_like(et, float("inf"))), 1).values
        idx_hi = (counts // 2).clamp_max(et.shape[1] - 1)[:, None]
        idx_lo = ((counts - 1) // 2).clamp_min(0)[:, None]
        hi = ordered.gather(1, idx_hi)[:, 0]
        lo = ordered.gather(1, idx_lo)[:, 0]
        med = torch.where(counts % 2 == 1, hi, (lo + hi) / 2.0)
        kp_median = torch.where(has & ~any_nan, med, nan)
    else:
        kp_median = nan

    kp_auc = torch.where(has, trapz_auc(pck, t), nan)

    if bool(has.any()):
        mean = float(kp_mean[has].mean())
        median = float(kp_median[has].mean())
        auc = float(kp_auc[has].mean())
        curve = pck[has].mean(0)
    else:
        mean = median = auc = float("nan")
        curve = torch.full_like(t, float("nan"))
    return KeypointErrorSummary(mean, median, auc, curve, t, kp_mean, kp_median, kp_auc, counts)
