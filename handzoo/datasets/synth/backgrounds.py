"""Procedural backgrounds: gradients, fractal noise, stripes/checkers and random shapes."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["BACKGROUND_KINDS", "random_background", "random_colour"]

BACKGROUND_KINDS = ("gradient", "noise", "pattern", "shapes")


def random_colour(rng: np.random.Generator, lo: float = 0.05, hi: float = 0.95) -> np.ndarray:
    """A random RGB colour in [lo, hi] (float)."""
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(0, 200), rng.uniform(lo * 255, hi * 255)]]], dtype=np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32) / 255.0


def _gradient(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    a, b = random_colour(rng), random_colour(rng)
    ang = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    t = np.cos(ang) * xs / w + np.sin(ang) * ys / h
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    if rng.random() < 0.5:  # radial
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        t = np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2) / np.hypot(w, h)
        t = np.clip(t * rng.uniform(1.0, 2.0), 0, 1)
    return a * (1 - t[..., None]) + b * t[..., None]


def _noise(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    field = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    base = int(rng.integers(2, 6))
    for octave in range(5):
        n = base * (2**octave)
        grid = rng.random((n, n)).astype(np.float32)
        field += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= rng.uniform(0.4, 0.65)
    field = (field / total - 0.5) * rng.uniform(1.5, 3.0) + 0.5
    field = np.clip(field, 0, 1)
    cols = np.stack([random_colour(rng) for _ in range(3)])
    t = field[..., None]
    return np.where(t < 0.5, cols[0] * (1 - 2 * t) + cols[1] * 2 * t, cols[1] * (2 - 2 * t) + cols[2] * (2 * t - 1))


def _pattern(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    a, b = random_colour(rng), random_colour(rng)
    ang = rng.uniform(0, np.pi)
    period = rng.uniform(8, 48)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    u = np.cos(ang) * xs + np.sin(ang) * ys
    v = -np.sin(ang) * xs + np.cos(ang) * ys
    if rng.random() < 0.5:
        t = (np.sin(2 * np.pi * u / period) > 0).astype(np.float32)
    else:
        t = ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float32)
    t = cv2.GaussianBlur(t, (0, 0), rng.uniform(0.5, 2.0))
    return a * (1 - t[..., None]) + b * t[..., None]


def _shapes(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    img = np.empty((h, w, 3), np.float32)
    img[:] = random_colour(rng)
    for _ in range(int(rng.integers(4, 14))):
        c = tuple(float(x) for x in random_colour(rng))
        x0, y0 = int(rng.integers(-w // 4, w)), int(rng.integers(-h // 4, h))
        if rng.random() < 0.5:
            x1, y1 = x0 + int(rng.integers(w // 10, w // 2)), y0 + int(rng.integers(h // 10, h // 2))
            cv2.rectangle(img, (x0, y0), (x1, y1), c, -1)
        else:
            cv2.circle(img, (x0, y0), int(rng.integers(w // 16, w // 4)), c, -1)
    return cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.5))


def random_background(
    rng: np.random.Generator, height: int, width: int, kind: str | None = None
) -> tuple[np.ndarray, str]:
    """A random (H, W, 3) float32 background in [0, 1] and its kind.

    Kinds: ``gradient`` (linear or radial), ``noise`` (fractal value noise through a 3-colour
    ramp), ``pattern`` (stripes or checkers), ``shapes`` (rectangles and discs); an optional blur
    imitates depth of field.
    """
    kind = kind or BACKGROUND_KINDS[int(rng.integers(len(BACKGROUND_KINDS)))]
    fn = {"gradient": _gradient, "noise": _noise, "pattern": _pattern, "shapes": _shapes}[kind]
    img = fn(rng, height, width).astype(np.float32)
    if rng.random() < 0.4:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(1.0, 4.0))
    return np.clip(img, 0.0, 1.0), kind
