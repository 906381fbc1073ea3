"""Camera models: perspective (K or focal + principal point), weak perspective, un-projection.

All functions are batched torch and differentiable. The camera frame is OpenCV's (x right,
y down, z forward); pixel coordinates follow the convention of :mod:`handzoo.geometry.flip`
(integer coordinates are pixel centres).
"""

from __future__ import annotations

from typing import Literal

import torch

from handzoo.errors import InputError

__all__ = [
    "project_points",
    "perspective_projection",
    "weak_perspective_projection",
    "unproject_points",
    "intrinsics_matrix",
    "weak_perspective_to_translation",
]

_DEPTH_EPS = 1e-9


def _check(x: torch.Tensor, last: tuple[int, ...], name: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < len(last) or tuple(x.shape[x.dim() - len(last) :]) != last:
        want = "(..., " + ", ".join(map(str, last)) + ")"
        raise InputError(f"{name} must have shape {want}, got {tuple(x.shape)}")


def _safe_depth(z: torch.Tensor) -> torch.Tensor:
    # keep the sign, avoid division by exactly zero
    return torch.where(z.abs() < _DEPTH_EPS, torch.full_like(z, _DEPTH_EPS), z)


def project_points(points: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Project camera-frame points with intrinsics: ``uv = (K @ X)[:2] / Z``.

    Args:
        points: (..., N, 3) camera-frame points (metres).
        K: (..., 3, 3) intrinsics, broadcast against the batch dims of ``points``.

    Returns:
        (..., N, 2) pixel coordinates.
    """
    _check(points, (3,), "points")
    _check(K, (3, 3), "K")
    if points.dim() < 2:
        raise InputError(f"points must have shape (..., N, 3), got {tuple(points.shape)}")
    p = points @ K.to(points.dtype).transpose(-1, -2)
    return p[..., :2] / _safe_depth(p[..., 2:3])


def intrinsics_matrix(focal: torch.Tensor | float, principal_point: torch.Tensor | tuple[float, float]) -> torch.Tensor:
    """Build K (..., 3, 3) from a focal length (scalar, (...,) or (..., 2) fx, fy) and (..., 2) cx, cy."""
    pp = torch.as_tensor(principal_point)
    dtype = pp.dtype if pp.is_floating_point() else torch.get_default_dtype()
    f = torch.as_tensor(focal, dtype=dtype, device=pp.device)
    pp = pp.to(dtype)
    if pp.shape[-1:] != (2,):
        raise InputError(f"principal_point must have shape (..., 2), got {tuple(pp.shape)}")
    if f.dim() == 0 or f.shape[-1:] != (2,):
        f = torch.stack([f, f], dim=-1)
    f, pp = torch.broadcast_tensors(f, pp)
    zero, one = torch.zeros_like(f[..., 0]), torch.ones_like(f[..., 0])
    rows = [f[..., 0], zero, pp[..., 0], zero, f[..., 1], pp[..., 1], zero, zero, one]
    return torch.stack(rows, dim=-1).reshape(f.shape[:-1] + (3, 3))


def perspective_projection(
    points: torch.Tensor,
    focal: torch.Tensor | float,
    principal_point: torch.Tensor | tuple[float, float],
    translation: torch.Tensor | None = None,
) -> torch.Tensor:
    """Pinhole projection ``u = fx (x + tx) / (z + tz) + cx`` (likewise for v).

    Args:
        points: (B, N, 3) or (N, 3) points.
        focal: scalar, (B,) or (B, 2).
        principal_point: (2,) or (B, 2) pixels.
        translation: optional (B, 3) or (3,) added to the points first (camera translation).

    Returns:
        (..., N, 2) pixels.
    """
    _check(points, (3,), "points")
    if translation is not None:
        _check(translation, (3,), "translation")
        points = points + translation.to(points.dtype)[..., None, :]
    K = intrinsics_matrix(
        torch.as_tensor(focal, dtype=points.dtype, device=points.device),
        torch.as_tensor(principal_point, dtype=points.dtype, device=points.device),
    )
    return project_points(points, K)


def weak_perspective_projection(
    points: torch.Tensor,
    scale: torch.Tensor,
    trans: torch.Tensor,
    order: Literal["translate_then_scale", "scale_then_translate"] = "translate_then_scale",
) -> torch.Tensor:
    """Orthographic projection with scale and 2D translation.

    Args:
        points: (B, N, 3) points.
        scale: (B,) or (B, 1) scale ``s``.
        trans: (B, 2) translation ``(tx, ty)``.
        order: ``"translate_then_scale"``: ``uv = s * (xy + t)`` (HMR-style ``cam = (s, tx, ty)``);
            ``"scale_then_translate"``: ``uv = s * xy + t`` (t in output units, e.g. crop pixels).

    Returns:
        (B, N, 2).
    """
    _check(points, (3,), "points")
    _check(trans, (2,), "trans")
    s = scale.reshape(scale.shape[0], 1, 1) if scale.dim() >= 1 else scale
    t = trans[..., None, :]
    xy = points[..., :2]
    if order == "translate_then_scale":
        return s * (xy + t)
    if order == "scale_then_translate":
        return s * xy + t
    raise InputError(f"order must be 'translate_then_scale' or 'scale_then_translate', got {order!r}")


def weak_perspective_to_translation(
    cam: torch.Tensor, focal: float | torch.Tensor, image_size: float | torch.Tensor
) -> torch.Tensor:
    """Convert an HMR-style weak-perspective camera ``(s, tx, ty)`` in normalised crop units
    ([-1, 1] spans the crop) to the equivalent perspective translation ``(tx, ty, 2 f / (s * size))``.

    Args:
        cam: (..., 3) ``(s, tx, ty)``.
        focal: focal length in pixels of the crop.
        image_size: crop side in pixels.
    """
    _check(cam, (3,), "cam")
    s = cam[..., 0]
    tz = 2.0 * focal / (image_size * s + 1e-9)
    return torch.stack([cam[..., 1], cam[..., 2], tz], dim=-1)


def unproject_points(uv: torch.Tensor, depth: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Lift pixels with depth to camera-frame points: ``X = Z K^-1 (u, v, 1)``.

    Args:
        uv: (..., N, 2) pixels.
        depth: (..., N) or (..., N, 1) depth ``Z`` (metres).
        K: (..., 3, 3) intrinsics.

    Returns:
        (..., N, 3).
    """
    _check(uv, (2,), "uv")
    _check(K, (3, 3), "K")
    if depth.shape == uv.shape[:-1]:
        depth = depth[..., None]
    ones = torch.ones_like(uv[..., :1])
    rays = torch.cat([uv, ones], dim=-1) @ torch.linalg.inv(K.to(uv.dtype)).transpose(-1, -2)
    return rays * depth
