"""Training targets in DIGIT's heatmap space, from image-space joints (the authors' data rules).

Given a crop (its image -> patch map), the 42 joints of a sample in InterHand2.6M order (right
then left) with their image pixels and camera depths, :func:`encode_joints` gives what
:class:`~handzoo_digit.losses.DigitLoss` expects: x, y in heatmap pixels, z in depth bins relative
to each hand's own root; a joint whose depth falls outside the bins is invalid (as in the
authors' ``transform_input_to_output_space``). :func:`encode_rel_root` maps the left-minus-right
root depth to root bins. :func:`sample_targets` does both for a :class:`handzoo.types.Sample`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from handzoo.geometry.joint_orders import TO_HANDZOO21
from handzoo.types import LEFT, RIGHT

__all__ = ["encode_joints", "encode_rel_root", "sample_targets"]

_IH = TO_HANDZOO21["interhand"]
_RIGHT_ROOT, _LEFT_ROOT = 20, 41


def encode_joints(
    uv: np.ndarray,
    depth: np.ndarray,
    valid: np.ndarray,
    trans: np.ndarray,
    input_size: tuple[int, int] = (256, 256),
    heatmap_size: tuple[int, int, int] = (64, 64, 64),
    bbox_3d_size: float = 0.4,
) -> tuple[np.ndarray, np.ndarray]:
    """(42, 2) image pixels and (42,) camera depths (m) -> (42, 3) heatmap-space joints and validity.

    Args:
        uv: image pixels, InterHand2.6M order (right 0-20, left 21-41; roots 20 and 41).
        depth: camera-frame z in metres.
        valid: (42,) joint validity.
        trans: (2, 3) image -> patch map.
        input_size, heatmap_size, bbox_3d_size: DIGIT's output space.
    """
    uv = np.asarray(uv, dtype=np.float64).reshape(42, 2)
    z = np.asarray(depth, dtype=np.float64).reshape(42)
    t = np.asarray(trans, dtype=np.float64).reshape(2, 3)
    p = uv @ t[:, :2].T + t[:, 2]
    out = np.empty((42, 3))
    out[:, 0] = p[:, 0] / input_size[1] * heatmap_size[2]
    out[:, 1] = p[:, 1] / input_size[0] * heatmap_size[1]
    rel = np.concatenate([z[:21] - z[_RIGHT_ROOT], z[21:] - z[_LEFT_ROOT]])
    out[:, 2] = (rel / (bbox_3d_size / 2) + 1) / 2 * heatmap_size[0]
    v = np.asarray(valid, dtype=np.float64).reshape(42).copy()
    inside = (p[:, 0] >= 0) & (p[:, 0] < input_size[1]) & (p[:, 1] >= 0) & (p[:, 1] < input_size[0])
    v *= inside & (out[:, 2] >= 0) & (out[:, 2] < heatmap_size[0])
    return out, v


def encode_rel_root(rel_depth: float, root_bins: int = 64, bbox_3d_size_root: float = 0.4) -> tuple[float, float]:
    """Left-minus-right root depth (m) -> ``(bin, valid)`` (valid when inside the bins)."""
    b = (float(rel_depth) / (bbox_3d_size_root / 2) + 1) / 2 * root_bins
    return b, float(0 <= b < root_bins)


def sample_targets(sample: Any, trans: np.ndarray, **space: Any) -> dict[str, np.ndarray]:
    """DIGIT's targets for one :class:`~handzoo.types.Sample` cropped with the map ``trans``.

    The sample's hands (handzoo21, metres, camera frame) fill the right and left slots by side;
    a missing hand is invalid. Returns ``joints25d``, ``joint_valid``, ``rel_root_bin``,
    ``root_valid``, ``hand_type`` (right, left presence) and ``hand_type_valid``.
    """
    uv = np.zeros((42, 2))
    z = np.ones(42)
    valid = np.zeros(42)
    present = np.zeros(2)
    K = np.asarray(sample.K, dtype=np.float64)
    sides = np.asarray(sample.side).reshape(-1)
    for h, side in enumerate(sides):
        sl = slice(0, 21) if int(side) == RIGHT else slice(21, 42)
        j3 = np.asarray(sample.joints3d[h], dtype=np.float64)[np.argsort(_IH)]  # handzoo21 -> InterHand
        proj = j3 @ K.T
        uv[sl] = proj[:, :2] / proj[:, 2:]
        z[sl] = j3[:, 2]
        jv = np.ones(21) if sample.joints_valid is None else np.asarray(sample.joints_valid[h], dtype=np.float64)
        valid[sl] = jv[np.argsort(_IH)]
        present[0 if int(side) == RIGHT else 1] = 1.0
    bins_space = {k: v for k, v in space.items() if k in ("input_size", "heatmap_size", "bbox_3d_size")}
    joints, jvalid = encode_joints(uv, z, valid, trans, **bins_space)
    root_space = {k: v for k, v in space.items() if k in ("root_bins", "bbox_3d_size_root")}
    rb, rv = encode_rel_root(z[_LEFT_ROOT] - z[_RIGHT_ROOT], **root_space)
    rv *= float(present.all() and valid[_RIGHT_ROOT] > 0 and valid[_LEFT_ROOT] > 0)
    return {
        "joints25d": joints,
        "joint_valid": jvalid,
        "rel_root_bin": np.array(rb),
        "root_valid": np.array(rv),
        "hand_type": present,
        "hand_type_valid": np.array(1.0),
        "sides_present": np.array([RIGHT, LEFT])[present > 0],
    }
