"""DIGIT's crop: one box around both hands -> a 256x256 RGB patch in [0, 1].

The authors (InterHand2.6M's code lineage) take the two-hand box ``x, y, w, h``, grow it to the
crop's aspect ratio and by 1.25 (``process_bbox``), and warp the **uint8** image with one bilinear
affine map (``cv2.warpAffine``, black border) whose 2x3 matrices are built from float32 points
(``gen_trans_from_patch_cv``); the patch is then divided by 255 (no mean/std). The arithmetic
here follows those float32 steps so that the patch is bit-identical to theirs.

Box rule for any image (the authors have none; their issue #1): all boxes given for an image are
merged into their union (one crop holds both hands); without a box the whole image is the box.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from handzoo.errors import InputError

__all__ = ["DigitCrops", "union_box", "expand_box", "crop_matrices", "crop_images"]


def union_box(boxes: np.ndarray | None, size: tuple[int, int]) -> np.ndarray:
    """``x0, y0, x1, y1`` around every box of one image (the whole image when none).

    Args:
        boxes: (N, 4) boxes ``x0, y0, x1, y1`` or None.
        size: ``(H, W)`` of the image.
    """
    if boxes is None or len(boxes) == 0:
        return np.array([0.0, 0.0, float(size[1]), float(size[0])])
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.array([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])


def expand_box(box_xyxy: np.ndarray, aspect_ratio: float = 1.0, expansion: float = 1.25) -> np.ndarray:
    """The authors' ``process_bbox`` in float32: aspect fix, then ``expansion`` on both sides.

    Returns:
        (4,) float32 ``x, y, w, h``.

    Raises:
        InputError: a box with no area.
    """
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    b = np.array([x0, y0, x1 - x0, y1 - y0], dtype=np.float32)
    if not np.all(np.isfinite(b)) or b[2] <= 0 or b[3] <= 0:
        raise InputError(
            f"the box around the hands must have a positive size, got x0, y0, x1, y1 = {[x0, y0, x1, y1]}",
            hint="give boxes as x0, y0, x1, y1 with x1 > x0 and y1 > y0",
        )
    w, h = b[2], b[3]
    half = np.float32(2.0)
    cx, cy = b[0] + w / half, b[1] + h / half
    ar = np.float32(aspect_ratio)
    if w > ar * h:
        h = w / ar
    elif w < ar * h:
        w = h * ar
    out = np.empty(4, dtype=np.float32)
    out[2] = w * np.float32(expansion)
    out[3] = h * np.float32(expansion)
    out[0] = cx - out[2] / half
    out[1] = cy - out[3] / half
    return out


def crop_matrices(box_xywh: np.ndarray, out_size: tuple[int, int] = (256, 256)) -> tuple[np.ndarray, np.ndarray]:
    """2x3 maps image -> patch and patch -> image, built from float32 points like the authors'.

    Args:
        box_xywh: (4,) float32 box (already expanded).
        out_size: ``(W, H)`` of the patch.

    Returns:
        ``(trans, inv_trans)``, float32 values (returned as float64 arrays).
    """
    b = np.asarray(box_xywh, dtype=np.float32)
    cx = float(b[0] + np.float32(0.5) * b[2])
    cy = float(b[1] + np.float32(0.5) * b[3])
    w, h = float(b[2]), float(b[3])
    centre = np.array([cx, cy], dtype=np.float32)
    src = np.stack(
        [
            centre,
            centre + np.array([0.0, h * 0.5], dtype=np.float32),
            centre + np.array([w * 0.5, 0.0], dtype=np.float32),
        ]
    ).astype(np.float32)
    dw, dh = float(out_size[0]), float(out_size[1])
    dc = np.array([dw * 0.5, dh * 0.5], dtype=np.float32)
    dst = np.stack(
        [dc, dc + np.array([0.0, dh * 0.5], dtype=np.float32), dc + np.array([dw * 0.5, 0.0], dtype=np.float32)]
    ).astype(np.float32)
    trans = cv2.getAffineTransform(src, dst).astype(np.float32)
    inv = cv2.getAffineTransform(dst, src).astype(np.float32)
    return trans.astype(np.float64), inv.astype(np.float64)


@dataclass
class DigitCrops:
    """The crops of a batch and how to map them back.

    Attributes:
        images: (B, 3, H, W) float32 in [0, 1].
        boxes: (B, 4) float32 ``x, y, w, h`` boxes that were cropped (after expansion).
        trans: (B, 2, 3) image -> patch maps.
        inv_trans: (B, 2, 3) patch -> image maps.
    """

    images: torch.Tensor
    boxes: np.ndarray
    trans: np.ndarray
    inv_trans: np.ndarray


def crop_images(
    images: list[np.ndarray],
    boxes: list[np.ndarray | None],
    out_size: tuple[int, int] = (256, 256),
    expansion: float = 1.25,
) -> DigitCrops:
    """Crop each image around the union of its boxes (the whole image without boxes).

    Args:
        images: RGB uint8 (H, W, 3) images.
        boxes: per image (N_i, 4) ``x0, y0, x1, y1`` or None.
        out_size: ``(W, H)`` of the patch (256x256 for DIGIT).
        expansion: growth of the box after the aspect fix (1.25; 1.0 for a whole image).
    """
    w_out, h_out = out_size
    patches, bxs, tr, inv = [], [], [], []
    for img, bx in zip(images, boxes):
        given = bx is not None and len(bx) > 0
        box = expand_box(union_box(bx, img.shape[:2]), w_out / h_out, expansion if given else 1.0)
        t, it = crop_matrices(box, (w_out, h_out))
        patch = cv2.warpAffine(img, t.astype(np.float32), (w_out, h_out), flags=cv2.INTER_LINEAR)
        patches.append(patch)
        bxs.append(box)
        tr.append(t)
        inv.append(it)
    if patches:
        arr = torch.from_numpy(np.stack(patches)).permute(0, 3, 1, 2).float().div_(255.0)
    else:
        arr = torch.zeros(0, 3, h_out, w_out)
    return DigitCrops(
        images=arr.contiguous(),
        boxes=np.stack(bxs) if bxs else np.zeros((0, 4), np.float32),
        trans=np.stack(tr) if tr else np.zeros((0, 2, 3)),
        inv_trans=np.stack(inv) if inv else np.zeros((0, 2, 3)),
    )
