"""numpy kernel of the exact F-score decisions (no torch), shared with :mod:`handzoo.metrics.fscore`.

The decision for a query point ``q`` and threshold ``th`` is the official one: is the smallest
``sqrt((dx^2 + dy^2) + dz^2)`` (float64) to the other set strictly below ``th``.

Every pair of a sample is looked at, in float32, by one matrix product: with both sets centred on
the ground truth's centroid, ``[a, |a|^2, 1] . [-2b, 1, |b|^2] = |a - b|^2`` (``|a|^2`` and
``|b|^2`` summed in float64, then rounded). The row minima give each ground-truth point's nearest
squared distance, the column minima each predicted point's. The cost is the same for any
prediction, good or bad (no pruning that a far prediction defeats), and runs at matrix-product
speed (about 0.3 ms per 778 x 778 sample on one core).

Exactness: the float32 value of a pair differs from the true squared distance by at most about
``7 u (|a| + |b|)^2`` (``u = 2^-24``: rounding of the inputs, then a 5-term dot product in any
order). A pair can only decide a threshold ``th`` (at most ``th_max``) if ``|b| <= |a| + th_max``
(up to that error), so a query point ``a`` gets the tolerance ``16 u (2.1 |a| + 1.1 th_max)^2``
(more than twice the bound). A minimum that lies within that tolerance of some ``th^2`` is
re-decided with the official float64 formula against every point of the other set; the others are
decided from the float32 minimum. Tests compare the decisions with a float64 brute force,
including points exactly on a threshold and a few ulps either side.

Coordinates farther than ``MAX_COORD`` from the centroid (the float32 squares would overflow) or
thresholds below ``MIN_THRESHOLD`` (their squares would be subnormal) are decided by the float64
brute force alone.

Samples are scored in blocks of ``BLOCK`` on a pool of threads (numpy releases the GIL); the
ground truth's operand of a block is built once for every prediction scored against it.
:func:`hit_counts` scores one block, for callers that compute more per block (FreiHAND aligns a
block's vertices and scores them in the same task, so every temporary stays small).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

__all__ = [
    "hit_masks",
    "hit_masks_many",
    "hit_counts",
    "fscores",
    "fscores_many",
    "fscores_from_counts",
    "fscore_pool",
]

U32 = 2.0**-24  # unit roundoff of float32
MAX_COORD = 1e15  # beyond this (from the centroid) float32 squares could overflow: exact path
MIN_THRESHOLD = 1e-15  # below this the squared threshold is not a normal float32: exact path
BLOCK = 64  # samples prepared together (float32 operands ~ 2 MB for 778-point sets)
PAIRS = 1 << 20  # float32 pairs per product (4 MB): larger sets are done in row chunks
EXACT_BLOCK = 1 << 20  # point pairs per exact float64 block (about 25 MB per temporary)


def workers() -> int:
    """Threads over blocks of samples: ``OMP_NUM_THREADS`` when set, else every CPU."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        return os.cpu_count() or 1


