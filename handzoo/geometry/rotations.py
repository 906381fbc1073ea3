"""Batched, differentiable rotation conversions (torch).

Representations and conventions:

* **axis-angle** ``(..., 3)``: rotation axis scaled by the angle in radians (MANO's pose format).
* **matrix** ``(..., 3, 3)``: rotation matrices acting on column vectors (``y = R @ x``).
* **quaternion** ``(..., 4)``: unit quaternions, **real part first** ``(w, x, y, z)``.
* **6D** ``(..., 6)`` (Zhou et al., CVPR 2019): two 3-vectors that Gram-Schmidt turns into the
  first two basis vectors of a rotation matrix. Two layouts are in use by the methods:

  - ``"rows"`` (pytorch3d ``rotation_6d_to_matrix``, used by H2ONet): ``x[..., :3]`` and
    ``x[..., 3:]`` become the first two **rows** of the matrix.
  - ``"columns"`` (HMR / Hand4Whole ``rot6d_to_axis_angle``): ``x`` is reshaped to ``(..., 3, 2)``
    and its two columns become the first two **columns** of the matrix (so the two vectors are
    interleaved in the flat 6-vector: ``(x0, x2, x4)`` and ``(x1, x3, x5)``).

All functions accept any leading batch shape, any float dtype and device, and are differentiable
everywhere (including at the zero rotation).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from handzoo.errors import InputError

__all__ = [
    "axis_angle_to_matrix",
    "matrix_to_axis_angle",
    "axis_angle_to_quaternion",
    "quaternion_to_axis_angle",
    "quaternion_to_matrix",
    "matrix_to_quaternion",
    "rot6d_to_matrix",
    "matrix_to_rot6d",
    "rot6d_to_axis_angle",
    "axis_angle_to_rot6d",
    "standardize_quaternion",
    "quaternion_multiply",
    "skew",
    "Rot6DConvention",
]

Rot6DConvention = Literal["rows", "columns"]

# Below this angle the trigonometric ratios are replaced by their Taylor series: the series error
# (angle**6 / 5040) is far below float64 resolution, and the closed forms would divide by ~0.
_SMALL_ANGLE = 1e-3


def _check_last(x: torch.Tensor, shape: tuple[int, ...], name: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if tuple(x.shape[x.dim() - len(shape) :]) != shape or x.dim() < len(shape):
        want = "(..., " + ", ".join(map(str, shape)) + ")"
        raise InputError(f"{name} must have shape {want}, got {tuple(x.shape)}")


def skew(v: torch.Tensor) -> torch.Tensor:
    """Return the cross-product matrices ``[v]_x`` of vectors ``v`` (..., 3) as (..., 3, 3)."""
    _check_last(v, (3,), "v")
    x, y, z = v.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack([o, -z, y, z, o, -x, -y, x, o], dim=-1).reshape(v.shape + (3,))


def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula ``R = I + a [r]_x + b [r]_x^2`` with exact small-angle handling.

    ``a = sin(t)/t`` and ``b = (1 - cos(t))/t^2`` (``t = |r|``) are evaluated through
    ``b = sinc(t/2)^2 / 2`` (no cancellation) and by their Taylor series below 1e-3 rad, so the
    result is exact to float precision at and near the zero rotation and the gradient is finite
    there. It agrees with smplx's ``batch_rodrigues`` (which adds 1e-8 to each component before
    taking the norm) to about 1e-8.

    Args:
        axis_angle: (..., 3) rotation vectors in radians.

    Returns:
        (..., 3, 3) rotation matrices.
    """
    _check_last(axis_angle, (3,), "axis_angle")
    theta2 = (axis_angle * axis_angle).sum(-1, keepdim=True)[..., None]  # (..., 1, 1)
    small = theta2 < _SMALL_ANGLE**2
    # keep sqrt away from 0 on the branch that is discarded so its gradient stays finite
    theta = torch.sqrt(torch.where(small, torch.ones_like(theta2), theta2))
    half = 0.5 * theta
    a = torch.where(small, 1.0 - theta2 / 6.0 + theta2 * theta2 / 120.0, torch.sin(theta) / theta)
    b = torch.where(
        small,
        0.5 - theta2 / 24.0 + theta2 * theta2 / 720.0,
        0.5 * (torch.sin(half) / half) ** 2,
    )
    k = skew(axis_angle)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    return eye + a * k + b * (k @ k)


