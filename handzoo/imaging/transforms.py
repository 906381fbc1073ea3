"""Image transforms shared by the methods' preprocessing, each with the map back to input pixels.

Every geometric transform returns the 2x3 affine matrix ``M`` that maps a pixel of its input to
the corresponding pixel of its output (``[x', y'] = M @ [x, y, 1]``), so outputs (keypoints,
boxes) can be mapped back with :func:`invert_affine` and :func:`apply_affine`. Matrices compose
with :func:`compose_affine`.

Pixel convention (the package's, see :mod:`handzoo.geometry.flip`): integer coordinates are pixel
centres, so a horizontal flip maps ``x -> W - 1 - x``. Boxes are ``xywh`` (top-left corner, width,
height) in the functions that reproduce the authors' code (they all use ``xywh``) and ``xyxy``
in :class:`~handzoo.types.Sample`; :func:`xyxy_to_xywh` / :func:`xywh_to_xyxy` convert.

The methods' box rules (how a method turns a box or 2D joints into its crop) live in their
plugins and are built from the generic parts here (:func:`keypoint_box`, :func:`process_box`).
Images are loaded by :func:`handzoo.query.load_image` (re-exported here).

:func:`warp_crop` is the affine crop of the authors' ``generate_patch_image`` (box centre to the
patch centre ``(W/2, H/2)``, box size to the patch size, optional scale, rotation in degrees and
horizontal flip) done with ``cv2.warpAffine`` and bilinear sampling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from handzoo.errors import InputError
from handzoo.query import describe_value, load_image, load_images

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "CropResult",
    "load_image",
    "load_images",
    "xyxy_to_xywh",
    "xywh_to_xyxy",
    "keypoint_box",
    "sanitize_box",
    "process_box",
    "crop_transform",
    "flip_transform",
    "scale_transform",
    "compose_affine",
    "invert_affine",
    "apply_affine",
    "warp_affine",
    "warp_crop",
    "crop_matrix",
    "warp_crops_torch",
    "convert_colour",
    "normalize_image",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# --------------------------------------------------------------------------------------------
# boxes


def xyxy_to_xywh(box: np.ndarray | Sequence[float]) -> np.ndarray:
    """Convert (..., 4) boxes ``x0, y0, x1, y1`` to ``x, y, w, h``."""
    b = np.asarray(box, dtype=np.float64)
    out = b.copy()
    out[..., 2:] = b[..., 2:] - b[..., :2]
    return out


def xywh_to_xyxy(box: np.ndarray | Sequence[float]) -> np.ndarray:
    """Convert (..., 4) boxes ``x, y, w, h`` to ``x0, y0, x1, y1``."""
    b = np.asarray(box, dtype=np.float64)
    out = b.copy()
    out[..., 2:] = b[..., :2] + b[..., 2:]
    return out


def _points2d(points: Any, valid: Any = None) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise InputError(f"points must have shape (N, 2), got {tuple(p.shape)}")
    p = p[:, :2]
    if valid is not None:
        v = np.asarray(valid).reshape(-1).astype(bool)
        if v.shape[0] != p.shape[0]:
            raise InputError(f"valid has {v.shape[0]} entries for {p.shape[0]} points")
        p = p[v]
    p = p[np.all(np.isfinite(p), axis=1)]
    if p.shape[0] == 0:
        raise InputError("no valid points to build a box from", hint="at least one finite, valid 2D point is needed")
    return p


def keypoint_box(points: Any, valid: Any = None, expansion: float = 1.0) -> np.ndarray:
    """Tight box of 2D points, scaled about its centre (the methods' ``get_bbox``).

    Args:
        points: (N, 2+) pixel coordinates.
        valid: optional (N,) mask of points to use.
        expansion: factor applied to width and height.

    Returns:
        (4,) float64 ``xywh``.
    """
    p = _points2d(points, valid)
    lo, hi = p.min(0), p.max(0)
    c = (lo + hi) / 2.0
    wh = (hi - lo) * expansion
    return np.array([c[0] - wh[0] / 2, c[1] - wh[1] / 2, wh[0], wh[1]], dtype=np.float64)


def sanitize_box(box_xywh: Any, img_w: int, img_h: int, strict: bool = True) -> np.ndarray | None:
    """Clip an ``xywh`` box to the image like the methods' ``sanitize_bbox``.

    The top-left corner is clamped to the image, the bottom-right to ``(W - 1, H - 1)`` with the
    authors' ``w - 1`` convention. Returns None for a degenerate box: ``strict`` (Hand4Whole)
    rejects a zero-width result, non-strict (HandOccNet / H2ONet) accepts it.
    """
    x, y, w, h = (float(v) for v in np.asarray(box_xywh, dtype=np.float64).reshape(4))
    x1 = max(0.0, x)
    y1 = max(0.0, y)
    x2 = min(img_w - 1.0, x1 + max(0.0, w - 1.0))
    y2 = min(img_h - 1.0, y1 + max(0.0, h - 1.0))
    ok = (x2 > x1 and y2 > y1) if strict else (x2 >= x1 and y2 >= y1)
    if w * h > 0 and ok:
        return np.array([x1, y1, x2 - x1, y2 - y1], dtype=np.float64)
    return None


def process_box(
    box_xywh: Any,
    img_w: int,
    img_h: int,
    aspect_ratio: float = 1.0,
    expansion: float = 1.25,
    strict: bool = True,
) -> np.ndarray | None:
    """The methods' ``process_bbox``: sanitize, grow to ``aspect_ratio`` (w/h), then scale.

    Args:
        box_xywh: (4,) box.
        img_w, img_h: image size (for the clipping step).
        aspect_ratio: target width / height (the network input's).
        expansion: factor applied to both sides after the aspect fix.
        strict: degenerate-box rule of :func:`sanitize_box`.

    Returns:
        (4,) ``xywh`` centred where the sanitized box was, or None when degenerate.
    """
    b = sanitize_box(box_xywh, img_w, img_h, strict=strict)
    if b is None:
        return None
    w, h = b[2], b[3]
    cx, cy = b[0] + w / 2.0, b[1] + h / 2.0
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    w, h = w * expansion, h * expansion
    return np.array([cx - w / 2.0, cy - h / 2.0, w, h], dtype=np.float64)


# --------------------------------------------------------------------------------------------
# affine maps


def _as_affine(m: Any) -> np.ndarray:
    a = np.asarray(m, dtype=np.float64)
    if a.shape == (3, 3):
        a = a[:2]
    if a.shape != (2, 3):
        raise InputError(f"an affine transform must be 2x3 (or 3x3), got shape {a.shape}")
    return a


def compose_affine(*mats: Any) -> np.ndarray:
    """Compose 2x3 maps applied left to right: ``compose_affine(A, B)`` is B after A."""
    out = np.eye(3)
    for m in mats:
        h = np.vstack([_as_affine(m), [0.0, 0.0, 1.0]])
        out = h @ out
    return out[:2].copy()


def invert_affine(m: Any) -> np.ndarray:
    """Inverse of a 2x3 affine map.

    Raises:
        InputError: for a singular map.
    """
    a = _as_affine(m)
    lin = a[:, :2]
    det = float(np.linalg.det(lin))
    if abs(det) < 1e-12:
        raise InputError("affine transform is singular and cannot be inverted")
    inv = np.linalg.inv(lin)
    return np.hstack([inv, -inv @ a[:, 2:]])


def apply_affine(m: Any, points: Any) -> np.ndarray:
    """Map (..., 2+) points through a 2x3 transform; extra columns (depth, score) are kept."""
    a = _as_affine(m)
    p = np.asarray(points, dtype=np.float64)
    if p.ndim < 1 or p.shape[-1] < 2:
        raise InputError(f"points must have shape (..., 2), got {tuple(p.shape)}")
    out = p.copy()
    out[..., :2] = p[..., :2] @ a[:, :2].T + a[:, 2]
    return out


def crop_transform(
    center: Sequence[float],
    size: Sequence[float],
    out_size: Sequence[int],
    scale: float = 1.0,
    rot: float = 0.0,
) -> np.ndarray:
    """The authors' ``gen_trans_from_patch_cv``: box centre -> patch centre, box size -> patch.

    Args:
        center: (cx, cy) box centre in input pixels.
        size: (w, h) box size in input pixels.
        out_size: (W, H) of the patch.
        scale: the box is enlarged by this factor first (augmentation).
        rot: in-plane rotation in degrees (counter-clockwise in the image as the authors').

    Returns:
        2x3 float64 map input pixels -> patch pixels.
    """
    cx, cy = float(center[0]), float(center[1])
    sw, sh = float(size[0]) * scale, float(size[1]) * scale
    dw, dh = float(out_size[0]), float(out_size[1])
    if sw <= 0 or sh <= 0 or dw <= 0 or dh <= 0:
        raise InputError(f"crop box and output must have positive size, got box {sw}x{sh}, output {dw}x{dh}")
    r = math.pi * rot / 180.0
    cs, sn = math.cos(r), math.sin(r)
    # columns: where the box's half-right and half-down vectors go in the input
    src = np.array([[cs * sw / 2, -sn * sh / 2], [sn * sw / 2, cs * sh / 2]])
    dst = np.diag([dw / 2, dh / 2])
    lin = dst @ np.linalg.inv(src)
    t = np.array([dw / 2, dh / 2]) - lin @ np.array([cx, cy])
    return np.hstack([lin, t[:, None]])


def flip_transform(width: int | float) -> np.ndarray:
    """2x3 map of a horizontal image flip: ``x -> W - 1 - x``."""
    return np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0]])


def scale_transform(sx: float, sy: float | None = None) -> np.ndarray:
    """2x3 map of a resize by (sx, sy) under the pixel-centre convention (``cv2.resize``)."""
    sy = sx if sy is None else sy
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5]])


def _check_image(image: Any, name: str = "image") -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"{name} must be a non-empty (H, W) or (H, W, C) numpy array, got {describe_value(image)}")
    return image


def _out_size(out_size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(out_size, (int, np.integer)):
        w = h = int(out_size)
    else:
        w, h = (int(v) for v in out_size)
    if w <= 0 or h <= 0:
        raise InputError(f"output size must be positive, got {w}x{h}")
    return w, h


def warp_affine(
    image: np.ndarray,
    m: Any,
    out_size: int | Sequence[int],
    interpolation: int = cv2.INTER_LINEAR,
    border_value: float | Sequence[float] = 0,
) -> np.ndarray:
    """``cv2.warpAffine`` with a 2x3 map (input -> output pixels) and output size (W, H)."""
    _check_image(image)
    w, h = _out_size(out_size)
    bv = tuple(border_value) if isinstance(border_value, Sequence) else border_value
    return cv2.warpAffine(image, _as_affine(m), (w, h), flags=interpolation, borderValue=bv)


@dataclass
class CropResult:
    """The output of :func:`warp_crop`.

    Attributes:
        image: the patch (same dtype and channels as the input).
        transform: 2x3 map input pixels -> patch pixels (the flip included).
        inverse: 2x3 map patch pixels -> input pixels.
        flipped: whether the patch is mirrored.
        box: the ``xywh`` box that was cropped (before ``scale``).
    """

    image: np.ndarray
    transform: np.ndarray
    inverse: np.ndarray
    flipped: bool
    box: np.ndarray

    def to_input(self, points: Any) -> np.ndarray:
        """Map patch-pixel points (..., 2+) back to input pixels."""
        return apply_affine(self.inverse, points)

    def to_patch(self, points: Any) -> np.ndarray:
        """Map input-pixel points (..., 2+) into the patch."""
        return apply_affine(self.transform, points)


def warp_crop(
    image: np.ndarray,
    box_xywh: Any,
    out_size: int | Sequence[int],
    scale: float = 1.0,
    rot: float = 0.0,
    flip: bool = False,
    interpolation: int = cv2.INTER_LINEAR,
    border_value: float | Sequence[float] = 0,
) -> CropResult:
    """Crop a box to a patch with one affine warp (the authors' ``generate_patch_image``).

    With ``flip`` the result equals the authors' flip-then-crop: the image is mirrored
    (``x -> W - 1 - x``) and the box centre moves with it; the returned ``transform`` includes
    the mirror, so mapping outputs back through ``inverse`` lands in the *unflipped* input.

    Args:
        image: (H, W[, C]) array.
        box_xywh: box to crop, in input pixels.
        out_size: patch size ``(W, H)`` or one int for a square.
        scale, rot: augmentation (box scale factor, rotation in degrees).
        flip: mirror horizontally (left hands for right-hand-only methods).
        interpolation, border_value: ``cv2.warpAffine`` options (bilinear, black border).
    """
    img = _check_image(image)
    box = np.asarray(box_xywh, dtype=np.float64).reshape(4)
    m = crop_matrix(img.shape[1], box, out_size, scale=scale, rot=rot, flip=flip)
    patch = warp_affine(img, m, _out_size(out_size), interpolation=interpolation, border_value=border_value)
    return CropResult(image=patch, transform=m, inverse=invert_affine(m), flipped=bool(flip), box=box)


def crop_matrix(
    image_width: int,
    box_xywh: Any,
    out_size: int | Sequence[int],
    scale: float = 1.0,
    rot: float = 0.0,
    flip: bool = False,
) -> np.ndarray:
    """The 2x3 map (input pixels -> patch pixels) :func:`warp_crop` warps with, without warping.

    Args:
        image_width: W of the input (the mirror is ``x -> W - 1 - x``).
        box_xywh, out_size, scale, rot, flip: as :func:`warp_crop`.

    Raises:
        InputError: a box that is not finite or has no area.
    """
    box = np.asarray(box_xywh, dtype=np.float64).reshape(4)
    if not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        raise InputError(f"crop box must be finite with positive size, got xywh {box.tolist()}")
    w_out, h_out = _out_size(out_size)
    cx, cy = box[0] + box[2] / 2.0, box[1] + box[3] / 2.0
    pre = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    if flip:
        pre = flip_transform(image_width)
        cx = image_width - cx - 1.0
    crop = crop_transform((cx, cy), box[2:], (w_out, h_out), scale=scale, rot=rot)
    return compose_affine(pre, crop)


def warp_crops_torch(
    images: Any,
    inverse: Any,
    out_size: int | Sequence[int],
    image_index: Any = None,
) -> Any:
    """Bilinear affine crops on the images' device (``grid_sample``): the GPU twin of :func:`warp_crop`.

    Equals ``cv2.warpAffine`` (bilinear, black border; OpenCV's float-coordinate bilinear) to
    float32 rounding: the crops of :func:`warp_crop` on the float image to ~1e-3 in 0..255
    units. No host sync: the maps travel to the device with the images' stream.

    Args:
        images: (B, C, H, W) tensor (any real dtype; uint8 is read as 0..255 floats), or a list
            of (C, H, W) tensors of any sizes on one device.
        inverse: (N, 2, 3) maps patch pixels -> input pixels (``CropResult.inverse``), numpy or
            tensor.
        out_size: patch ``(W, H)`` or one int.
        image_index: (N,) which image each crop reads (default: crop i reads image i).

    Returns:
        (N, C, H_out, W_out) float32 crops on the images' device, in the images' value range.
    """
    import torch

    w_out, h_out = _out_size(out_size)
    if isinstance(images, torch.Tensor):
        device = images.device
        groups = None
    else:
        if not images:
            raise InputError("warp_crops_torch needs at least one image")
        device = images[0].device
        groups = images
    inv = torch.as_tensor(np.asarray(inverse, dtype=np.float64) if not isinstance(inverse, torch.Tensor) else inverse)
    inv = inv.to(device=device, dtype=torch.float32, non_blocking=True).reshape(-1, 2, 3)
    n = inv.shape[0]
    idx = np.arange(n) if image_index is None else np.asarray(image_index, dtype=np.int64).reshape(n)
    ys, xs = torch.meshgrid(
        torch.arange(h_out, device=device, dtype=torch.float32),
        torch.arange(w_out, device=device, dtype=torch.float32),
        indexing="ij",
    )
    pix = torch.stack((xs, ys, torch.ones_like(xs)), -1).reshape(1, -1, 3)  # (1, P, 3)
    src = pix @ inv.transpose(1, 2)  # (N, P, 2) input pixels
    out = torch.empty(n, (images.shape[1] if groups is None else groups[0].shape[0]), h_out, w_out, device=device)
    if groups is None:
        sizes = {(int(images.shape[-2]), int(images.shape[-1])): list(range(n))}
    else:
        sizes = {}
        for k in range(n):
            sizes.setdefault(tuple(int(v) for v in groups[idx[k]].shape[-2:]), []).append(k)
    for (h, w), rows in sizes.items():
        every = len(rows) == n
        sel = slice(None) if every else torch.as_tensor(rows, device=device)
        if groups is None:
            batch = images if image_index is None else images[torch.as_tensor(idx[rows], device=device)]
        else:
            batch = torch.stack([groups[idx[k]] for k in rows])
        s = src[sel]
        # pixel centres (align_corners=False): x -> (2x + 1) / W - 1
        grid = torch.stack(((s[..., 0] + 0.5) * (2.0 / w) - 1.0, (s[..., 1] + 0.5) * (2.0 / h) - 1.0), -1)
        crops = torch.nn.functional.grid_sample(
            batch.to(torch.float32), grid.reshape(len(rows), h_out, w_out, 2),
            mode="bilinear", padding_mode="zeros", align_corners=False,
        )  # fmt: skip
        if every:
            return crops
        out[sel] = crops
    return out


# --------------------------------------------------------------------------------------------
# colour and value transforms


def convert_colour(image: Any, src: str = "RGB", dst: str = "BGR") -> Any:
    """Reorder the colour channels (last axis for numpy, axis -3 for torch) from ``src`` to ``dst``.

    Only RGB <-> BGR exist; SMHR, for one, runs on BGR input.
    """
    src, dst = src.upper(), dst.upper()
    for o in (src, dst):
        if o not in ("RGB", "BGR"):
            raise InputError(f"unknown colour order {o!r}", hint="use 'RGB' or 'BGR'")
    if src == dst:
        return image
    if isinstance(image, np.ndarray):
        if image.ndim < 3 or image.shape[-1] != 3:
            raise InputError(f"colour conversion needs (..., H, W, 3) arrays, got shape {image.shape}")
        return np.ascontiguousarray(image[..., ::-1])
    import torch

    if isinstance(image, torch.Tensor):
        if image.ndim < 3 or image.shape[-3] != 3:
            raise InputError(f"colour conversion needs (..., 3, H, W) tensors, got shape {tuple(image.shape)}")
        return image.flip(-3)
    raise InputError(f"cannot convert the colour order of {describe_value(image)}")


def normalize_image(
    image: Any,
    scale: float = 1.0 / 255.0,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> Any:
    """``(image * scale - mean) / std`` as float32.

    numpy input is channels-last (..., C); torch input is channels-first (..., C, H, W). ``mean``
    and ``std`` are per channel in the input's channel order and default to 0 and 1.
    """
    if isinstance(image, np.ndarray):
        out = image.astype(np.float32) * np.float32(scale)
        if mean is not None:
            out -= np.asarray(mean, dtype=np.float32)
        if std is not None:
            out /= np.asarray(std, dtype=np.float32)
        return out
    import torch

    if isinstance(image, torch.Tensor):
        out = image.float() * scale
        shape = (-1, 1, 1)
        if mean is not None:
            out = out - torch.as_tensor(mean, dtype=out.dtype, device=out.device).view(shape)
        if std is not None:
            out = out / torch.as_tensor(std, dtype=out.dtype, device=out.device).view(shape)
        return out
    raise InputError(f"cannot normalise {describe_value(image)}")
