"""numpy kernels of the joint-only protocols, so that scoring their files never imports torch.

The same definitions as :mod:`handzoo.metrics` (which works on tensors): FreiHAND's ``EvalUtil``
summary, its ``align_w_scale``, HandOccNet's ``rigid_align``; batched over samples, float64.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

__all__ = [
    "Summary",
    "point_errors",
    "mean_point_errors_mm",
    "summarize",
    "align_w_scale",
    "procrustes_trafo",
    "align_by_trafo",
    "align_scale_translation",
    "rigid_align",
    "root_align",
    "mean_points",
    "sample_blocks",
    "map_blocks",
    "background",
]

_FREIHAND_EPS = 1e-8
#: points per block of samples in :func:`map_blocks` (about 1.5 MB per (S, N, 3) float64 temporary):
#: temporaries stay in the cache and in the allocator's free lists (no page faults of fresh memory)
BLOCK_POINTS = 1 << 16
T = TypeVar("T")


def workers() -> int:
    """Threads for :func:`map_blocks`: ``OMP_NUM_THREADS`` when set, else the usable CPUs (at most 8)."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        try:
            cpus = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):  # pragma: no cover - not Linux
            cpus = os.cpu_count() or 1
        return max(1, min(8, cpus))


def sample_blocks(n: int, n_points: int, block_points: int | None = None) -> list[slice]:
    """Slices of ``range(n)`` holding about ``block_points`` (default :data:`BLOCK_POINTS`) points each."""
    step = max(1, (BLOCK_POINTS if block_points is None else block_points) // max(1, n_points))
    return [slice(i, min(n, i + step)) for i in range(0, n, step)]


def map_blocks(fn: Callable[[slice], T], n: int, n_points: int, threads: int | None = None) -> list[T]:
    """``[fn(s) for s in sample_blocks(n, n_points)]``, on ``threads`` threads (numpy releases the GIL).

    Every block is computed by the same numpy operations whatever the thread, so per-sample results
    do not depend on the number of threads; results come back in block order. The calling thread
    works too; the first exception of any block is raised (plain threads, not ``concurrent.futures``,
    whose import pulls in ``logging``).
    """
    blocks = sample_blocks(n, n_points)
    nt = min(workers() if threads is None else threads, len(blocks))
    if nt <= 1:
        return [fn(s) for s in blocks]
    from threadpoolctl import threadpool_limits

    # one BLAS thread: the blocks' small products and 3 x 3 SVDs gain nothing from BLAS threads, whose
    # spinning took ~0.1 s of CPU from the block threads per DexYCB evaluation on 2 cores
    with threadpool_limits(1, user_api="blas"):
        return _run_blocks(fn, blocks, nt)


def _run_blocks(fn: Callable[[slice], T], blocks: list[slice], nt: int) -> list[T]:
    """``[fn(s) for s in blocks]`` on ``nt`` threads, the calling thread one of them."""
    results: list[T | None] = [None] * len(blocks)
    errors: list[BaseException] = []
    order = iter(range(len(blocks)))
    lock = threading.Lock()

    def work() -> None:
        while not errors:
            with lock:
                i = next(order, None)
            if i is None:
                return
            try:
                results[i] = fn(blocks[i])
            except BaseException as exc:  # re-raised by the calling thread
                errors.append(exc)
                return

    helpers = [threading.Thread(target=work, name=f"handzoo-blocks-{k}") for k in range(nt - 1)]
    for t in helpers:
        t.start()
    work()
    for t in helpers:
        t.join()
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]


def background(fn: Callable[[], T]) -> Callable[[], T]:
    """Start ``fn()`` on a thread; the returned function waits for it and returns its result or raises its error."""
    box: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            box.append((True, fn()))
        except BaseException as exc:  # handed to the caller
            box.append((False, exc))

    thread = threading.Thread(target=run, name="handzoo-background")
    thread.start()

    def result() -> T:
        thread.join()
        ok, value = box[0]
        if not ok:
            assert isinstance(value, BaseException)
            raise value
        return value  # type: ignore[return-value]

    return result


