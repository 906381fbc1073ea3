"""H2ONet's input crops and the map of crop outputs back to input pixels.

The authors' test pipeline: RGB float image, box = 2D joints' tight box x1.5 clipped to the
image and made square, left hands mirrored, one bilinear affine warp to 128x128 on the *float*
image (no uint8 rounding), then ``/255`` with no mean/std normalisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from handzoo.datasets.transforms import h2onet_box, load_images, process_box, warp_crop, xyxy_to_xywh
from handzoo.errors import InputError
from handzoo.types import LEFT, side_code

__all__ = ["CropMeta", "crop_hands", "crop_box", "to_image_pixels"]


@dataclass
class CropMeta:
    """What maps crop outputs back to the input images.

    Attributes:
        inverse: (N, 2, 3) float64 maps crop pixels -> input pixels (mirroring included).
        flipped: (N,) bool, True for left hands (mirrored crops).
        boxes: (N, 4) ``xywh`` crop boxes in input pixels.
        image_sizes: (N, 2) ``(H, W)`` of the inputs.
    """

    inverse: torch.Tensor
    flipped: torch.Tensor
    boxes: np.ndarray
    image_sizes: np.ndarray

    def select(self, index: slice | Sequence[int]) -> CropMeta:
        """Meta of a subset of the crops."""
        return CropMeta(self.inverse[index], self.flipped[index], self.boxes[index], self.image_sizes[index])


def crop_box(h: int, w: int, box_xyxy: np.ndarray | None, joints2d: np.ndarray | None) -> np.ndarray:
    """The authors' crop box (``xywh``) from 2D joints, a tight hand box, or the whole image.

    A hand box is treated like the joints' tight box (expanded 1.5x, clipped, made square).
    """
    if joints2d is not None:
        return h2onet_box(joints2d, w, h)
    if box_xyxy is not None:
        b = np.asarray(box_xyxy, dtype=np.float64)
        return h2onet_box(np.array([[b[0], b[1]], [b[2], b[3]]]), w, h)
    whole = process_box(xyxy_to_xywh([0, 0, w - 1, h - 1]), w, h, aspect_ratio=1.0, expansion=1.0, strict=False)
    return whole if whole is not None else np.array([0.0, 0.0, w - 1.0, h - 1.0])


def _as_rows(value: Any, n: int, tail: tuple[int, ...], name: str) -> np.ndarray | None:
    if value is None:
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numeric, got {type(value).__name__}") from None
    if arr.size != n * int(np.prod(tail)):
        raise InputError(f"{name} must have shape ({n}, {', '.join(map(str, tail))}) for {n} image(s), got {arr.shape}")
    arr = arr.reshape(n, *tail)
    if not np.isfinite(arr).all():
        raise InputError(f"{name} contains NaN or infinite values")
    return arr


def _sides(side: Any, n: int) -> list[int]:
    if side is None:
        return [0] * n
    items = [side] * n if isinstance(side, (str, int, np.integer)) else list(np.asarray(side).reshape(-1))
    if len(items) != n:
        raise InputError(f"side must be one value or one per image ({n}), got {len(items)}")
    try:
        return [side_code(s.item() if hasattr(s, "item") else s) for s in items]
    except ValueError as exc:
        raise InputError(str(exc), hint="use 'right'/'left' or 0/1") from None


def crop_hands(
    images: Any, boxes: Any, joints2d: Any, side: Any, size: int, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, CropMeta]:
    """Crop one hand per image to ``size`` x ``size`` RGB in [0, 1], left hands mirrored.

    Args:
        images: one image or a list (see :func:`handzoo.datasets.transforms.load_images`).
        boxes: (N, 4) ``xyxy`` tight hand boxes or None.
        joints2d: (N, 21, 2) pixels or None (takes precedence over ``boxes``).
        side: ``'right'``/``'left'``/0/1, one or per image (default right).
        size: crop size.
        device: device of the returned tensors.

    Returns:
        ``(crops (N, 3, size, size) float32, meta)``.

    Raises:
        InputError: for unreadable images or badly shaped boxes/joints/sides.
    """
    imgs = load_images(images)
    n = len(imgs)
    bx = _as_rows(boxes, n, (4,), "boxes")
    jt = _as_rows(joints2d, n, (21, 2), "joints2d")
    sides = _sides(side, n)
    crops, invs, boxes_out, sizes = [], [], [], []
    for i, img in enumerate(imgs):
        h, w = img.shape[:2]
        box = crop_box(h, w, None if bx is None else bx[i], None if jt is None else jt[i])
        res = warp_crop(img.astype(np.float32), box, size, flip=sides[i] == LEFT)
        crops.append(res.image)
        invs.append(res.inverse)
        boxes_out.append(res.box)
        sizes.append((h, w))
    batch = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous().div_(255.0).to(device)
    meta = CropMeta(
        inverse=torch.as_tensor(np.stack(invs), dtype=torch.float64, device=device),
        flipped=torch.tensor([s == LEFT for s in sides], dtype=torch.bool, device=device),
        boxes=np.stack(boxes_out),
        image_sizes=np.asarray(sizes, dtype=np.int64),
    )
    return batch, meta


def to_image_pixels(points: torch.Tensor, meta: CropMeta) -> torch.Tensor:
    """Map (N, J, 2) crop-pixel points to input-image pixels (un-mirroring left hands)."""
    inv = meta.inverse.to(points.device)
    p = points.to(inv.dtype)
    out = torch.einsum("nij,nkj->nki", inv[:, :, :2], p) + inv[:, None, :, 2]
    return out.to(points.dtype)
