"""numpy/scipy kernel of the exact F-score decisions (no torch), shared with :mod:`handzoo.metrics.fscore`.

The decision for a query point ``q`` and threshold ``th`` is the official one: is the smallest
``sqrt((dx^2 + dy^2) + dz^2)`` to the other set strictly below ``th``. The nearest neighbours of
a block of samples are found with one :class:`scipy.spatial.cKDTree` over all its points, each
point lifted to 4-D with its sample index times a spacing larger than any distance inside a
sample (so a point only ever meets points of its own sample, and the fourth coordinate adds an
exact 0 to every in-sample squared distance). Queries stop at the largest threshold
(``distance_upper_bound``). The tree's distance equals the official formula up to the summation
order (a relative ``1e-15``); a point whose tree distance lies within a relative ``1e-12`` of a
threshold is re-done with the official formula on the original coordinates.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = ["hit_masks", "hit_masks_many", "fscores", "fscores_many"]

REL_TOL = 1e-12  # tree distance vs the official formula: they differ by a few ulps at most
ABS_TOL = 1e-140  # below this, squares lose precision (underflow): decide exactly
MAX_COORD = 1e100  # beyond this the 4-D lift could overflow: use the exact path
BLOCK = 256  # samples per tree (memory ~ 200 B per point)
EXACT_BLOCK = 1 << 20  # point pairs per exact float64 block (about 25 MB per temporary)


def workers() -> int:
    """Threads for the tree queries: ``OMP_NUM_THREADS`` when set, else every CPU."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        return os.cpu_count() or 1


def _lift(x: np.ndarray, spacing: float) -> np.ndarray:
    """(B, P, 3) -> (B * P, 4): sample ``b``'s points get ``b * spacing`` as fourth coordinate."""
    out = np.empty((x.shape[0], x.shape[1], 4), dtype=np.float64)
    out[..., :3] = x
    out[..., 3] = (np.arange(x.shape[0], dtype=np.float64) * spacing)[:, None]
    return out.reshape(-1, 4)


