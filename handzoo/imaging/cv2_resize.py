"""OpenCV's uint8 bilinear ``cv2.resize`` on the images' device, bit for bit.

``cv2.resize(img, (w, h))`` (``INTER_LINEAR``) on uint8 images works in fixed point: per output
column a source column and two 11-bit weights from float32 coordinates (``(d + 0.5) / s - 0.5``,
clamped at the borders), a horizontal pass kept as int32 sums, then a vertical pass that its
vectorised code computes as ``((S0 >> 4) * b0 >> 16) + ((S1 >> 4) * b1 >> 16) + 2 >> 2`` (rows
past the borders repeat the edge row, their weights unclamped). :func:`resize_linear_u8`
reproduces that with int32 tensor ops (no host sync), so a method whose authors resized uint8
images with OpenCV gets the same pixels on a GPU (checked against ``cv2.resize`` in the tests,
down- and upscaling, at widths whose ``3 w`` is a multiple of the vector width: 128, 224, 384).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from handzoo.errors import InputError

__all__ = ["resize_coefficients", "resize_linear_u8"]


@lru_cache(maxsize=64)
def resize_coefficients(src: int, dst: int, clamp: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OpenCV's linear-resize taps along one axis: (dst,) first and second source index and (dst, 2) int32 weights.

    ``clamp``: the column rule (a coordinate left of 0 or right of the last pixel takes that pixel
    with weight 2048); rows keep their weights and repeat the edge row instead.
    """
    scale = 1.0 / (dst / src)
    fx = ((np.arange(dst, dtype=np.float64) + 0.5) * scale - 0.5).astype(np.float32)
    sx = np.floor(fx).astype(np.int64)
    fx = (fx - sx.astype(np.float32)).astype(np.float32)
    if clamp:
        low, high = sx < 0, sx >= src - 1
        fx[low | high] = 0.0
        sx[low] = 0
        sx[high] = src - 1
    w = np.stack((np.rint((np.float32(1.0) - fx) * np.float32(2048)), np.rint(fx * np.float32(2048))), 1)
    return np.clip(sx, 0, src - 1), np.clip(sx + 1, 0, src - 1), w.astype(np.int32)


def resize_linear_u8(image: Any, size: tuple[int, int]) -> Any:
    """``cv2.resize(image, (W, H))`` of a (C, H_in, W_in) uint8 tensor, on its device.

    Args:
        image: (C, H, W) uint8 tensor.
        size: ``(W, H)`` of the output.

    Returns:
        (C, H_out, W_out) uint8, equal to OpenCV's.
    """
    import torch

    if image.dtype != torch.uint8 or image.dim() != 3:
        raise InputError(f"resize_linear_u8 takes a (C, H, W) uint8 tensor, got {image.dtype} {tuple(image.shape)}")
    w_out, h_out = int(size[0]), int(size[1])
    dev = image.device
    x0, x1, xw = (
        torch.as_tensor(a).to(dev, non_blocking=True) for a in resize_coefficients(image.shape[2], w_out, True)
    )
    y0, y1, yw = (
        torch.as_tensor(a).to(dev, non_blocking=True) for a in resize_coefficients(image.shape[1], h_out, False)
    )
    im = image.to(torch.int32)
    rows = im[:, :, x0] * xw[:, 0] + im[:, :, x1] * xw[:, 1]  # (C, H_in, W_out), 11-bit fixed point
    s0 = (rows[:, y0] >> 4).clamp_(-32768, 32767)
    s1 = (rows[:, y1] >> 4).clamp_(-32768, 32767)
    b0, b1 = yw[:, 0, None], yw[:, 1, None]
    out = (((s0 * b0) >> 16) + ((s1 * b1) >> 16) + 2) >> 2
    return out.clamp_(0, 255).to(torch.uint8)
