"""Camera-frame convention: OpenGL (y up, looking along -z) <-> OpenCV (y down, looking along +z).

handzoo works in OpenCV's camera frame. Datasets and benchmarks that use OpenGL's (HO-3D) are
converted with ``diag(1, -1, -1)``: x stays, y and z change sign. The map is its own inverse;
rotations change as ``R -> OPENGL_TO_OPENCV @ R``. :func:`opengl_to_opencv` takes numpy arrays
or torch tensors (numpy only here: no torch import).
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

from handzoo.errors import InputError

__all__ = [
    "OPENGL_TO_OPENCV",
    "opengl_to_opencv",
    "opencv_to_opengl",
]

_SIGNS = (1.0, -1.0, -1.0)
# diag(1, -1, -1), float64, read-only: p_cv = OPENGL_TO_OPENCV @ p_gl (and back)
OPENGL_TO_OPENCV: np.ndarray = np.diag(_SIGNS)
OPENGL_TO_OPENCV.setflags(write=False)

T = TypeVar("T")


def _signs_like(x: Any) -> Any:
    shape = tuple(getattr(x, "shape", ()))
    if not shape or shape[-1] != 3:
        raise InputError(f"points must have shape (..., 3), got {shape}")
    if hasattr(x, "new_tensor"):  # torch
        return x.new_tensor(_SIGNS)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    return np.asarray(_SIGNS, dtype=dtype)


def opengl_to_opencv(points: T) -> T:
    """Change points (..., 3) between the OpenGL and OpenCV camera frames (``x -> diag(1, -1, -1) x``).

    Raises:
        InputError: the last axis is not 3.
    """
    return points * _signs_like(points)  # type: ignore[operator]


opencv_to_opengl = opengl_to_opencv
