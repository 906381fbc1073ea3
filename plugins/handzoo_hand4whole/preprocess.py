"""Input handling of the hand model: user images + hand boxes -> 256x256 crops, as the authors.

Per hand (``demo/hand/demo_hand.py`` of the Pose2Pose branch): the ``xywh`` box is clipped to the
image, made square and enlarged 1.25x (:func:`handzoo.datasets.transforms.hand4whole_box`), the
float32 image is cropped with one bilinear affine warp, mirrored first for a left hand
(:func:`~handzoo.datasets.transforms.warp_crop`), and scaled to [0, 1] RGB (no mean/std).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from handzoo.datasets.transforms import hand4whole_box, load_images, warp_crop, xyxy_to_xywh
from handzoo.errors import InputError
from handzoo.types import LEFT, RIGHT, side_code

__all__ = ["HandCrops", "normalize_boxes", "normalize_sides", "normalize_intrinsics", "crop_hands"]


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


def _box_array(value: Any, what: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be numbers of shape (N, 4), got {type(value).__name__}") from None
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise InputError(f"{what} must have shape (N, 4) (x0, y0, x1, y1), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{what} contains NaN or infinite values", hint="pass finite pixel coordinates")
    return arr.reshape(-1, 4)


def normalize_boxes(boxes: Any, image_sizes: list[tuple[int, int]]) -> list[np.ndarray]:
    """Per-image (N_i, 4) ``xyxy`` boxes from the forms users pass.

    Accepted: None (each whole image is one hand crop); a list with one entry per image (each
    (4,) or (N_i, 4), possibly empty); a (B, N, 4) array; for a single image, (4,) or (N, 4); for B
    images, a (B, 4) array (one hand each).
    """
    b = len(image_sizes)
    if boxes is None:
        return [np.array([[0.0, 0.0, w, h]]) for h, w in image_sizes]
    groups = (list, tuple, np.ndarray, torch.Tensor)
    if isinstance(boxes, (list, tuple)) and len(boxes) == b and all(isinstance(x, groups) for x in boxes):
        return [
            np.zeros((0, 4)) if np.size(x) == 0 else _box_array(x, f"boxes of image {i}") for i, x in enumerate(boxes)
        ]
    try:
        arr = boxes.detach().cpu().numpy() if isinstance(boxes, torch.Tensor) else np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            f"boxes must be numbers (x0, y0, x1, y1), got {type(boxes).__name__}",
            hint="pass a list with one (N_i, 4) array per image",
        ) from None
    if arr.ndim == 3 and arr.shape[0] == b:
        return [_box_array(a, f"boxes of image {i}") for i, a in enumerate(arr)]
    if b == 1:
        return [_box_array(arr, "boxes")]
    if arr.ndim == 2 and arr.shape == (b, 4):
        return [_box_array(a, f"box of image {i}") for i, a in enumerate(arr)]
    raise InputError(
        f"boxes of shape {arr.shape} do not fit {b} images",
        hint="pass a list with one (N_i, 4) array per image, a (B, N, 4) array, or a (B, 4) array",
    )


def normalize_sides(sides: Any, counts: list[int]) -> list[np.ndarray]:
    """Per-image (N_i,) side codes; None means every hand is a right hand.

    Accepted per hand: ``'right'``/``'left'`` (or ``'r'``/``'l'``), 0/1. Given as one flat list for
    a single image, a list per image, or one value for all hands.
    """
    if sides is None:
        return [np.full(n, RIGHT, dtype=np.int64) for n in counts]
    if isinstance(sides, torch.Tensor):
        sides = sides.detach().cpu().tolist()
    if isinstance(sides, (str, int, np.integer)):
        return [np.full(n, _code(sides), dtype=np.int64) for n in counts]
    seq = list(sides) if not isinstance(sides, np.ndarray) else sides.tolist()
    if len(counts) == 1 and len(seq) == counts[0] and all(isinstance(s, (str, int, np.integer)) for s in seq):
        return [np.array([_code(s) for s in seq], dtype=np.int64)]
    if len(seq) != len(counts):
        raise InputError(
            f"sides has {len(seq)} entries for {len(counts)} images", hint="give one list of sides per image"
        )
    out = []
    for i, (s, n) in enumerate(zip(seq, counts)):
        items = [s] if isinstance(s, (str, int, np.integer)) else list(s)
        if len(items) == 1 and n != 1:
            items = items * n
        if len(items) != n:
            raise InputError(f"image {i} has {n} boxes but {len(items)} sides", hint="give one side per box")
        out.append(np.array([_code(x) for x in items], dtype=np.int64))
    return out


def _code(side: Any) -> int:
    try:
        return side_code(side.item() if isinstance(side, np.generic) else side)
    except ValueError as exc:
        raise InputError(str(exc), hint="sides are 'right'/'left' or 0 (right)/1 (left)") from None


def normalize_intrinsics(K: Any, num_images: int) -> torch.Tensor | None:
    """(B, 3, 3) float64 intrinsics from one (3, 3) matrix, a (B, 3, 3) array or a list; or None."""
    if K is None:
        return None
    if isinstance(K, (list, tuple)) and len(K) == num_images and np.ndim(K[0]) == 2:
        K = np.stack([np.asarray(k.detach().cpu() if isinstance(k, torch.Tensor) else k, dtype=np.float64) for k in K])
    t = torch.as_tensor(K.detach().cpu().numpy() if isinstance(K, torch.Tensor) else np.asarray(K, dtype=np.float64))
    t = t.to(torch.float64)
    if t.shape == (3, 3):
        t = t.expand(num_images, 3, 3)
    if tuple(t.shape) != (num_images, 3, 3):
        raise InputError(f"K must be (3, 3) or ({num_images}, 3, 3), got {tuple(t.shape)}")
    if not torch.isfinite(t).all() or (t[:, 0, 0] <= 0).any() or (t[:, 1, 1] <= 0).any():
        raise InputError("K must be finite with positive focal lengths K[0, 0] and K[1, 1]")
    return t.contiguous()


def crop_hands(
    images: Any,
    boxes: Any = None,
    sides: Any = None,
    input_size: tuple[int, int] = (256, 256),
    expansion_rule: Any = hand4whole_box,
) -> HandCrops:
    """Crop every hand of every image like the authors' demo.

    Args:
        images: one image or a batch (see :func:`handzoo.datasets.transforms.load_images`).
        boxes: hand boxes ``xyxy`` in input pixels (see :func:`normalize_boxes`).
        sides: hand sides (see :func:`normalize_sides`); left hands are mirrored.
        input_size: (H, W) of the crops.
        expansion_rule: ``f(box_xywh, W, H) -> xywh | None``, the authors' ``process_bbox``.

    Raises:
        InputError: bad images, boxes or sides; a box that lies outside its image.
    """
    ims = load_images(images)
    sizes = [(im.shape[0], im.shape[1]) for im in ims]
    per_image = normalize_boxes(boxes, sizes)
    counts = [len(b) for b in per_image]
    per_side = normalize_sides(sides, counts)
    crops, index, slot, side_list, crop_boxes = [], [], [], [], []
    h_out, w_out = input_size
    for i, (im, bxs, sds) in enumerate(zip(ims, per_image, per_side)):
        if len(bxs) == 0:
            continue
        height, width = sizes[i]
        img32 = im.astype(np.float32)  # the authors crop the float image (no rounding of the warp)
        for j, (box, side) in enumerate(zip(bxs, sds)):
            bb = expansion_rule(xyxy_to_xywh(box), width, height)
            if bb is None:
                raise InputError(
                    f"box {j} of image {i} ({box.tolist()}, xyxy) is empty or outside the {width}x{height} image",
                    hint="boxes are x0, y0, x1, y1 in pixels of the input image",
                )
            crop = warp_crop(img32, bb, (w_out, h_out), flip=bool(side == LEFT))
            crops.append(torch.from_numpy(crop.image.transpose(2, 0, 1).copy()))
            index.append(i)
            slot.append(j)
            side_list.append(int(side))
            crop_boxes.append(bb)
    tensor = torch.stack(crops) / 255.0 if crops else torch.zeros(0, 3, h_out, w_out)
    return HandCrops(
        images=tensor,
        image_index=np.asarray(index, dtype=np.int64),
        slot=np.asarray(slot, dtype=np.int64),
        side=np.asarray(side_list, dtype=np.int64),
        boxes=np.asarray(crop_boxes, dtype=np.float64).reshape(-1, 4),
        num_images=len(ims),
        max_hands=max(counts) if counts else 0,
        image_sizes=np.asarray(sizes, dtype=np.int64).reshape(-1, 2),
    )
