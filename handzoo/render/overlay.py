"""Overlays for looking at results: 2D keypoints, boxes and meshes on images, grids, PNG files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from handzoo.errors import RenderError
from handzoo.geometry.joint_orders import HANDZOO21_BONES

__all__ = [
    "HAND_BONES",
    "FINGER_COLORS",
    "draw_keypoints",
    "draw_boxes",
    "overlay_mesh",
    "image_grid",
    "save_png",
]

HAND_BONES = HANDZOO21_BONES  # the handzoo21 skeleton, re-exported for drawing code
# RGB per finger: thumb, index, middle, ring, pinky
FINGER_COLORS: tuple[tuple[int, int, int], ...] = (
    (230, 60, 60),
    (240, 200, 40),
    (60, 200, 90),
    (50, 150, 240),
    (200, 80, 220),
)
_WRIST_COLOR = (250, 250, 250)


def _as_uint8_image(image: Any) -> np.ndarray:
    arr = np.asarray(image.detach().cpu() if hasattr(image, "detach") else image)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise RenderError(f"image must be (H, W, 3), got shape {arr.shape}")
    if arr.dtype != np.uint8:
        arr = (np.clip(arr.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.ascontiguousarray(arr)


def _hands(points: Any, width: int) -> np.ndarray:
    p = np.asarray(points.detach().cpu() if hasattr(points, "detach") else points, dtype=np.float64)
    if p.ndim == 2:
        p = p[None]
    if p.ndim != 3 or p.shape[1] != 21 or p.shape[2] < 2:
        raise RenderError(f"keypoints must be (21, 2) or (N, 21, 2), got shape {p.shape}")
    return p[..., :2]


def draw_keypoints(
    image: Any,
    keypoints: Any,
    valid: Any = None,
    radius: int | None = None,
    thickness: int | None = None,
    color: tuple[int, int, int] | None = None,
) -> np.ndarray:
    """Draw hand skeletons (handzoo21 order) on a copy of an RGB image.

    Args:
        image: (H, W, 3) uint8 or float in [0, 1].
        keypoints: (21, 2) or (N, 21, 2) pixel coordinates.
        valid: optional (21,) or (N, 21) mask of joints to draw.
        radius, thickness: marker radius and bone width (default from the image size).
        color: one RGB colour for everything (default: one colour per finger).

    Returns:
        (H, W, 3) uint8 RGB.
    """
    img = _as_uint8_image(image).copy()
    h, w = img.shape[:2]
    pts = _hands(keypoints, w)
    if valid is None:
        vis = np.ones(pts.shape[:2], dtype=bool)
    else:
        vis = np.asarray(valid, dtype=bool).reshape(pts.shape[:2])
    vis &= np.all(np.isfinite(pts), -1)
    base = max(1.0, min(h, w) / 224.0)
    r = radius if radius is not None else max(1, int(round(2.0 * base)))
    t = thickness if thickness is not None else max(1, int(round(1.5 * base)))
    shift = 4  # sub-pixel precision for cv2 drawing
    scale = 1 << shift
    for hand, v in zip(pts, vis):
        q = np.round(hand * scale).astype(np.int64)
        for a, b in HAND_BONES:
            if v[a] and v[b]:
                c = color or FINGER_COLORS[(b - 1) // 4]
                cv2.line(img, tuple(int(x) for x in q[a]), tuple(int(x) for x in q[b]), c, t, cv2.LINE_AA, shift)
        for j in range(21):
            if v[j]:
                c = color or (_WRIST_COLOR if j == 0 else FINGER_COLORS[(j - 1) // 4])
                center = tuple(int(x) for x in q[j])
                cv2.circle(img, center, r * scale, c, -1, cv2.LINE_AA, shift)
                cv2.circle(img, center, r * scale, (20, 20, 20), 1, cv2.LINE_AA, shift)
    return img


def draw_boxes(image: Any, boxes: Any, color: tuple[int, int, int] = (255, 255, 0), thickness: int = 1) -> np.ndarray:
    """Draw (N, 4) ``xyxy`` boxes on a copy of an RGB image."""
    img = _as_uint8_image(image).copy()
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    for x0, y0, x1, y1 in b:
        if np.all(np.isfinite([x0, y0, x1, y1])):
            cv2.rectangle(img, (int(round(x0)), int(round(y0))), (int(round(x1)), int(round(y1))), color, thickness)
    return img


def overlay_mesh(
    image: Any,
    vertices: Any,
    faces: Any,
    K: Any,
    color: Sequence[float] | Sequence[Sequence[float]] = (0.55, 0.7, 0.95),
    alpha: float = 0.7,
    supersample: int = 2,
    backend: Any = None,
) -> np.ndarray:
    """Blend shaded meshes over an image.

    Args:
        image: (H, W, 3) RGB.
        vertices: (V, 3) camera-frame vertices, or a list of them (several hands).
        faces: (F, 3) faces shared by all meshes, or a list.
        K: (3, 3) intrinsics of ``image``.
        color: one RGB colour in [0, 1], or one per mesh.
        alpha: mesh opacity.
        supersample: anti-aliasing factor.
        backend: rasteriser backend.

    Returns:
        (H, W, 3) uint8 RGB.
    """
    from handzoo.render.renderer import render_mesh

    img = _as_uint8_image(image)
    h, w = img.shape[:2]
    multi = isinstance(vertices, (list, tuple))
    verts = list(vertices) if multi else [vertices]
    fcs = list(faces) if isinstance(faces, (list, tuple)) else [faces] * len(verts)
    cols: Any = color
    if not (isinstance(color, (list, tuple)) and color and isinstance(color[0], (list, tuple))):
        cols = [color] * len(verts)
    out = render_mesh(verts, fcs, K, (h, w), colors=list(cols), supersample=supersample, backend=backend)
    # the render is over black, i.e. already weighted by coverage
    rendered = out.image.detach().clamp(0, 1).cpu().numpy() * 255.0
    a = (out.coverage.cpu().numpy() * alpha)[..., None]
    blended = img.astype(np.float32) * (1.0 - a) + rendered * alpha
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def image_grid(images: Sequence[Any], ncols: int | None = None, pad: int = 4, fill: int = 255) -> np.ndarray:
    """Tile same-size RGB images into one grid image (row-major), separated by ``pad`` pixels."""
    ims = [_as_uint8_image(im) for im in images]
    if not ims:
        raise RenderError("image_grid needs at least one image")
    h, w = ims[0].shape[:2]
    if any(im.shape[:2] != (h, w) for im in ims):
        raise RenderError("image_grid needs images of one size")
    n = len(ims)
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    grid = np.full((nrows * h + (nrows + 1) * pad, ncols * w + (ncols + 1) * pad, 3), fill, dtype=np.uint8)
    for i, im in enumerate(ims):
        r, c = divmod(i, ncols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        grid[y : y + h, x : x + w] = im
    return grid


def save_png(path: str | Path, image: Any) -> Path:
    """Write an RGB (H, W, 3) or grey (H, W) image as PNG, creating parent folders.

    Raises:
        RenderError: if the image cannot be encoded or written.
    """
    p = Path(path)
    arr = np.asarray(image.detach().cpu() if hasattr(image, "detach") else image)
    if arr.ndim == 3:
        arr = _as_uint8_image(arr)[:, :, ::-1]
    elif arr.ndim == 2:
        arr = arr.astype(np.uint8) if arr.dtype != np.uint8 else arr
    else:
        raise RenderError(f"cannot save an array of shape {arr.shape} as an image")
    p.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(arr))
    if not ok:
        raise RenderError(f"could not encode {p} as PNG")
    try:
        p.write_bytes(buf.tobytes())
    except OSError as exc:
        raise RenderError(f"could not write {p}: {exc}", hint="check the folder exists and is writable") from exc
    return p
