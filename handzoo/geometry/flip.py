"""Left/right flipping: the one helper every plugin uses (conventions: :mod:`handzoo.types`, docs/architecture.md).

Methods that only know right hands flip the image crop of a left hand horizontally, run the
network, and un-flip its output. A horizontal image flip corresponds to the 3D mirror ``x -> -x``
in the camera frame together with the principal-point change ``cx -> W - 1 - cx``; a MANO pose of
the mirrored hand is obtained by negating the y and z components of every axis-angle triplet
(``R -> M R M`` with ``M = diag(-1, 1, 1)``). Every function here is its own inverse.

**Pixel convention** (one for the whole package): integer pixel coordinates are pixel *centres*,
pixel ``i`` covers ``[i - 0.5, i + 0.5)`` and the image spans ``[-0.5, W - 0.5]`` (OpenCV's
convention). ``image[:, ::-1]`` moves pixel ``i`` to ``W - 1 - i``, so 2D points and boxes map as
``x -> W - 1 - x``.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

from handzoo.errors import InputError

__all__ = [
    "flip_points",
    "flip_axis_angle",
    "flip_rotation_matrix",
    "flip_image",
    "flip_keypoints_2d",
    "flip_boxes",
    "flip_intrinsics",
    "flip_side",
]

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)

_MIRROR_X = np.diag([-1.0, 1.0, 1.0])


def _clone(x: ArrayT) -> ArrayT:
    if isinstance(x, torch.Tensor):
        return x.clone()
    if isinstance(x, np.ndarray):
        return np.array(x, dtype=np.result_type(x.dtype, np.float32) if x.dtype.kind in "iub" else x.dtype)
    raise InputError(f"expected a numpy array or torch tensor, got {type(x).__name__}")


def _check_last_dim(x: ArrayT, size: int, name: str, multiple: bool = False) -> None:
    if not isinstance(x, (np.ndarray, torch.Tensor)):
        raise InputError(f"{name} must be a numpy array or torch tensor, got {type(x).__name__}")
    if x.ndim < 1:
        raise InputError(f"{name} must have at least one dimension, got a scalar")
    last = x.shape[-1]
    ok = (last % size == 0 and last > 0) if multiple else last == size
    if not ok:
        want = f"a multiple of {size}" if multiple else str(size)
        raise InputError(f"{name}: last dimension must be {want}, got shape {tuple(x.shape)}")


def flip_points(points: ArrayT, center_x: float = 0.0) -> ArrayT:
    """Mirror 3D points (joints, vertices) about the plane ``x = center_x``: ``x -> 2 c - x``.

    Args:
        points: (..., 3) array or tensor in the frame where the mirror is wanted (camera frame for
            an image flip, the hand's own frame for a left/right model swap).
        center_x: x coordinate of the mirror plane (0 by default).

    Returns:
        A new array/tensor of the same type, shape and dtype.
    """
    _check_last_dim(points, 3, "points")
    out = _clone(points)
    out[..., 0] = 2.0 * center_x - points[..., 0]
    return out


def flip_axis_angle(pose: ArrayT) -> ArrayT:
    """Mirror axis-angle rotations: components 1 and 2 of every triplet are negated.

    Accepts (..., 3) single rotations or flat poses (..., 3k) such as MANO's (..., 48) full pose
    or (..., 45) hand pose. This is ``R -> M R M`` with ``M = diag(-1, 1, 1)``.
    """
    _check_last_dim(pose, 3, "pose", multiple=True)
    out = _clone(pose)
    out[..., 1::3] = -pose[..., 1::3]
    out[..., 2::3] = -pose[..., 2::3]
    return out


def flip_rotation_matrix(matrix: ArrayT) -> ArrayT:
    """Mirror rotation matrices (..., 3, 3): ``R -> M R M`` with ``M = diag(-1, 1, 1)``."""
    if not isinstance(matrix, (np.ndarray, torch.Tensor)) or tuple(matrix.shape[-2:]) != (3, 3):
        shape = tuple(getattr(matrix, "shape", ()))
        raise InputError(f"matrix must have shape (..., 3, 3), got {shape}")
    if isinstance(matrix, torch.Tensor):
        m = torch.as_tensor(_MIRROR_X, dtype=matrix.dtype, device=matrix.device)
    else:
        m = _MIRROR_X.astype(matrix.dtype)
    return m @ matrix @ m


def flip_image(image: ArrayT, channels_last: bool | None = None) -> ArrayT:
    """Flip images horizontally (mirror the width axis).

    Args:
        image: numpy arrays are (..., H, W, C) by default, torch tensors (..., C, H, W). A 2D array
            (H, W) is a single-channel image.
        channels_last: override the layout guess: True for (..., H, W, C), False for (..., H, W)
            or (..., C, H, W).

    Returns:
        The flipped image (a contiguous copy).
    """
    if not isinstance(image, (np.ndarray, torch.Tensor)):
        raise InputError(f"image must be a numpy array or torch tensor, got {type(image).__name__}")
    if image.ndim < 2:
        raise InputError(f"image must have at least 2 dimensions, got shape {tuple(image.shape)}")
    if channels_last is None:
        channels_last = isinstance(image, np.ndarray) and image.ndim >= 3
    axis = -2 if channels_last else -1
    if isinstance(image, torch.Tensor):
        return torch.flip(image, dims=(axis,))
    return np.ascontiguousarray(np.flip(image, axis=axis))


def flip_keypoints_2d(keypoints: ArrayT, width: int | float) -> ArrayT:
    """Map 2D pixel coordinates (..., 2+) through a horizontal flip: ``x -> width - 1 - x``.

    Extra columns (depth, confidence) are kept. See the module docstring for the pixel convention.
    """
    if not isinstance(keypoints, (np.ndarray, torch.Tensor)) or keypoints.ndim < 1 or keypoints.shape[-1] < 2:
        shape = tuple(getattr(keypoints, "shape", ()))
        raise InputError(f"keypoints must have shape (..., 2) or (..., 2+k), got {shape}")
    out = _clone(keypoints)
    out[..., 0] = (width - 1) - keypoints[..., 0]
    return out


def flip_boxes(boxes: ArrayT, width: int | float) -> ArrayT:
    """Map xyxy boxes (..., 4) through a horizontal flip; corners follow :func:`flip_keypoints_2d`.

    ``x1' = W - 1 - x2`` and ``x2' = W - 1 - x1`` so the result is again ``x1 <= x2``.
    """
    _check_last_dim(boxes, 4, "boxes")
    out = _clone(boxes)
    out[..., 0] = (width - 1) - boxes[..., 2]
    out[..., 2] = (width - 1) - boxes[..., 0]
    return out


def flip_intrinsics(K: ArrayT, width: int | float) -> ArrayT:
    """Intrinsics (..., 3, 3) of the flipped image for mirrored 3D points: ``cx -> W - 1 - cx``.

    With ``flip_points`` (about x = 0 in the camera frame) this keeps the projection consistent:
    ``project(flip_points(X), flip_intrinsics(K)) == flip_keypoints_2d(project(X, K))`` (for
    zero skew).
    """
    if not isinstance(K, (np.ndarray, torch.Tensor)) or tuple(K.shape[-2:]) != (3, 3):
        raise InputError(f"K must have shape (..., 3, 3), got {tuple(getattr(K, 'shape', ()))}")
    out = _clone(K)
    out[..., 0, 2] = (width - 1) - K[..., 0, 2]
    return out


def flip_side(side: ArrayT) -> ArrayT:
    """Swap hand-side codes: RIGHT (0) <-> LEFT (1)."""
    if not isinstance(side, (np.ndarray, torch.Tensor)):
        raise InputError(f"side must be a numpy array or torch tensor, got {type(side).__name__}")
    return 1 - side