def exact_sq(q: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(M, Nt) squared distances of points ``q`` (M, 3) to ``t`` (M, Nt, 3), official summation order."""
    d = t - q[:, None, :]
    sq = d * d
    return (sq[..., 0] + sq[..., 1]) + sq[..., 2]


def _operands(x: np.ndarray, c: np.ndarray, rows: bool, th_max: float) -> tuple[np.ndarray, np.ndarray] | None:
    """float32 product operand of ``x - c`` and each point's float64 tolerance on its squared distances.

    ``rows``: (B, N, 5) rows ``[x, |x|^2, 1]``; else (B, 5, N) columns ``[-2x, 1, |x|^2]``. None when
    a point lies farther than ``MAX_COORD`` from ``c`` (float32 could overflow: exact path).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        a = x - c
        sq = np.einsum("bij,bij->bi", a, a)
    if sq.size and not float(sq.max()) <= MAX_COORD * MAX_COORD:  # also catches inf / nan
        return None
    if rows:
        op = np.empty((a.shape[0], a.shape[1], 5), dtype=np.float32)
        op[..., :3] = a
        op[..., 3] = sq
        op[..., 4] = 1.0
    else:
        op = np.empty((a.shape[0], 5, a.shape[1]), dtype=np.float32)
        op[:, :3] = a.transpose(0, 2, 1)
        op[:, :3] *= -2.0  # exact in float32
        op[:, 3] = 1.0
        op[:, 4] = sq
    np.sqrt(sq, out=sq)
    sq *= 2.1
    sq += 1.1 * th_max
    np.square(sq, out=sq)
    sq *= 16.0 * U32  # tol = 16 u (2.1 |a| + 1.1 th_max)^2
    return op, sq


def _minima(rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sample, float32 minima over each row and each column of ``rows[s] @ cols[s]``."""
    b, n, m = rows.shape[0], rows.shape[1], cols.shape[2]
    rmin = np.empty((b, n), dtype=np.float32)
    cmin = np.empty((b, m), dtype=np.float32)
    step = max(1, min(n, PAIRS // max(1, m)))
    buf = np.empty((step, m), dtype=np.float32)
    for s in range(b):
        if step >= n:
            d = np.matmul(rows[s], cols[s], out=buf[:n])
            d.min(1, out=rmin[s])
            d.min(0, out=cmin[s])
            continue
        cmin[s] = np.inf
        for r in range(0, n, step):
            d = np.matmul(rows[s, r : r + step], cols[s], out=buf[: min(step, n - r)])
            d.min(1, out=rmin[s, r : r + step])
            np.minimum(cmin[s], d.min(0), out=cmin[s])
    return rmin, cmin


def _decide(m: np.ndarray, tol: np.ndarray, q: np.ndarray, t: np.ndarray, th: np.ndarray) -> np.ndarray:
    """(B, T, Nq) decisions from float32 minima ``m`` (B, Nq), re-done exactly within ``tol`` of a threshold.

    Threshold-major, so that the hits of one threshold are contiguous (counted fast).
    """
    m64 = m.astype(np.float64)
    th2 = th * th
    hits = np.empty((m.shape[0], th.size, m.shape[1]), dtype=bool)
    amb = np.zeros(m.shape, dtype=bool)
    gap = np.empty_like(m64)
    for k in range(th.size):
        if not th[k] > 0:  # no distance is below 0
            hits[:, k] = False
            continue
        np.subtract(m64, th2[k], out=gap)
        np.less(gap, -tol, out=hits[:, k])
        np.abs(gap, out=gap)
        amb |= gap <= tol
    if amb.any():
        bi, qi = np.nonzero(amb)
        per = max(1, EXACT_BLOCK // max(1, t.shape[1]))
        for s in range(0, bi.size, per):
            b, i = bi[s : s + per], qi[s : s + per]
            exact = np.sqrt(exact_sq(q[b, i], t[b]).min(1))
            hits[b, :, i] = exact[:, None] < th
    return hits


def _float32_thresholds_ok(th: np.ndarray) -> bool:
    """Whether every positive threshold squares to a normal float32 (else the exact path decides)."""
    positive = th[th > 0]
    return not (positive.size and float(positive.min()) < MIN_THRESHOLD)


def _exact_block(q: np.ndarray, t: np.ndarray, th: np.ndarray) -> np.ndarray:
    """(B, T, Nq) decisions by brute force (every pair, official formula)."""
    out = np.empty((q.shape[0], th.size, q.shape[1]), dtype=bool)
    step = max(1, EXACT_BLOCK // max(1, t.shape[1]))
    for b in range(q.shape[0]):
        for s in range(0, q.shape[1], step):
            qq = q[b, s : s + step]
            sq = exact_sq(qq, np.broadcast_to(t[b], (qq.shape[0],) + t.shape[1:]))
            out[b, :, s : s + qq.shape[0]] = np.sqrt(sq.min(1)) < th[:, None]
    return out


def _gt_operand(g: np.ndarray, th: np.ndarray, exact: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(centroid, rows operand, tolerance)`` of a block of ground truth, or None: decide it exactly."""
    if exact or not _float32_thresholds_ok(th):
        return None
    c = g.mean(1, keepdims=True)
    ops = _operands(g, c, True, float(th.max()))
    return None if ops is None else (c, ops[0], ops[1])


def _pred_hits(
    g: np.ndarray, gt_op: tuple[np.ndarray, np.ndarray, np.ndarray] | None, p: np.ndarray, th: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Hit masks (B, T, Ng) and (B, T, Np) of one block of a prediction, given the ground truth's operand."""
    cols = None if gt_op is None else _operands(p, gt_op[0], False, float(th.max()))
    if gt_op is None or cols is None:
        return _exact_block(g, p, th), _exact_block(p, g, th)
    rmin, cmin = _minima(gt_op[1], cols[0])
    return _decide(rmin, gt_op[2], g, p, th), _decide(cmin, cols[1], p, g, th)


def hit_counts(
    g: np.ndarray, preds: list[np.ndarray], thresholds: Any, exact: bool = False
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per sample and threshold, how many points of each side have a neighbour closer than it.

    One block of samples (the caller splits a large set and runs blocks on threads); the ground
    truth's operand is built once for all predictions.

    Args:
        g: (B, Ng, 3) float64 ground truth.
        preds: (B, Np, 3) float64 predictions (``Np`` may differ between them).
        thresholds: (T,) distances.
        exact: brute force for every pair (reference path; same decisions).

    Returns:
        Per prediction ``(ground-truth hits (B, T), predicted hits (B, T))`` as int64 counts.
    """
    th = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    gt_op = _gt_operand(g, th, exact) if g.shape[0] and g.shape[1] else None
    out = []
    for p in preds:
        if g.shape[0] and g.shape[1] and p.shape[1]:
            hg, hp = _pred_hits(g, gt_op, p, th)
            out.append((np.count_nonzero(hg, axis=2), np.count_nonzero(hp, axis=2)))
        else:
            out.append((np.zeros((g.shape[0], th.size), np.int64), np.zeros((g.shape[0], th.size), np.int64)))
    return out


def fscores_from_counts(
    hit_g: np.ndarray, hit_p: np.ndarray, ng: int, np_: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The official ``(fscore, precision, recall)`` (N, T) from the hit counts of :func:`hit_counts`.

    The counts are divided once by the set sizes, as the official code; F is 0 when both
    fractions are 0 or a set is empty.
    """
    prec = hit_g / ng if ng and np_ else np.zeros(hit_g.shape)
    rec = hit_p / np_ if ng and np_ else np.zeros(hit_p.shape)
    denom = rec + prec
    f = np.where(denom > 0, 2 * rec * prec / np.where(denom > 0, denom, 1.0), 0.0)
    return f, prec, rec


@contextmanager
def fscore_pool(threads: int | None = None) -> Iterator[ThreadPoolExecutor | None]:
    """A pool of ``threads`` (default ``OMP_NUM_THREADS``; None for one) running with one BLAS thread.

    These 778 x 5 x 778 products are far too small for a threaded BLAS, whose spinning threads
    multiplied the CPU time by 10-30 on a loaded 2-core machine; the parallelism is over blocks of
    samples instead.
    """
    nw = workers() if threads is None else max(1, threads)
    with threadpool_limits(1, user_api="blas"):
        if nw <= 1:
            yield None
            return
        with ThreadPoolExecutor(nw) as pool:
            yield pool


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
        block: samples prepared together (progress is reported per block).
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
    """:func:`hit_masks` of several predictions against one ground truth (its operand built once).

    Blocks of samples run on ``OMP_NUM_THREADS`` threads (the products and reductions release the
    GIL); ``progress`` is called from this thread with ``len(preds)`` x the samples of each block.
    """
    n = g.shape[0]
    th = np.asarray(th, dtype=np.float64).reshape(-1)
    block = max(1, block)
    out = [
        (np.empty((n, g.shape[1], th.size), dtype=bool), np.empty((n, p.shape[1], th.size), dtype=bool)) for p in preds
    ]

    def run(s: int) -> int:
        e = min(s + block, n)
        gt_op = _gt_operand(g[s:e], th, exact)
        for (hg, hp), p in zip(out, preds):
            rg, rp = _pred_hits(g[s:e], gt_op, p[s:e], th)
            hg[s:e], hp[s:e] = rg.transpose(0, 2, 1), rp.transpose(0, 2, 1)
        return e - s

    with fscore_pool(min(workers(), max(1, -(-n // block)))) as pool:
        done = map(run, range(0, n, block)) if pool is None else pool.map(run, range(0, n, block))
        for k in done:
            if progress is not None:
                progress(k * len(preds))
    return out


def fscores_many(
    gt: np.ndarray, preds: list[np.ndarray], thresholds: Any, progress: Callable[[int], None] | None = None
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`fscores` of several predictions (same ground truth), sharing the ground truth's operand."""
    th = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    n, ng = gt.shape[0], gt.shape[1]
    todo = [i for i, p in enumerate(preds) if n and ng and p.shape[1]]
    masks = dict(zip(todo, hit_masks_many(gt, [preds[i] for i in todo], th, progress=progress))) if todo else {}
    if progress is not None and len(todo) < len(preds):
        progress(n * (len(preds) - len(todo)))
    out = []
    for i, p in enumerate(preds):
        if i in masks:
            out.append(fscores_from_counts(masks[i][0].sum(1), masks[i][1].sum(1), ng, p.shape[1]))
        else:
            out.append(fscores_from_counts(np.zeros((n, th.size)), np.zeros((n, th.size)), ng, p.shape[1]))
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
