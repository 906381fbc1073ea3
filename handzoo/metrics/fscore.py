"""F-score between point sets at distance thresholds, as FreiHAND's and HO-3D's ``calculate_fscore``.

Definition (per sample, for each threshold ``th``):

* ``d_gt[i]`` = distance from GT point i to its nearest predicted point, ``d_pred[j]`` the reverse;
* the official code calls ``mean(d_pred < th)`` *recall* and ``mean(d_gt < th)`` *precision*
  (swapped with respect to the usual naming; F is symmetric so it does not matter);
* comparisons are **strict** ``<``; ``F = 2 * recall * precision / (recall + precision)``, 0 when
  both are 0 or a set is empty. Works for any point counts.

Speed without approximation: the nearest squared distances are first computed for a few samples
at a time with one float32 batched matrix product (``|x|^2 + |y|^2 - 2 x.y`` on coordinates
centred per sample), which costs a fraction of a brute-force float64 pass. A rigorous bound on
the float32 rounding error tells which points are certainly inside or outside every threshold;
the few points whose nearest distance falls within that bound of a threshold are re-done
exactly in float64 with the official formula ``sqrt((dx^2 + dy^2) + dz^2)`` on the original
coordinates. The decisions, hence the F-scores, are the official ones. Distance blocks take
``chunk_size * N_gt * N_pred`` float32s; everything else is linear in the number of points.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from handzoo.errors import InputError
from handzoo.metrics._checks import as_points, check_finite

__all__ = ["FScoreResult", "fscore", "nearest_distances"]

# Bound on |float32 squared distance - exact| in units of u32 * (|x| + |y|)^2 (x, y centred):
# the length-5 dot product contributes gamma_5 ~ 5 u, the two float32 norms 3 u, the rounding of
# the coordinates to float32 a term in u * d * (|x| + |y|) that is far smaller; 16 u leaves a
# margin of almost 2.
_F32_ERROR_FACTOR = 16.0 * 2.0**-24
_EXACT_BLOCK = 1 << 20  # point pairs per exact float64 block (about 25 MB per temporary)


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
    n, ng, np_ = g.shape[0], g.shape[1], p.shape[1]
    centre = g.mean(dim=1, keepdim=True)
    g32, p32 = (g - centre).float(), (p - centre).float()
    sg, sp = (g32 * g32).sum(-1, keepdim=True), (p32 * p32).sum(-1, keepdim=True)
    # |x|^2 + |y|^2 - 2 x.y as one product of augmented vectors [x, |x|^2, 1] . [-2y, 1, |y|^2]
    ga = torch.cat([g32, sg, torch.ones_like(sg)], -1)
    pa = torch.cat([-2.0 * p32, torch.ones_like(sp), sp], -1).transpose(1, 2).contiguous()
    # distances to the centre, only for the error bound (inflated to cover their float32 rounding)
    rg, rp = (torch.sqrt(sg[..., 0]) * (1 + 1e-5)).double(), (torch.sqrt(sp[..., 0]) * (1 + 1e-5)).double()
    del g32, p32, sg, sp
    mg = torch.empty((n, ng), dtype=torch.float32, device=g.device)
    mp = torch.empty((n, np_), dtype=torch.float32, device=g.device)
    buf = torch.empty((min(chunk_size, n), ng, np_), dtype=torch.float32, device=g.device)
    for s in range(0, n, chunk_size):
        e = min(s + chunk_size, n)
        d2 = buf[: e - s]
        torch.bmm(ga[s:e], pa[s:e], out=d2)
        torch.amin(d2, 2, out=mg[s:e])
        torch.amin(d2, 1, out=mp[s:e])
        if progress is not None:
            progress(e - s)
    del buf, ga, pa
    # Per query point: every entry of its row errs by at most F (|x| + max|y|)^2 (float32), plus a
    # float64 guard for the centring and the official script's own rounding.
    far = (centre.abs().amax(dim=(1, 2)) + torch.maximum(rg.amax(1), rp.amax(1)))[:, None]  # (N, 1)
    guard = 2.0**-40 * far**2
    th2 = (th * th)[None, None, :]
    out = []
    for m, q, t, rq, rt in ((mg, g, p, rg, rp), (mp, p, g, rp, rg)):
        tol = (_F32_ERROR_FACTOR * (rq + rt.amax(1, keepdim=True)) ** 2 + guard)[..., None]  # (N, Nq, 1)
        m64 = m.double()[..., None]
        hits = m64 < th2 - tol
        amb = ((m64 - th2).abs() <= tol).any(-1)
        if bool(amb.any()):
            _resolve(q, t, amb, th, hits)
        out.append(hits)
    return out[0], out[1]


def _resolve(q: torch.Tensor, t: torch.Tensor, amb: torch.Tensor, th: torch.Tensor, hits: torch.Tensor) -> None:
    """Recompute the nearest distance of the ambiguous query points exactly and fix ``hits`` in place."""
    bi, qi = amb.nonzero(as_tuple=True)
    per = max(1, _EXACT_BLOCK // max(1, t.shape[1]))
    for s in range(0, bi.numel(), per):
        b, i = bi[s : s + per], qi[s : s + per]
        sq = _exact_sq(q[b, i][:, None, :], t[b])[:, 0, :]  # (M, Nt)
        d = torch.sqrt(sq.amin(1))
        hits[b, i] = d[:, None] < th


def fscore(
    gt: Any,
    pred: Any,
    thresholds: Sequence[float] | torch.Tensor = (0.005, 0.015),
    chunk_size: int = 4,
    exact: bool = False,
    progress: Callable[[int], None] | None = None,
    check: bool = True,
) -> FScoreResult:
    """F-scores of predicted point sets against GT point sets, exactly as the official scripts.

    Args:
        gt: (N, Ng, 3) ground-truth points (metres for the usual 5 mm / 15 mm thresholds).
        pred: (N, Np, 3) predicted points; ``Np`` may differ from ``Ng``.
        thresholds: distances, same unit as the points.
        chunk_size: samples per batched distance block (memory ~ ``chunk_size * Ng * Np * 4`` B).
        exact: compute every distance in float64 (slow reference path; same results).
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
        hit_g, hit_p = hits(g, p, th, max(1, chunk_size), progress)
        # float(count) / float(len): exact integer counts divided once, as the official code
        prec = hit_g.sum(1).double() / ng
        rec = hit_p.sum(1).double() / np_
    elif progress is not None:
        progress(n)
    denom = rec + prec
    f = torch.where(denom > 0, 2 * rec * prec / torch.where(denom > 0, denom, torch.ones_like(denom)), 0.0)
    return FScoreResult(f, prec, rec, th)
