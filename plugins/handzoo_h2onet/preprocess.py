"""H2ONet's input crops and the map of crop outputs back to input pixels.

The authors' test pipeline: RGB float image, box = 2D joints' tight box x1.5 clipped to the
image and made square, left hands mirrored, one bilinear affine warp to 128x128 on the *float*
image (no uint8 rounding), then ``/255`` with no mean/std normalisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from handzoo.imaging.transforms import (
    crop_matrix,
    invert_affine,
    keypoint_box,
    process_box,
    warp_crop,
    warp_crops_torch,
    xyxy_to_xywh,
)
from handzoo.query import HandQuery
from handzoo.types import LEFT

__all__ = ["CropMeta", "crop_hands", "crop_box", "h2onet_box", "to_image_pixels"]


def h2onet_box(joints2d: np.ndarray, img_w: int, img_h: int, valid: np.ndarray | None = None) -> np.ndarray:
    """H2ONet's (and HandOccNet's) crop box (``xywh``): joints' box x1.5, clipped, made square.

    Falls back to the whole image (``[0, 0, W - 1, H - 1]``) when degenerate, as their test code.
    """
    box = process_box(keypoint_box(joints2d, valid, 1.5), img_w, img_h, aspect_ratio=1.0, expansion=1.0, strict=False)
    if box is None:
        return np.array([0.0, 0.0, img_w - 1.0, img_h - 1.0])
    return box


@dataclass
class CropMeta:
    """What maps crop outputs back to the input images.

    Attributes:
        inverse: (N, 2, 3) float64 maps crop pixels -> input pixels (mirroring included).
        flipped: (N,) bool, True for left hands (mirrored crops).
        boxes: (N, 4) ``xywh`` crop boxes in input pixels.
        image_sizes: (N, 2) ``(H, W)`` of the inputs.
        image_index: (N,) input image of each crop (default: crop i is image i).
        slot: (N,) position of each crop among its image's hands (default: 0).
        num_images: B (default N).
        max_hands: padded number of hands per image H (default 1).
    """

    inverse: torch.Tensor
    flipped: torch.Tensor
    boxes: np.ndarray
    image_sizes: np.ndarray
    image_index: np.ndarray | None = None
    slot: np.ndarray | None = None
    num_images: int | None = None
    max_hands: int = 1

    def __post_init__(self) -> None:
        n = int(self.flipped.shape[0])
        if self.image_index is None:
            self.image_index = np.arange(n, dtype=np.int64)
        if self.slot is None:
            self.slot = np.zeros(n, dtype=np.int64)
        if self.num_images is None:
            self.num_images = n

    def select(self, index: slice | Sequence[int]) -> CropMeta:
        """Meta of a subset of the crops, each its own image (one hand each)."""
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


def crop_hands(
    query: HandQuery, size: int, device: torch.device | str = "cpu", on_device: bool | None = None
) -> tuple[torch.Tensor, CropMeta]:
    """Crop every hand of a query to ``size`` x ``size`` RGB in [0, 1], left hands mirrored.

    Each hand's crop box comes from its 2D joints when given, else its box, else the whole image
    (:func:`crop_box`); hands without a side are right hands.

    Args:
        query: validated input (:func:`handzoo.query.make_query`).
        size: crop size.
        device: device of the returned tensors.
        on_device: warp on ``device`` (the uint8 images are copied there once and cropped with
            :func:`~handzoo.imaging.transforms.warp_crops_torch`, equal to the CPU crops to
            ~1e-5) instead of with OpenCV on the host; default: on the device when it is not the CPU.

    Returns:
        ``(crops (N, 3, size, size) float32, meta)`` over all N hands, image by image.
    """
    sides = query.hand_sides()
    device = torch.device(device)
    gpu = device.type != "cpu" if on_device is None else bool(on_device)
    crops, invs, boxes_out, sizes, flips, index, slot = [], [], [], [], [], [], []
    for i, j in query.hand_index():
        img = query.images[i]
        h, w = img.shape[:2]
        box = crop_box(
            h,
            w,
            None if query.boxes is None else query.boxes[i][j],
            None if query.joints2d is None else query.joints2d[i][j],
        )
        flip = bool(sides[i][j] == LEFT)
        if gpu:
            invs.append(invert_affine(crop_matrix(w, box, size, flip=flip)))
            boxes_out.append(np.asarray(box, dtype=np.float64))
        else:
            res = warp_crop(img.astype(np.float32), box, size, flip=flip)
            crops.append(res.image)
            invs.append(res.inverse)
            boxes_out.append(res.box)
        sizes.append((h, w))
        flips.append(flip)
        index.append(i)
        slot.append(j)
    n = len(invs)
    if n and gpu:
        used = sorted(set(index))
        where = {i: k for k, i in enumerate(used)}
        on_dev = [torch.from_numpy(query.images[i]).to(device, non_blocking=True).permute(2, 0, 1) for i in used]
        batch = warp_crops_torch(on_dev, np.stack(invs), size, image_index=[where[i] for i in index]).div_(255.0)
    elif n:
        batch = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous().div_(255.0).to(device)
    else:
        batch = torch.zeros(0, 3, size, size, device=device)
    meta = CropMeta(
        inverse=torch.as_tensor(np.asarray(invs, dtype=np.float64).reshape(n, 2, 3), device=device),
        flipped=torch.tensor(flips, dtype=torch.bool, device=device),
        boxes=np.asarray(boxes_out, dtype=np.float64).reshape(n, 4),
        image_sizes=np.asarray(sizes, dtype=np.int64).reshape(n, 2),
        image_index=np.asarray(index, dtype=np.int64),
        slot=np.asarray(slot, dtype=np.int64),
        num_images=query.num_images,
        max_hands=query.max_hands,
    )
    return batch, meta


def to_image_pixels(points: torch.Tensor, meta: CropMeta) -> torch.Tensor:
    """Map (N, J, 2) crop-pixel points to input-image pixels (un-mirroring left hands)."""
    inv = meta.inverse.to(points.device)
    p = points.to(inv.dtype)
    out = torch.einsum("nij,nkj->nki", inv[:, :, :2], p) + inv[:, None, :, 2]
    return out.to(points.dtype)
