"""numpy kernels of the joint-only protocols, so that scoring their files never imports torch.

The same definitions as :mod:`handzoo.metrics` (which works on tensors): FreiHAND's ``EvalUtil``
summary, its ``align_w_scale``, HandOccNet's ``rigid_align``; batched over samples, float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Summary",
    "point_errors",
    "summarize",
    "align_w_scale",
    "procrustes_trafo",
    "align_by_trafo",
    "align_scale_translation",
    "rigid_align",
    "root_align",
]

_FREIHAND_EPS = 1e-8


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
    t1 = gt.mean(-2, keepdims=True)
    t2 = pred.mean(-2, keepdims=True)
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
    return (pn @ np.swapaxes(rot, -1, -2)) * scale[..., None, None] * s1[..., None, None] + t1


def procrustes_trafo(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """FreiHAND's ``align_w_scale(..., return_trafo=True)``: ``(rotation, scale, |Gc|_F + eps, t1 - t2)``."""
    _, rot, scale, s1, t1 = _procrustes(gt, pred)
    return rot, scale, s1, (t1 - pred.mean(-2, keepdims=True))[..., 0, :]


def align_by_trafo(points: np.ndarray, trafo: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """FreiHAND's ``align_by_trafo`` (centred on the points' own mean, not divided by their norm)."""
    rot, scale, s1, offset = trafo
    t2 = points.mean(-2, keepdims=True)
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
    :func:`handzoo.metrics.procrustes.rigid_align`).
    """
    n = pred.shape[-2]
    ca = pred.mean(-2, keepdims=True)
    cb = gt.mean(-2, keepdims=True)
    h = np.swapaxes(pred - ca, -1, -2) @ (gt - cb) / n
    u, sv, vh = np.linalg.svd(h)
    flip = np.linalg.det(np.swapaxes(vh, -1, -2) @ np.swapaxes(u, -1, -2)) < 0
    sign = np.where(flip, -1.0, 1.0)
    sv = np.concatenate([sv[..., :2], sv[..., 2:] * sign[..., None]], -1)
    vh = np.concatenate([vh[..., :2, :], vh[..., 2:, :] * sign[..., None, None]], -2)
    rot = np.swapaxes(vh, -1, -2) @ np.swapaxes(u, -1, -2)
    centred = pred - ca
    var = (centred * centred).mean(-2).sum(-1)
    degenerate = var <= (64 * np.finfo(pred.dtype).eps * np.abs(ca).max((-2, -1))) ** 2
    c = np.where(degenerate, 0.0, sv.sum(-1) / np.where(degenerate, 1.0, var))
    cr = c[..., None, None] * rot
    t = cb[..., 0, :] - (cr @ ca[..., 0, :, None])[..., 0]
    return pred @ np.swapaxes(cr, -1, -2) + t[..., None, :]
