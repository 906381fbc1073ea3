"""Augmentation shared by the methods' training transforms: colour, box jitter, in-plane rotation.

An in-plane rotation of the crop is a roll of the camera about its optical axis: the 3D targets
(camera frame) and the global rotation turn with the same 3x3 roll (:func:`camera_roll`,
:func:`roll_global_orient`), so that the rolled joints project onto the rotated crop's 2D joints.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from handzoo.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

__all__ = ["camera_roll", "colour_jitter", "jitter_box", "roll_global_orient", "sample_rotation"]


def colour_jitter(image: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Random saturation, brightness, per-channel gain, contrast, blur and noise.

    Args:
        image: (H, W, 3) RGB, uint8 or float in [0, 1].
        rng: random generator.
        strength: 0 returns the image as float, 1 the usual ranges (saturation +-40 %,
            brightness +-30 %, gain +-10 %, contrast +-30 %, blur 30 %, noise 50 % of the time).

    Returns:
        (H, W, 3) float32 in [0, 1].
    """
    x = image.astype(np.float32) / (255.0 if image.dtype == np.uint8 else 1.0)
    if strength <= 0:
        return x
    s = float(strength)
    grey = x.mean(2, keepdims=True)
    x = grey + (x - grey) * rng.uniform(1 - 0.4 * s, 1 + 0.4 * s)
    x = x * rng.uniform(1 - 0.3 * s, 1 + 0.3 * s) * rng.uniform(1 - 0.1 * s, 1 + 0.1 * s, 3)[None, None]
    m = x.mean()
    x = m + (x - m) * rng.uniform(1 - 0.3 * s, 1 + 0.3 * s)
    if rng.random() < 0.3 * s:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.3, 1.2))
    if rng.random() < 0.5 * s:
        x = x + rng.normal(0, rng.uniform(0, 0.03), x.shape).astype(np.float32)
    return np.clip(x, 0.0, 1.0).astype(np.float32)


def jitter_box(box: np.ndarray, rng: np.random.Generator, scale: float = 0.15, shift: float = 0.08) -> np.ndarray:
    """A ``x0, y0, x1, y1`` box scaled by ``exp(U(-scale, scale))`` and shifted by ``U(-shift, shift)`` of its side."""
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(x1 - x0, y1 - y0, 1.0)
    cx = (x0 + x1) / 2 + rng.uniform(-shift, shift) * side
    cy = (y0 + y1) / 2 + rng.uniform(-shift, shift) * side
    k = float(np.exp(rng.uniform(-scale, scale)))
    hw, hh = (x1 - x0) / 2 * k, (y1 - y0) / 2 * k
    return np.array([cx - hw, cy - hh, cx + hw, cy + hh])


def sample_rotation(rng: np.random.Generator, degrees: float = 30.0, prob: float = 0.6) -> float:
    """An in-plane rotation in degrees: ``degrees * clip(N(0, 1), -2, 2)`` with probability ``prob``, else 0.

    The law of H2ONet's and Hand4Whole's training (30 degrees, 60 % of the samples).
    """
    if degrees and rng.random() < prob:
        return float(degrees) * float(np.clip(rng.normal(), -2.0, 2.0))
    return 0.0


def camera_roll(affine: np.ndarray) -> np.ndarray:
    """The (3, 3) rotation about the camera's z axis that an image map's in-plane rotation is.

    Args:
        affine: (2, 3) or (2, 2) map input pixels -> crop pixels, a similarity (rotation, uniform
            scale, translation) *without* a mirror; give the map before any flip.

    Returns:
        ``Rz`` such that camera-frame points ``X @ Rz.T``, projected with the same focal length
        (scaled) and the principal point mapped through ``affine``, land where ``affine`` puts
        the projections of ``X``.
    """
    lin = np.asarray(affine, np.float64)[:2, :2]
    c, s = lin[:, 0] / np.linalg.norm(lin[:, 0])
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def roll_global_orient(roll: np.ndarray, global_orient: np.ndarray) -> np.ndarray:
    """The axis-angle (3,) global rotation ``roll @ R(global_orient)``: the hand turned with the camera roll."""
    R = (
        np.asarray(roll, np.float64)
        @ axis_angle_to_matrix(torch.as_tensor(np.asarray(global_orient, np.float64))[None])[0].numpy()
    )
    return matrix_to_axis_angle(torch.as_tensor(R)[None])[0].numpy()
