"""What the report's pictures need from a scored cell, kept small whatever the dataset's size.

For every cell the harness keeps, in ``CellResult.info``:

* ``per_joint``: the PA-MPJPE of each ``handzoo21`` joint (mm, mean over the hands where that joint
  is annotated), the per-joint and per-finger error bars of the report;
* ``samples``: a few hands picked by their own PA-MPJPE (the best, the ones around the median and
  the worst) with their sample id, hand index, error and both skeletons (metres, camera frame), the
  report's sample grid (it re-reads their images from the dataset when it is written).

The alignment is FreiHAND's (:func:`handzoo.metrics.procrustes.align_w_scale`, over all 21 joints
of a hand), computed in chunks, so a dataset of any size needs only a chunk's temporaries; the
per-hand errors themselves are one float per hand and are not stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["PICK_RANKS", "per_hand_errors", "pick_rows", "sample_info"]

PICK_RANKS = ("best", "median", "worst")
_CHUNK = 8192  # hands aligned at once (a few MB of float64 temporaries)
_DIGITS = 5  # metres rounded to 0.01 mm in the stored skeletons


def _error_chunks(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None) -> Iterator[tuple[int, np.ndarray]]:
    """``(first row, (c, 21) aligned joint errors in mm)`` per chunk of hands; NaN where a joint is
    not annotated or the hand holds a non-finite number."""
    import torch

    from handzoo.metrics.procrustes import align_w_scale

    for lo in range(0, len(gt), _CHUNK):
        g = np.asarray(gt[lo : lo + _CHUNK], dtype=np.float64)
        p = np.asarray(pred[lo : lo + _CHUNK], dtype=np.float64)
        errs = np.full(g.shape[:2], np.nan)
        ok = np.isfinite(g).all(axis=(1, 2)) & np.isfinite(p).all(axis=(1, 2))  # a NaN hand stays NaN
        if ok.any():
            gt_t, pred_t = torch.as_tensor(g[ok]), torch.as_tensor(p[ok])
            aligned = align_w_scale(gt_t, pred_t)
            errs[ok] = torch.linalg.vector_norm(aligned - gt_t, dim=-1).numpy() * 1000.0
        errs[~np.isfinite(errs)] = np.nan
        if valid is not None:
            errs[~np.asarray(valid[lo : lo + _CHUNK], dtype=bool)] = np.nan
        yield lo, errs


def _hand_means(errs: np.ndarray) -> np.ndarray:
    counts = np.sum(np.isfinite(errs), axis=1)
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, np.nansum(errs, axis=1) / np.maximum(counts, 1), np.nan)


def per_hand_errors(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Procrustes-aligned joint errors of every hand (all of them in memory: for a few hands; the
    harness uses :func:`sample_info`, which keeps one float per hand).

    Args:
        gt: (M, 21, 3) ground-truth joints, metres.
        pred: (M, 21, 3) predicted joints, metres.
        valid: (M, 21) bool, annotated joints (None: all).

    Returns:
        ``(per_hand, per_joint)``: (M,) mean aligned error of each hand over its valid joints (mm,
        NaN for a hand without a valid joint) and (M, 21) aligned error of each joint (mm, NaN
        where not annotated).
    """
    errs = np.full(np.shape(gt)[:2], np.nan)
    for lo, chunk in _error_chunks(gt, pred, valid):
        errs[lo : lo + len(chunk)] = chunk
    return _hand_means(errs), errs


def pick_rows(per_hand: np.ndarray, per_rank: int = 3) -> list[tuple[str, int]]:
    """Rows to show: ``per_rank`` best, around the median and worst (each row once, NaN rows never).

    Returns:
        ``(rank, row)`` pairs, best first, worst last.
    """
    finite = np.flatnonzero(np.isfinite(per_hand))
    if finite.size == 0 or per_rank < 1:
        return []
    order = finite[np.argsort(per_hand[finite], kind="stable")]
    n = len(order)
    mid = max(0, n // 2 - per_rank // 2)
    spans = {"best": order[:per_rank], "median": order[mid : mid + per_rank], "worst": order[::-1][:per_rank][::-1]}
    picked: list[tuple[str, int]] = []
    seen: set[int] = set()
    for rank in PICK_RANKS:
        for row in spans[rank]:
            if int(row) not in seen:
                seen.add(int(row))
                picked.append((rank, int(row)))
    return picked


def _round(a: np.ndarray) -> list[list[float]]:
    return [[round(float(v), _DIGITS) for v in p] for p in np.asarray(a, dtype=np.float64)]


def sample_info(gt: Any, pred: Any, per_rank: int = 3) -> dict[str, Any]:
    """The ``per_joint`` and ``samples`` entries of a cell's ``info`` (see the module docstring).

    Args:
        gt: the cell's :class:`~handzoo.bench.records.GroundTruth` rows.
        pred: its :class:`~handzoo.bench.records.Predictions`, aligned row by row.
        per_rank: hands picked per rank (best, median, worst).
    """
    if gt.num_hands == 0:
        return {"per_joint": None, "samples": []}
    per_hand = np.full(gt.num_hands, np.nan)
    sums, counts = np.zeros(21), np.zeros(21, dtype=np.int64)
    for lo, errs in _error_chunks(gt.joints3d, pred.joints3d, gt.joints_valid):
        per_hand[lo : lo + len(errs)] = _hand_means(errs)
        sums += np.nansum(errs, axis=0)
        counts += np.sum(np.isfinite(errs), axis=0)
    means = sums / np.maximum(counts, 1)
    values = [round(float(v), 4) if c > 0 else None for v, c in zip(means, counts)]
    found = pred.found if pred.found is not None else np.ones(gt.num_hands, dtype=bool)
    samples = [
        {
            "rank": rank,
            "sample_index": int(gt.sample_index[row]),
            "hand_index": int(gt.hand_index[row]),
            "side": int(gt.side[row]),
            "pa_mpjpe": round(float(per_hand[row]), 4),
            "found": bool(found[row]),
            "gt_joints3d": _round(gt.joints3d[row]),
            "pred_joints3d": _round(pred.joints3d[row]),
        }
        for rank, row in pick_rows(per_hand, per_rank)
    ]
    return {
        "per_joint": {"metric": "PA-MPJPE", "unit": "mm", "joint_order": "handzoo21", "values": values},
        "samples": samples,
    }