def mean_points(x: np.ndarray) -> np.ndarray:
    """``x.mean(-2, keepdims=True)`` with numpy's summation order for one sample's ``(N, 3).mean(0)``.

    That order is a plain running sum over the points (``((x0 + x1) + x2) + ...``), which
    ``einsum`` also follows for this reduction (pinned by the tests against per-sample
    ``mean(0)``) at a quarter of the cost of numpy's strided reduction over the points axis.
    """
    n = x.shape[-2]
    if n == 0:
        return x.mean(-2, keepdims=True)
    return (np.einsum("...pk->...k", x) / n)[..., None, :]


def _det3_sign_negative(m: np.ndarray) -> np.ndarray:
    """``det(m) < 0`` for (..., 3, 3) rotations-or-reflections (|det| = 1, so the closed form's sign is exact)."""
    a = m[..., 0, :]
    b = m[..., 1, :]
    c = m[..., 2, :]
    cross = (
        b[..., 1] * c[..., 2] - b[..., 2] * c[..., 1],
        b[..., 2] * c[..., 0] - b[..., 0] * c[..., 2],
        b[..., 0] * c[..., 1] - b[..., 1] * c[..., 0],
    )
    return a[..., 0] * cross[0] + a[..., 1] * cross[1] + a[..., 2] * cross[2] < 0


@dataclass(frozen=True)
class Summary:
    """``EvalUtil.get_measures``: mean error, AUC, PCK curve (mean over keypoints), thresholds."""

    mean: float
    auc: float
    pck: np.ndarray
    thresholds: np.ndarray


def point_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(..., N) Euclidean distances, ``sqrt((dx^2 + dy^2) + dz^2)`` in numpy's order."""
    d = gt - pred
    sq = d * d
    return np.sqrt(sq[..., 0] + sq[..., 1] + sq[..., 2])


def mean_point_errors_mm(pred: np.ndarray, gt_mm: np.ndarray) -> np.ndarray:
    """(S,) per-sample ``np.sqrt(np.sum((pred * 1000 - gt_mm) ** 2, 1)).mean()``, the mesh papers' loop.

    Args:
        pred: (S, N, 3) points in metres (multiplied by 1000 here, as the official code does).
        gt_mm: (S, N, 3) ground truth already multiplied by 1000.

    Returns:
        The same numbers as :func:`point_errors` on ``pred * 1000`` and ``gt_mm``, averaged over the
        points, with two temporaries instead of six.
    """
    d = pred * 1000.0
    d -= gt_mm  # the opposite sign of gt - pred: the same squares
    d *= d
    s = d[..., 0] + d[..., 1]
    s += d[..., 2]
    np.sqrt(s, out=s)
    return s.mean(-1)


def summarize(errors: np.ndarray, val_min: float, val_max: float, steps: int) -> Summary:
    """EvalUtil over (N, K) errors, every keypoint visible: per-keypoint mean, PCK (<=) and AUC.

    Args:
        errors: (N, K) errors, N >= 1.
        val_min: first PCK threshold.
        val_max: last PCK threshold.
        steps: number of thresholds (``numpy.linspace``).
    """
    t = np.linspace(val_min, val_max, steps)
    n = errors.shape[0]
    ordered = np.sort(errors, axis=0)
    # PCK_k(t) = mean(err_k <= t): count of sorted errors <= t, for every keypoint and threshold
    pck = np.stack([np.searchsorted(col, t, side="right") for col in ordered.T]) / n  # (K, T)
    dt = np.diff(t)
    norm = np.sum(dt * 2.0 / 2.0)
    auc = np.sum(dt * (pck[:, 1:] + pck[:, :-1]) / 2.0, axis=1) / norm
    kp_mean = np.array([np.mean(col) for col in errors.T])
    return Summary(float(np.mean(kp_mean)), float(np.mean(auc)), pck.mean(0), t)


def root_align(points: np.ndarray, root: int = 0) -> np.ndarray:
    """Subtract joint ``root`` from every point of each sample."""
    return points - points[..., root : root + 1, :]


