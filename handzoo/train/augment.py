"""Photometric augmentation shared by the methods' training transforms."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["colour_jitter", "jitter_box"]


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
