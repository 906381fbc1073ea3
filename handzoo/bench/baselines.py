"""Baselines reported like models, needing no weights: the all-zero and the mean-hand predictors.

Both are functions of the ground truth of the evaluated split only, so they run on every dataset
without images:

* ``zero``: every joint and vertex at the camera origin (the FreiHAND README's sanity values:
  with zeros, Procrustes alignment degenerates to the ground-truth mean, so the aligned error is
  the spread of the ground truth).
* ``mean-hand``: the mean root-relative hand of the split (joints and, when the dataset has
  meshes, vertices) placed at each ground-truth root (wrist). Left hands are mirrored
  (x -> -x) into right hands before averaging and the mean is mirrored back for left hands, so
  one mean serves both sides. Invalid joints are left out of the mean.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from handzoo.bench.records import GroundTruth, Predictions

__all__ = ["BASELINES", "BASELINE_VERSION", "zero_predictor", "mean_hand_predictor", "mean_hand"]

# bump when a baseline's definition changes: it is part of the cache key
BASELINE_VERSION = "1"
_ROOT = 0
_MIRROR = np.array([-1.0, 1.0, 1.0])


def zero_predictor(gt: GroundTruth) -> Predictions:
    """All-zero joints, and all-zero vertices with the ground truth's vertex count."""
    verts = None if gt.vertices is None else np.zeros_like(gt.vertices, dtype=np.float64)
    return Predictions(joints3d=np.zeros_like(gt.joints3d, dtype=np.float64), vertices=verts)


def _mirror_to_right(points: np.ndarray, side: np.ndarray) -> np.ndarray:
    sign = np.where(side[:, None, None] == 1, _MIRROR, 1.0)
    return points * sign


def mean_hand(gt: GroundTruth) -> tuple[np.ndarray, np.ndarray | None]:
    """The split's mean right hand, root-relative.

    Returns:
        ``(joints (21, 3), vertices (V, 3) or None)``: per-joint means over the hands whose joint
        and root are valid (joints with no valid sample are 0); vertices averaged over hands with
        a valid root.
    """
    root_ok = gt.joints_valid[:, _ROOT]
    root = gt.joints3d[:, _ROOT : _ROOT + 1]
    rel = _mirror_to_right(gt.joints3d - root, gt.side)
    w = (gt.joints_valid & root_ok[:, None]).astype(np.float64)
    count = w.sum(0)
    joints = (rel * w[..., None]).sum(0) / np.maximum(count, 1.0)[:, None]
    verts = None
    if gt.vertices is not None:
        vrel = _mirror_to_right(gt.vertices - root, gt.side)
        n = max(int(root_ok.sum()), 1)
        verts = vrel[root_ok].sum(0) / n
    return joints, verts


def mean_hand_predictor(gt: GroundTruth) -> Predictions:
    """The mean root-relative hand of ``gt`` placed at each ground-truth root."""
    mj, mv = mean_hand(gt)
    root = gt.joints3d[:, _ROOT : _ROOT + 1]
    side_sign = np.where(gt.side[:, None, None] == 1, _MIRROR, 1.0)
    joints = mj[None] * side_sign + root
    verts = None if mv is None else mv[None] * side_sign + root
    return Predictions(joints3d=joints, vertices=verts, root_from_gt=True)


BASELINES: dict[str, Callable[[GroundTruth], Predictions]] = {
    "mean-hand": mean_hand_predictor,
    "zero": zero_predictor,
}
