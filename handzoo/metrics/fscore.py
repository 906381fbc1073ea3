"""F-score between point sets at distance thresholds, as FreiHAND's and HO-3D's ``calculate_fscore``.

Definition (per sample, for each threshold ``th``):

* ``d_gt[i]`` = distance from GT point i to its nearest predicted point, ``d_pred[j]`` the reverse;
* the official code calls ``mean(d_pred < th)`` *recall* and ``mean(d_gt < th)`` *precision*
  (swapped with respect to the usual naming; F is symmetric so it does not matter);
* comparisons are **strict** ``<``; ``F = 2 * recall * precision / (recall + precision)``, 0 when
  both are 0 or a set is empty. Works for any point counts.

Speed without approximation, whatever the predictions look like: every pair of a sample is looked
at in float32 by one matrix product (both sets centred on the ground truth's centroid,
``[a, |a|^2, 1] . [-2b, 1, |b|^2] = |a - b|^2``), whose row and column minima are the nearest
squared distances both ways; the cost does not depend on how good the predictions are. A minimum
within the float32 error bound of a threshold (a relative ``~1e-6`` for hand-sized sets) is re-done
with the official float64 formula ``sqrt((dx^2 + dy^2) + dz^2)`` against every point of the other
set, so the decisions, hence the F-scores, are the official ones. Memory is linear in the number
of points (one product of at most ``2^20`` pairs at a time per thread). The kernel (numpy only, so
that scoring files never imports torch) is :mod:`handzoo.protocols._fscore`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from handzoo.errors import InputError
from handzoo.metrics._checks import as_points, check_finite
from handzoo.protocols._fscore import BLOCK as _BLOCK
from handzoo.protocols._fscore import EXACT_BLOCK as _EXACT_BLOCK
from handzoo.protocols._fscore import hit_masks

__all__ = ["FScoreResult", "fscore", "nearest_distances"]


@dataclass(frozen=True)
class FScoreResult:
    """Per-sample F-scores.

    Attributes:
        fscore: (N, T) F-score of each sample at each threshold.
        precision: (N, T) fraction of GT points with a predicted point closer than the threshold
            (the official code's ``precision``).
        recall: (N, T) fraction of predicted points with a GT point closer than the threshold
            (the official code's ``recall``).
        thresholds: (T,) thresholds.
    """

    fscore: torch.Tensor
    precision: torch.Tensor
    recall: torch.Tensor
    thresholds: torch.Tensor

    def mean(self) -> torch.Tensor:
        """(T,) mean F-score over samples, as the official scripts report."""
        return self.fscore.mean(0)


def _exact_sq(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., Na, Nb) squared distances summed as numpy does: ``(dx^2 + dy^2) + dz^2``."""
    d = a[..., :, None, :] - b[..., None, :, :]
    sq = d * d
    return (sq[..., 0] + sq[..., 1]) + sq[..., 2]


def nearest_distances(a: Any, b: Any, chunk_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact float64 nearest-neighbour distances both ways (brute force, chunked over samples).

    Args:
        a: (N, Na, 3) points.
        b: (N, Nb, 3) points.
        chunk_size: samples per block (default: as many as fit in about 100 MB).

    Returns:
        ``(d_ab (N, Na), d_ba (N, Nb))``: distance from each point of ``a`` to the closest point of
        ``b``, and the reverse.
    """
    ta, tb = as_points(a, "a", 3), as_points(b, "b", 3)
    if ta.shape[0] != tb.shape[0]:
        raise InputError(f"a and b must hold the same number of samples, got {ta.shape[0]} and {tb.shape[0]}")
    n, na, nb = ta.shape[0], ta.shape[1], tb.shape[1]
    step = chunk_size or max(1, _EXACT_BLOCK // max(1, na * nb))
    d_ab = torch.empty((n, na), dtype=torch.float64, device=ta.device)
    d_ba = torch.empty((n, nb), dtype=torch.float64, device=ta.device)
    for s in range(0, n, step):
        sq = _exact_sq(ta[s : s + step], tb[s : s + step])
        d_ab[s : s + step] = torch.sqrt(sq.amin(2)) if nb else float("inf")
        d_ba[s : s + step] = torch.sqrt(sq.amin(1)) if na else float("inf")
    return d_ab, d_ba


def _exact_hits(
    g: torch.Tensor, p: torch.Tensor, th: torch.Tensor, chunk_size: int, progress: Callable[[int], None] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference path: every distance in float64, official formula."""
    hit_g = torch.empty((g.shape[0], g.shape[1], th.numel()), dtype=torch.bool, device=g.device)
    hit_p = torch.empty((p.shape[0], p.shape[1], th.numel()), dtype=torch.bool, device=g.device)
    for s in range(0, g.shape[0], chunk_size):
        sq = _exact_sq(g[s : s + chunk_size], p[s : s + chunk_size])
        hit_g[s : s + chunk_size] = torch.sqrt(sq.amin(2))[..., None] < th
        hit_p[s : s + chunk_size] = torch.sqrt(sq.amin(1))[..., None] < th
        if progress is not None:
            progress(min(chunk_size, g.shape[0] - s))
    return hit_g, hit_p


def _fast_hits(
    g: torch.Tensor, p: torch.Tensor, th: torch.Tensor, chunk_size: int, progress: Callable[[int], None] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hit masks (N, Ng, T) and (N, Np, T): is the nearest distance < th (the official decision)."""
    hit_g, hit_p = hit_masks(g.cpu().numpy(), p.cpu().numpy(), th.cpu().numpy(), chunk_size, progress)
    return torch.from_numpy(hit_g).to(g.device), torch.from_numpy(hit_p).to(g.device)


def fscore(
    gt: Any,
    pred: Any,
    thresholds: Sequence[float] | torch.Tensor = (0.005, 0.015),
    chunk_size: int | None = None,
    exact: bool = False,
    progress: Callable[[int], None] | None = None,
    check: bool = True,
) -> FScoreResult:
    """F-scores of predicted point sets against GT point sets, exactly as the official scripts.

    Args:
        gt: (N, Ng, 3) ground-truth points (metres for the usual 5 mm / 15 mm thresholds).
        pred: (N, Np, 3) predicted points; ``Np`` may differ from ``Ng``.
        thresholds: distances, same unit as the points.
        chunk_size: samples per block (default 64 for the fast path, 4 for ``exact``); progress
            is reported after each block.
        exact: compute every distance by brute force in float64 (slow reference path; same
            results).
        progress: called with the number of samples finished after each block.
        check: verify that every coordinate is finite (callers that already did may skip it).

    Returns:
        An :class:`FScoreResult`.

    Raises:
        InputError: for mismatched sample counts, bad shapes or non-finite coordinates.
    """
    g, p = as_points(gt, "gt", 3), as_points(pred, "pred", 3)
    if g.shape[0] != p.shape[0]:
        raise InputError(f"gt and pred must hold the same number of samples, got {g.shape[0]} and {p.shape[0]}")
    if check:
        check_finite(g, "gt")
        check_finite(p, "pred")
    th = torch.as_tensor(thresholds, dtype=torch.float64, device=g.device).reshape(-1)
    n, ng, np_ = g.shape[0], g.shape[1], p.shape[1]
    t = th.numel()
    prec = torch.zeros((n, t), dtype=torch.float64, device=g.device)
    rec = torch.zeros((n, t), dtype=torch.float64, device=g.device)
    if n and ng and np_:
        hits = _exact_hits if exact else _fast_hits
        step = chunk_size or (4 if exact else _BLOCK)
        hit_g, hit_p = hits(g, p, th, max(1, step), progress)
        # float(count) / float(len): exact integer counts divided once, as the official code
        prec = hit_g.sum(1).double() / ng
        rec = hit_p.sum(1).double() / np_
    elif progress is not None:
        progress(n)
    denom = rec + prec
    f = torch.where(denom > 0, 2 * rec * prec / torch.where(denom > 0, denom, torch.ones_like(denom)), 0.0)
    return FScoreResult(f, prec, rec, th)
