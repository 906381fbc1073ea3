"""Perspective-correct hand crops: a virtual camera looks straight at the hand box.

The crop camera is the input camera rotated so that its optical axis passes through the box
centre (then rotated in-plane by ``angle``), with focal length scaled so that the enlarged box fills
``size`` pixels; left hands are mirrored (``x -> -x`` in the crop camera) so the network only ever
sees right hands. The image warp is the homography ``K_c M R K^-1``, exact for every pixel, and
3D points map by ``M R`` (``M = diag(-1, 1, 1)`` for left hands, identity otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["CropCamera", "crop_camera", "warp_to_crop", "DEFAULT_K"]

_MIRROR = np.diag([-1.0, 1.0, 1.0])


@dataclass
class CropCamera:
    """One hand's crop camera.

    Attributes:
        R: (3, 3) rotation (and mirror for left hands) from the input camera frame to the crop frame.
        K: (3, 3) intrinsics of the crop camera (principal point at the crop centre).
        H: (3, 3) homography from input pixels to crop pixels.
        size: crop side in pixels.
        left: whether the hand was mirrored.
    """

    R: np.ndarray
    K: np.ndarray
    H: np.ndarray
    size: int
    left: bool


def DEFAULT_K(h: int, w: int) -> np.ndarray:
    """Intrinsics assumed when none are given: focal = the longer image side, centred principal point."""
    f = float(max(h, w))
    return np.array([[f, 0.0, (w - 1) / 2.0], [0.0, f, (h - 1) / 2.0], [0.0, 0.0, 1.0]])


def _rotation_to_axis(d: np.ndarray) -> np.ndarray:
    """Rotation taking unit vector ``d`` onto +z (the shortest one)."""
    d = d / np.linalg.norm(d)
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(d, z)
    s, c = float(np.linalg.norm(v)), float(np.dot(d, z))
    if s < 1e-12:
        return np.eye(3)
    k = v / s
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * kx + (1 - c) * kx @ kx


def crop_camera(
    K: np.ndarray,
    box: np.ndarray,
    size: int,
    left: bool,
    scale: float = 1.5,
    angle: float = 0.0,
    shift: tuple[float, float] = (0.0, 0.0),
) -> CropCamera:
    """The crop camera for a hand box.

    Args:
        K: (3, 3) input intrinsics.
        box: (4,) ``x0, y0, x1, y1`` input pixels.
        size: crop side in pixels.
        left: mirror the crop (left hand).
        scale: crop side / the box's longer side.
        angle: in-plane rotation of the crop in radians (augmentation).
        shift: box-centre shift as fractions of the box's longer side (augmentation).
    """
    K = np.asarray(K, np.float64)
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(x1 - x0, y1 - y0, 1.0)
    cx = (x0 + x1) / 2 + shift[0] * side
    cy = (y0 + y1) / 2 + shift[1] * side
    ray = np.linalg.solve(K, np.array([cx, cy, 1.0]))
    R = _rotation_to_axis(ray)
    ca, sa = np.cos(angle), np.sin(angle)
    R = np.array([[ca, -sa, 0.0], [sa, ca, 0.0], [0.0, 0.0, 1.0]]) @ R
    if left:
        R = _MIRROR @ R
    f = 0.5 * (K[0, 0] + K[1, 1])
    fc = f * size / (scale * side)
    c = (size - 1) / 2.0
    Kc = np.array([[fc, 0.0, c], [0.0, fc, c], [0.0, 0.0, 1.0]])
    H = Kc @ R @ np.linalg.inv(K)
    return CropCamera(R=R, K=Kc, H=H / H[2, 2], size=int(size), left=bool(left))


def warp_to_crop(image: np.ndarray, cam: CropCamera) -> np.ndarray:
    """(size, size, 3) uint8 crop of an RGB uint8 image (black outside the image)."""
    return cv2.warpPerspective(
        image, cam.H, (cam.size, cam.size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
