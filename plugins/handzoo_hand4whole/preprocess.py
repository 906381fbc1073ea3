"""Input handling of the hand model: a validated query -> 256x256 crops, as the authors.

Per hand (``demo/hand/demo_hand.py`` of the Pose2Pose branch): the ``xywh`` box is clipped to the
image, made square and enlarged 1.25x (:func:`hand4whole_box`, the method's box rule), the
float32 image is cropped with one bilinear affine warp, mirrored first for a left hand
(:func:`handzoo.imaging.transforms.warp_crop`), and scaled to [0, 1] RGB (no mean/std).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from handzoo.errors import InputError
from handzoo.imaging.transforms import (
    crop_matrix,
    invert_affine,
    process_box,
    warp_crop,
    warp_crops_torch,
    xyxy_to_xywh,
)
from handzoo.query import HandQuery
from handzoo.types import LEFT

__all__ = ["HandCrops", "hand4whole_box", "intrinsics", "crop_hands"]


def hand4whole_box(box_xywh: Any, img_w: int, img_h: int) -> np.ndarray | None:
    """Hand4Whole's (Pose2Pose) crop box for a hand box: clipped, square, x1.25 (None if empty)."""
    return process_box(box_xywh, img_w, img_h, aspect_ratio=1.0, expansion=1.25, strict=True)


@dataclass
class HandCrops:
    """Crops of every hand of a batch of images, flattened over images.

    Attributes:
        images: (N, 3, H, W) float32 in [0, 1], left hands mirrored.
        image_index: (N,) which input image each crop comes from.
        slot: (N,) position of the hand within its image's boxes.
        side: (N,) RIGHT/LEFT codes.
        boxes: (N, 4) float64 ``xywh`` boxes actually cropped (square, 1.25x).
        num_images: B.
        max_hands: the largest number of hands in one image (the padded H of the output).
        image_sizes: (B, 2) (height, width) of the inputs.
    """

    images: torch.Tensor
    image_index: np.ndarray
    slot: np.ndarray
    side: np.ndarray
    boxes: np.ndarray
    num_images: int
    max_hands: int
    image_sizes: np.ndarray


def intrinsics(query: HandQuery) -> torch.Tensor | None:
    """(B, 3, 3) float64 intrinsics of the query's images, or None when not given."""
    if query.K is None:
        return None
    return torch.as_tensor(np.stack(query.K), dtype=torch.float64)


def crop_hands(
    query: HandQuery,
    input_size: tuple[int, int] = (256, 256),
    expansion_rule: Callable[[np.ndarray, int, int], np.ndarray | None] = hand4whole_box,
    device: torch.device | str = "cpu",
    on_device: bool | None = None,
) -> HandCrops:
    """Crop every hand of every image like the authors' demo.

    Args:
        query: validated input (:func:`handzoo.query.make_query`); without boxes each whole
            image is one hand crop; hands without a side are right hands (left ones mirrored).
        input_size: (H, W) of the crops.
        expansion_rule: ``f(box_xywh, W, H) -> xywh | None``, the authors' ``process_bbox``.
        device: device of the returned crops.
        on_device: warp on ``device`` (uint8 images copied there once, cropped with
            :func:`~handzoo.imaging.transforms.warp_crops_torch`, equal to the CPU crops to
            ~1e-5) instead of with OpenCV; default: on the device when it is not the CPU.

    Raises:
        InputError: a box that lies outside its image.
    """
    sizes = query.image_sizes
    sides = query.hand_sides()
    device = torch.device(device)
    gpu = device.type != "cpu" if on_device is None else bool(on_device)
    crops, index, slot, side_list, crop_boxes, invs = [], [], [], [], [], []
    h_out, w_out = input_size
    floats: dict[int, np.ndarray] = {}
    for i, j in query.hand_index():
        height, width = sizes[i]
        box = query.boxes[i][j] if query.boxes is not None else np.array([0.0, 0.0, width, height])
        side = int(sides[i][j])
        bb = expansion_rule(xyxy_to_xywh(box), width, height)
        if bb is None:
            raise InputError(
                f"box {j} of image {i} ({box.tolist()}, xyxy) is empty or outside the {width}x{height} image",
                hint="boxes are x0, y0, x1, y1 in pixels of the input image",
            )
        if gpu:
            invs.append(invert_affine(crop_matrix(width, bb, (w_out, h_out), flip=side == LEFT)))
        else:
            if i not in floats:  # the authors crop the float image (no rounding of the warp)
                floats = {i: query.images[i].astype(np.float32)}
            crop = warp_crop(floats[i], bb, (w_out, h_out), flip=side == LEFT)
            crops.append(torch.from_numpy(crop.image.transpose(2, 0, 1).copy()))
        index.append(i)
        slot.append(j)
        side_list.append(side)
        crop_boxes.append(bb)
    if gpu and invs:
        used = sorted(set(index))
        where = {i: k for k, i in enumerate(used)}
        on_dev = [torch.from_numpy(query.images[i]).to(device, non_blocking=True).permute(2, 0, 1) for i in used]
        tensor = warp_crops_torch(on_dev, np.stack(invs), (w_out, h_out), image_index=[where[i] for i in index])
        tensor = tensor.div_(255.0)
    else:
        tensor = (torch.stack(crops) / 255.0 if crops else torch.zeros(0, 3, h_out, w_out)).to(device)
    return HandCrops(
        images=tensor,
        image_index=np.asarray(index, dtype=np.int64),
        slot=np.asarray(slot, dtype=np.int64),
        side=np.asarray(side_list, dtype=np.int64),
        boxes=np.asarray(crop_boxes, dtype=np.float64).reshape(-1, 4),
        num_images=query.num_images,
        max_hands=query.max_hands,
        image_sizes=np.asarray(sizes, dtype=np.int64).reshape(-1, 2),
    )