def exact_sq(q: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(M, Nt) squared distances of points ``q`` (M, 3) to ``t`` (M, Nt, 3), official summation order."""
    d = t - q[:, None, :]
    sq = d * d
    return (sq[..., 0] + sq[..., 1]) + sq[..., 2]


def _tree(points: np.ndarray) -> Any:
    from scipy.spatial import cKDTree

    return cKDTree(points, leafsize=32, balanced_tree=False, compact_nodes=False, copy_data=False)


def _decide(d: np.ndarray, q: np.ndarray, t: np.ndarray, th: np.ndarray) -> np.ndarray:
    """(B, Nq, T) decisions from tree distances ``d`` (B, Nq), re-done exactly near a threshold."""
    d = d[..., None]
    tol = th * REL_TOL + ABS_TOL
    hits = d < th - tol
    amb = (np.abs(d - th) <= tol).any(-1)  # inf (nothing within ub) is never ambiguous
    if amb.any():
        bi, qi = np.nonzero(amb)
        per = max(1, EXACT_BLOCK // max(1, t.shape[1]))
        for s in range(0, bi.size, per):
            b, i = bi[s : s + per], qi[s : s + per]
            exact = np.sqrt(exact_sq(q[b, i], t[b]).min(1))
            hits[b, i] = exact[:, None] < th
    return hits


def _query(tree: Any, q: np.ndarray, spacing: float, ub: float, n_workers: int) -> tuple[np.ndarray, np.ndarray]:
    """Tree distances (B, Nq) of ``q``'s points to their nearest neighbours, and those neighbours' indices."""
    d, i = tree.query(_lift(q, spacing), k=1, distance_upper_bound=ub, workers=n_workers)
    return d.reshape(q.shape[0], q.shape[1]), i


def _block_hits(g: np.ndarray, preds: list[np.ndarray], th: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Both directions for one block of samples and several predictions; one tree over ``g`` for all."""
    ub = float(th.max()) * (1.0 + 4 * REL_TOL) + 2 * ABS_TOL
    extent = max(float(np.abs(x).max()) for x in [g, *preds])
    spacing = 4.0 * extent + 4.0 * ub + 1.0
    g_tree = _tree(_lift(g, spacing))
    th_min = float(th.min())
    sure_below = th_min - (th_min * REL_TOL + ABS_TOL)
    out = []
    for p in preds:
        # Points closer than the smallest threshold to the other set's point of the same index
        # (official formula, strict <) are hits at every threshold in both directions: no query.
        same = exact_sq(g.reshape(-1, 3), p.reshape(-1, 1, 3))[:, 0] if p.shape == g.shape else None
        known_g = np.zeros(g.shape[0] * g.shape[1], dtype=bool)
        if same is not None:
            known_g = np.sqrt(same) < th_min
        known_p = known_g.copy() if same is not None else np.zeros(p.shape[0] * p.shape[1], dtype=bool)
        d_g = np.zeros(known_g.size)
        todo = np.flatnonzero(~known_g)
        if todo.size:
            d, nearest = _tree(_lift(p, spacing)).query(
                _lift(g, spacing)[todo], k=1, distance_upper_bound=ub, workers=1
            )
            d_g[todo] = d
            # a predicted point that is the nearest neighbour of a GT point clearly closer than the
            # smallest threshold has that GT point within every threshold (the distance is symmetric)
            known_p[nearest[d < sure_below]] = True
        hit_g = _decide(d_g.reshape(g.shape[0], g.shape[1]), g, p, th)
        d_p = np.zeros(known_p.size)
        todo = np.flatnonzero(~known_p)
        if todo.size:
            d_p[todo] = g_tree.query(_lift(p, spacing)[todo], k=1, distance_upper_bound=ub, workers=1)[0]
        hit_p = _decide(d_p.reshape(p.shape[0], p.shape[1]), p, g, th)
        out.append((hit_g, hit_p))
    return out


def _exact_block(q: np.ndarray, t: np.ndarray, th: np.ndarray) -> np.ndarray:
    """(B, Nq, T) decisions by brute force (every pair, official formula)."""
    out = np.empty((q.shape[0], q.shape[1], th.size), dtype=bool)
    for b in range(q.shape[0]):
        for s in range(0, q.shape[1], max(1, EXACT_BLOCK // max(1, t.shape[1]))):
            qq = q[b, s : s + max(1, EXACT_BLOCK // max(1, t.shape[1]))]
            sq = exact_sq(qq, np.broadcast_to(t[b], (qq.shape[0],) + t.shape[1:]))
            out[b, s : s + qq.shape[0]] = np.sqrt(sq.min(1))[:, None] < th
    return out


def hit_masks(
    g: np.ndarray,
    p: np.ndarray,
    th: np.ndarray,
    block: int = BLOCK,
    progress: Callable[[int], None] | None = None,
    exact: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Hit masks (N, Ng, T) and (N, Np, T): is the nearest distance < th (the official decision).

    Args:
        g: (N, Ng, 3) float64 ground truth, Ng >= 1.
        p: (N, Np, 3) float64 predictions, Np >= 1.
        th: (T,) thresholds.
        block: samples per tree.
        progress: called with the number of samples finished after each block.
        exact: brute force for every pair (reference path; same decisions).
    """
    return hit_masks_many(g, [p], th, block, progress, exact)[0]


def hit_masks_many(
    g: np.ndarray,
    preds: list[np.ndarray],
    th: np.ndarray,
    block: int = BLOCK,
    progress: Callable[[int], None] | None = None,
    exact: bool = False,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`hit_masks` of several predictions against one ground truth (its trees built once).

    Blocks of samples run on ``OMP_NUM_THREADS`` threads (tree building and queries release the
    GIL); ``progress`` gets ``len(preds)`` x the samples of each finished block.
    """
    n = g.shape[0]
    big = n and max(float(np.abs(x).max()) for x in [g, *preds]) > MAX_COORD
    out = [
        (np.empty((n, g.shape[1], th.size), dtype=bool), np.empty((n, p.shape[1], th.size), dtype=bool)) for p in preds
    ]

    def run(s: int) -> int:
        e = min(s + block, n)
        if exact or big:
            res = [(_exact_block(g[s:e], p[s:e], th), _exact_block(p[s:e], g[s:e], th)) for p in preds]
        else:
            res = _block_hits(g[s:e], [p[s:e] for p in preds], th)
        for (hg, hp), (rg, rp) in zip(out, res):
            hg[s:e], hp[s:e] = rg, rp
        return e - s

    starts = range(0, n, block)
    nw = min(workers(), len(starts))
    if nw <= 1:
        done = map(run, starts)
        for k in done:
            if progress is not None:
                progress(k * len(preds))
        return out
    with ThreadPoolExecutor(nw) as pool:
        for k in pool.map(run, starts):
            if progress is not None:
                progress(k * len(preds))
    return out


def fscores_many(
    gt: np.ndarray, preds: list[np.ndarray], thresholds: Any, progress: Callable[[int], None] | None = None
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`fscores` of several predictions (same ground truth), sharing the ground truth's trees."""
    th = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    n, ng = gt.shape[0], gt.shape[1]
    todo = [i for i, p in enumerate(preds) if n and ng and p.shape[1]]
    masks = dict(zip(todo, hit_masks_many(gt, [preds[i] for i in todo], th, progress=progress))) if todo else {}
    if progress is not None and len(todo) < len(preds):
        progress(n * (len(preds) - len(todo)))
    out = []
    for i, p in enumerate(preds):
        prec = np.zeros((n, th.size))
        rec = np.zeros((n, th.size))
        if i in masks:
            hit_g, hit_p = masks[i]
            prec = hit_g.sum(1) / ng  # exact integer counts divided once, as the official code
            rec = hit_p.sum(1) / p.shape[1]
        denom = rec + prec
        f = np.where(denom > 0, 2 * rec * prec / np.where(denom > 0, denom, 1.0), 0.0)
        out.append((f, prec, rec))
    return out


def fscores(
    gt: np.ndarray, pred: np.ndarray, thresholds: Any, progress: Callable[[int], None] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample ``(fscore, precision, recall)``, each (N, T), as the official ``calculate_fscore``.

    ``precision`` is the fraction of GT points with a predicted point closer than the threshold,
    ``recall`` the reverse (the official naming); F = 2 r p / (r + p), 0 when both are 0 or a set
    is empty.
    """
    return fscores_many(gt, [pred], thresholds, progress)[0]