def _procrustes(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(Pn, rotation, scale, |Gc|_F + eps, mean G)`` of FreiHAND's ``align_w_scale``."""
    t1 = mean_points(gt)
    t2 = mean_points(pred)
    gn = gt - t1
    s1 = np.sqrt((gn * gn).sum((-2, -1))) + _FREIHAND_EPS
    gn /= s1[..., None, None]
    pn = pred - t2
    pn /= (np.sqrt((pn * pn).sum((-2, -1))) + _FREIHAND_EPS)[..., None, None]
    # scipy.linalg.orthogonal_procrustes(gn, pn): svd(gn^T pn) = U S V^T, R = U V^T, scale = sum(S)
    u, sv, vh = np.linalg.svd(np.swapaxes(gn, -1, -2) @ pn)
    return pn, u @ vh, sv.sum(-1), s1, t1


def align_w_scale(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """FreiHAND's ``align_w_scale`` for (S, N, 3) batches (reflections allowed, 1e-8 epsilon)."""
    pn, rot, scale, s1, t1 = _procrustes(gt, pred)
    out = pn @ np.swapaxes(rot, -1, -2)
    out *= scale[..., None, None]  # in place: the same operations, in the same order, without temporaries
    out *= s1[..., None, None]
    out += t1
    return out


def procrustes_trafo(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """FreiHAND's ``align_w_scale(..., return_trafo=True)``: ``(rotation, scale, |Gc|_F + eps, t1 - t2)``."""
    _, rot, scale, s1, t1 = _procrustes(gt, pred)
    return rot, scale, s1, (t1 - mean_points(pred))[..., 0, :]


def align_by_trafo(points: np.ndarray, trafo: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """FreiHAND's ``align_by_trafo`` (centred on the points' own mean, not divided by their norm)."""
    rot, scale, s1, offset = trafo
    t2 = mean_points(points)
    out = ((points - t2) @ np.swapaxes(rot, -1, -2)) * scale[..., None, None]
    out = out * s1[..., None, None]
    return out + offset[..., None, :] + t2


def align_scale_translation(gt: np.ndarray, pred: np.ndarray, bone: tuple[int, int] = (0, 4)) -> np.ndarray:
    """HO-3D's ``align_sc_tr``: scale to the GT bone ``b0 -> b1`` (skipped for a zero bone), then root."""
    b0, b1 = bone
    d = pred[..., b1, :] - pred[..., b0, :]
    s = np.sqrt((d * d).sum(-1))[..., None, None]
    cur = np.where(s > 0, pred / np.where(s > 0, s, 1.0), pred)
    dg = gt[..., b1, :] - gt[..., b0, :]
    cur = cur * np.sqrt((dg * dg).sum(-1))[..., None, None]
    return (cur - cur[..., :1, :]) + gt[..., :1, :]


def rigid_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """HandOccNet's ``rigid_align(pred, gt)`` (Umeyama with the reflection fix) for (S, N, 3) batches.

    A prediction whose points all coincide lands on the ground-truth centroid (see
    :func:`handzoo.metrics.procrustes.rigid_align`). Centroids, variance and ``c = 1 / var * sum(S)``
    follow the official operation order.
    """
    n = pred.shape[-2]
    ca = mean_points(pred)
    cb = mean_points(gt)
    centred = pred - ca
    h = np.swapaxes(centred, -1, -2) @ (gt - cb) / n
    u, sv, vh = np.linalg.svd(h)
    # det(V U^T) < 0: V U^T is orthogonal (det +-1), so the sign of the closed-form determinant is
    # that of the official LU determinant
    flip = _det3_sign_negative(np.swapaxes(vh, -1, -2) @ np.swapaxes(u, -1, -2))
    if flip.any():
        sign = np.where(flip, -1.0, 1.0)
        sv[..., 2] *= sign
        vh[..., 2, :] *= sign[..., None]
    rot = np.swapaxes(vh, -1, -2) @ np.swapaxes(u, -1, -2)
    var = mean_points(centred * centred)[..., 0, :].sum(-1)
    degenerate = var <= (64 * np.finfo(pred.dtype).eps * np.abs(ca).max((-2, -1))) ** 2
    c = np.where(degenerate, 0.0, (1.0 / np.where(degenerate, 1.0, var)) * sv.sum(-1))
    cr = c[..., None, None] * rot
    t = cb[..., 0, :] - (cr @ ca[..., 0, :, None])[..., 0]
    return pred @ np.swapaxes(cr, -1, -2) + t[..., None, :]