def standardize_quaternion(q: torch.Tensor) -> torch.Tensor:
    """Return the representative of ``q`` (..., 4) with a non-negative real part."""
    _check_last(q, (4,), "quaternion")
    return torch.where(q[..., :1] < 0, -q, q)


def quaternion_multiply(q1: torch.Tensor, q2: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``q1 * q2`` of (w, x, y, z) quaternions (rotation ``q2`` then ``q1``)."""
    _check_last(q1, (4,), "q1")
    _check_last(q2, (4,), "q2")
    w1, x1, y1, z1 = q1.unbind(-1)
    w2, x2, y2, z2 = q2.unbind(-1)
    return torch.stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        dim=-1,
    )


def quaternion_to_matrix(quaternion: torch.Tensor) -> torch.Tensor:
    """Convert (w, x, y, z) quaternions (..., 4) to rotation matrices (..., 3, 3).

    The quaternion does not need to be normalised: it is divided by its squared norm.
    """
    _check_last(quaternion, (4,), "quaternion")
    w, x, y, z = quaternion.unbind(-1)
    s = 2.0 / (quaternion * quaternion).sum(-1)
    m = torch.stack(
        [
            1 - s * (y * y + z * z),
            s * (x * y - z * w),
            s * (x * z + y * w),
            s * (x * y + z * w),
            1 - s * (x * x + z * z),
            s * (y * z - x * w),
            s * (x * z - y * w),
            s * (y * z + x * w),
            1 - s * (x * x + y * y),
        ],
        dim=-1,
    )
    return m.reshape(quaternion.shape[:-1] + (3, 3))


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """Convert rotation matrices (..., 3, 3) to unit (w, x, y, z) quaternions with ``w >= 0``.

    Uses Shepperd's method: of the four algebraically equivalent formulas, the one whose pivot
    (``4 w^2``, ``4 x^2``, ``4 y^2`` or ``4 z^2``) is largest is used, which is stable for every
    rotation including 180 degrees.
    """
    _check_last(matrix, (3, 3), "matrix")
    m = matrix
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    # 4*w^2, 4*x^2, 4*y^2, 4*z^2
    pivots = torch.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], dim=-1)
    # each row is 4*pivot_component * (w, x, y, z)
    cand = torch.stack(
        [
            torch.stack([pivots[..., 0], m21 - m12, m02 - m20, m10 - m01], dim=-1),
            torch.stack([m21 - m12, pivots[..., 1], m10 + m01, m02 + m20], dim=-1),
            torch.stack([m02 - m20, m10 + m01, pivots[..., 2], m12 + m21], dim=-1),
            torch.stack([m10 - m01, m20 + m02, m21 + m12, pivots[..., 3]], dim=-1),
        ],
        dim=-2,
    )
    denom = 2.0 * torch.sqrt(torch.clamp(pivots, min=0.1))[..., None]  # clamp only guards unused rows
    cand = cand / denom
    best = pivots.argmax(dim=-1)
    q = torch.gather(cand, -2, best[..., None, None].expand(best.shape + (1, 4))).squeeze(-2)
    return standardize_quaternion(F.normalize(q, dim=-1))


def quaternion_to_axis_angle(quaternion: torch.Tensor) -> torch.Tensor:
    """Convert (w, x, y, z) quaternions (..., 4) to axis-angle (..., 3) with angle in [0, pi]."""
    _check_last(quaternion, (4,), "quaternion")
    q = standardize_quaternion(quaternion)
    w, v = q[..., :1], q[..., 1:]
    n2 = (v * v).sum(-1, keepdim=True)
    small = n2 < _SMALL_ANGLE**2
    n = torch.sqrt(torch.where(small, torch.ones_like(n2), n2))
    angle = 2.0 * torch.atan2(n, w)
    # angle / n -> 2 / w * (1 - n^2 / (3 w^2)) for small n (w is then ~|q| > 0)
    w_safe = torch.where(small, w, torch.ones_like(w))
    ratio = torch.where(small, 2.0 / w_safe - 2.0 * n2 / (3.0 * w_safe**3), angle / n)
    return v * ratio


def axis_angle_to_quaternion(axis_angle: torch.Tensor) -> torch.Tensor:
    """Convert axis-angle (..., 3) to unit (w, x, y, z) quaternions (..., 4)."""
    _check_last(axis_angle, (3,), "axis_angle")
    theta2 = (axis_angle * axis_angle).sum(-1, keepdim=True)
    small = theta2 < _SMALL_ANGLE**2
    theta = torch.sqrt(torch.where(small, torch.ones_like(theta2), theta2))
    half = 0.5 * theta
    # sin(t/2) / t
    k = torch.where(small, 0.5 - theta2 / 48.0 + theta2 * theta2 / 3840.0, torch.sin(half) / theta)
    w = torch.where(small, 1.0 - theta2 / 8.0 + theta2 * theta2 / 384.0, torch.cos(half))
    return torch.cat([w, axis_angle * k], dim=-1)


def matrix_to_axis_angle(matrix: torch.Tensor) -> torch.Tensor:
    """Convert rotation matrices (..., 3, 3) to axis-angle (..., 3), angle in [0, pi]."""
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix))


def _check_convention(convention: str) -> None:
    if convention not in ("rows", "columns"):
        raise InputError(f"6D convention must be 'rows' or 'columns', got {convention!r}")


def rot6d_to_matrix(x: torch.Tensor, convention: Rot6DConvention = "rows") -> torch.Tensor:
    """Gram-Schmidt a 6D rotation representation (..., 6) into rotation matrices (..., 3, 3).

    ``b1 = normalize(a1)``, ``b2 = normalize(a2 - (b1 . a2) b1)``, ``b3 = b1 x b2``, where the
    normalisation divides by ``max(|v|, 1e-12)`` (``torch.nn.functional.normalize``).

    Args:
        x: (..., 6) network output.
        convention: ``"rows"`` (pytorch3d / H2ONet): ``a1 = x[..., 0:3]``, ``a2 = x[..., 3:6]`` and
            ``b1, b2, b3`` are the matrix **rows**. ``"columns"`` (HMR / Hand4Whole): ``x`` is
            viewed as (..., 3, 2), ``a1, a2`` are its columns and ``b1, b2, b3`` the matrix
            **columns**.

    Returns:
        (..., 3, 3) rotation matrices.
    """
    _check_last(x, (6,), "rot6d")
    _check_convention(convention)
    if convention == "rows":
        a1, a2 = x[..., 0:3], x[..., 3:6]
    else:
        xm = x.reshape(x.shape[:-1] + (3, 2))
        a1, a2 = xm[..., 0], xm[..., 1]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack((b1, b2, b3), dim=-2 if convention == "rows" else -1)


def matrix_to_rot6d(matrix: torch.Tensor, convention: Rot6DConvention = "rows") -> torch.Tensor:
    """Inverse of :func:`rot6d_to_matrix` for rotation matrices (..., 3, 3) -> (..., 6).

    ``"rows"``: the first two rows, concatenated. ``"columns"``: ``matrix[..., :, :2]`` flattened
    row-major (so the first column is at positions 0, 2, 4).
    """
    _check_last(matrix, (3, 3), "matrix")
    _check_convention(convention)
    batch = matrix.shape[:-2]
    if convention == "rows":
        return matrix[..., :2, :].reshape(batch + (6,))
    return matrix[..., :, :2].reshape(batch + (6,))


def rot6d_to_axis_angle(x: torch.Tensor, convention: Rot6DConvention = "rows") -> torch.Tensor:
    """6D (..., 6) to axis-angle (..., 3); see :func:`rot6d_to_matrix` for ``convention``."""
    return matrix_to_axis_angle(rot6d_to_matrix(x, convention))


def axis_angle_to_rot6d(axis_angle: torch.Tensor, convention: Rot6DConvention = "rows") -> torch.Tensor:
    """Axis-angle (..., 3) to 6D (..., 6); see :func:`matrix_to_rot6d` for ``convention``."""
    return matrix_to_rot6d(axis_angle_to_matrix(axis_angle), convention)
