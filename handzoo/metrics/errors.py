"""Point errors and their means: MPJPE, MPVPE, PA-MPJPE, PA-MPVPE, scale-translation aligned error.

All functions take ``(pred, gt)`` of shape (..., N, 3) (numpy, torch or lists), compute in float64
and return values in the input's unit (metres in, metres out; multiply by 1000 for mm).
``valid`` masks of shape (..., N) drop points from the mean (and from the alignment estimate
nowhere: the official scripts align on all points and so do these).
"""

from __future__ import annotations

from typing import Any, Literal

import torch

from handzoo.metrics._checks import as_mask, as_points, check_same_shape
from handzoo.metrics.procrustes import align_scale_translation, align_w_scale, rigid_align, root_align

__all__ = [
    "point_errors",
    "masked_mean",
    "mpjpe",
    "mpvpe",
    "pa_mpjpe",
    "pa_mpvpe",
    "root_relative_mpjpe",
    "scale_translation_mpjpe",
    "Alignment",
    "align",
]

Alignment = Literal["none", "root", "procrustes", "rigid", "scale_translation"]


def point_errors(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Euclidean distance per point, ``sqrt(dx^2 + dy^2 + dz^2)`` summed in the numpy order.

    Args:
        pred: (..., N, 3) float64 tensor.
        gt: (..., N, 3) float64 tensor.

    Returns:
        (..., N) distances.
    """
    d = gt - pred
    sq = d * d
    return torch.sqrt(sq[..., 0] + sq[..., 1] + sq[..., 2])


def masked_mean(values: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of ``values`` over the True entries of ``valid`` (all when None); NaN when none is valid."""
    if valid is None:
        return values.mean()
    n = valid.sum().to(values.dtype)
    total = torch.where(valid, values, torch.zeros_like(values)).sum()
    return torch.where(n > 0, total / n.clamp_min(1), torch.full_like(n, float("nan")))


def align(pred: torch.Tensor, gt: torch.Tensor, how: Alignment = "none", root: int = 0) -> torch.Tensor:
    """Return ``pred`` aligned to ``gt``.

    Args:
        pred: (..., N, 3) float64.
        gt: (..., N, 3) float64.
        how: ``none``; ``root`` (subtract joint ``root`` from both: the *prediction* returned is
            ``pred - pred[root] + gt[root]``); ``procrustes`` (FreiHAND ``align_w_scale``,
            reflections allowed); ``rigid`` (HandOccNet ``rigid_align``, no reflection);
            ``scale_translation`` (HO-3D ``align_sc_tr``, bone 0->4 of the given order).
        root: root joint index for ``root``.

    Returns:
        (..., N, 3) aligned prediction.
    """
    if how == "none":
        return pred
    if how == "root":
        return root_align(pred, root) + gt[..., root : root + 1, :]
    if how == "procrustes":
        return align_w_scale(gt, pred)
    if how == "rigid":
        return rigid_align(pred, gt)
    if how == "scale_translation":
        return align_scale_translation(gt, pred)
    from handzoo.errors import ConfigError

    raise ConfigError(f"unknown alignment {how!r}", hint="use none, root, procrustes, rigid or scale_translation")


def _mean_error(pred: Any, gt: Any, valid: Any, how: Alignment, root: int = 0) -> torch.Tensor:
    p = as_points(pred, "pred")
    g = as_points(gt, "gt")
    check_same_shape(p, g)
    m = None if valid is None else as_mask(valid, tuple(g.shape[:-1]), "valid", g.device)
    return masked_mean(point_errors(align(p, g, how, root), g), m)


def mpjpe(pred: Any, gt: Any, valid: Any = None) -> torch.Tensor:
    """Mean per-joint position error (no alignment), over all valid joints of all samples.

    Args:
        pred: (..., 21, 3) prediction.
        gt: (..., 21, 3) ground truth.
        valid: optional (..., 21) bool mask.

    Returns:
        0-d float64 tensor, in the input unit.
    """
    return _mean_error(pred, gt, valid, "none")


def mpvpe(pred: Any, gt: Any, valid: Any = None) -> torch.Tensor:
    """Mean per-vertex position error (no alignment); same contract as :func:`mpjpe`."""
    return _mean_error(pred, gt, valid, "none")


def root_relative_mpjpe(pred: Any, gt: Any, valid: Any = None, root: int = 0) -> torch.Tensor:
    """MPJPE after subtracting joint ``root`` from prediction and ground truth."""
    return _mean_error(pred, gt, valid, "root", root)


def pa_mpjpe(pred: Any, gt: Any, valid: Any = None, reflection: bool = True) -> torch.Tensor:
    """Procrustes-aligned MPJPE.

    Args:
        pred: (..., N, 3) prediction.
        gt: (..., N, 3) ground truth.
        valid: optional (..., N) mask applied to the mean (the alignment uses every point, as
            the official scripts do).
        reflection: True = FreiHAND ``align_w_scale`` (reflections allowed, the official
            FreiHAND/HO-3D/DexYCB definition); False = HandOccNet ``rigid_align``.

    Returns:
        0-d float64 tensor, in the input unit.
    """
    return _mean_error(pred, gt, valid, "procrustes" if reflection else "rigid")


def pa_mpvpe(pred: Any, gt: Any, valid: Any = None, reflection: bool = True) -> torch.Tensor:
    """Procrustes-aligned MPVPE (vertices aligned on their own); same contract as :func:`pa_mpjpe`."""
    return _mean_error(pred, gt, valid, "procrustes" if reflection else "rigid")


def scale_translation_mpjpe(pred: Any, gt: Any, valid: Any = None) -> torch.Tensor:
    """HO-3D's scale-translation aligned MPJPE (inputs in HO-3D joint order: bone 0 -> 4)."""
    return _mean_error(pred, gt, valid, "scale_translation")
