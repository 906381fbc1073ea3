"""Pillow's bilinear ``Image.resize`` of uint8 crops on the images' device, bit for bit.

Pillow resamples separably (a horizontal pass, rounded to uint8, then a vertical pass) with
integer weights: per output pixel a window of ``2 ceil(scale) + 1`` taps (wider when
downscaling: the filter is stretched by the scale, an antialiasing average), weights computed in
float64, normalised, then fixed point with 22 fractional bits, and each sum rounded with
``+ 2^21 >> 22`` and clipped. :func:`pil_resize_crops` does the same with integer tensor ops
(gathers, no host sync), several resizes in a row, for crops of any boxes of any images, so a
method whose authors cropped and resized with PIL gets the same pixels on a GPU (checked against
Pillow in the tests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from handzoo.errors import InputError

__all__ = ["pil_coefficients", "pil_resize_crops"]

_BITS = 22  # Pillow's PRECISION_BITS for 8-bit images


def pil_coefficients(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pillow's bilinear taps for resizing ``in_size`` pixels to ``out_size`` (whole extent).

    Returns:
        ``(first, weights)``: (out,) int64 first source pixel of each window and (out, K) int64
        fixed-point weights (zeros past each window's end).
    """
    scale = float(in_size) / out_size
    filterscale = max(scale, 1.0)
    support = 1.0 * filterscale
    ksize = int(math.ceil(support)) * 2 + 1
    first = np.zeros(out_size, dtype=np.int64)
    weights = np.zeros((out_size, ksize), dtype=np.int64)
    ss = 1.0 / filterscale
    for xx in range(out_size):
        center = 0.0 + (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size) - xmin
        k = [max(0.0, 1.0 - abs((x + xmin - center + 0.5) * ss)) for x in range(xmax)]
        ww = 0.0
        for w in k:
            ww += w
        if ww != 0.0:
            k = [w / ww for w in k]
        first[xx] = xmin
        weights[xx, :xmax] = [int(0.5 + w * (1 << _BITS)) if w >= 0 else int(-0.5 + w * (1 << _BITS)) for w in k]
    return first, weights


def _pass(src: Any, start: Any, firsts: Any, weights: Any, axis: int) -> Any:
    """One separable pass: out[..., o] = round(sum_k src[..., start + first[o] + k] * w[o, k]) along ``axis``.

    ``src`` is (N, C, H, W) int64; ``start`` (N,) offsets into the axis; ``firsts`` (N, O) and
    ``weights`` (N, O, K) per crop.
    """

    n, c = src.shape[:2]
    length = src.shape[axis]
    o, k = weights.shape[1:]
    acc = None
    for j in range(k):
        pos = (start[:, None] + firsts + j).clamp(0, length - 1)  # (N, O); zero weights past a window
        if axis == 3:
            idx = pos[:, None, None, :].expand(n, c, src.shape[2], o)
        else:
            idx = pos[:, None, :, None].expand(n, c, o, src.shape[3])
        term = src.gather(axis, idx) * (weights[:, None, None, :, j] if axis == 3 else weights[:, None, :, None, j])
        acc = term if acc is None else acc + term
    return ((acc + (1 << (_BITS - 1))) >> _BITS).clamp_(0, 255)


def pil_resize_crops(
    images: Sequence[Any],
    boxes: Any,
    sizes: Sequence[int],
    image_index: Any = None,
) -> Any:
    """Square crops ``image[y0:y1 + 1, x0:x1 + 1]`` resized with Pillow's bilinear filter to each of ``sizes`` in turn.

    Equals ``Image.fromarray(crop).resize((s, s), Image.BILINEAR)`` applied for every ``s``.

    Args:
        images: (C, H, W) uint8 tensors on one device (any sizes).
        boxes: (N, 4) int ``x0, y0, x1, y1`` inclusive, inside their images.
        sizes: output sides, e.g. ``(320, 256)``.
        image_index: (N,) which image each box crops (default: box i crops image i).

    Returns:
        (N, C, s, s) uint8 with ``s = sizes[-1]``, on the images' device.
    """
    import torch

    if not images:
        raise InputError("pil_resize_crops needs at least one image")
    b = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    n = b.shape[0]
    idx = np.arange(n) if image_index is None else np.asarray(image_index, dtype=np.int64).reshape(n)
    device = images[0].device
    w_in, h_in = b[:, 2] - b[:, 0] + 1, b[:, 3] - b[:, 1] + 1
    if np.any(w_in <= 0) or np.any(h_in <= 0):
        raise InputError(f"crop boxes must be non-empty, got {b.tolist()}")
    # the crops' rows, all images padded to one size (the padding is never read with a weight)
    hmax = max(int(im.shape[1]) for im in images)
    wmax = max(int(im.shape[2]) for im in images)
    stack = torch.stack([torch.nn.functional.pad(im, (0, wmax - im.shape[2], 0, hmax - im.shape[1])) for im in images])
    rows_max = int(h_in.max())
    row_idx = torch.as_tensor(np.minimum(b[:, 1:2] + np.arange(rows_max), hmax - 1)).to(device)
    img_idx = torch.as_tensor(idx).to(device)
    x = stack[img_idx[:, None], :, row_idx].permute(0, 2, 1, 3).to(torch.int64)  # (N, C, rows_max, W)
    xstart = torch.as_tensor(b[:, 0]).to(device)
    ystart = torch.zeros(n, dtype=torch.int64, device=device)
    cur_w, cur_h = w_in, h_in
    for s in sizes:
        s = int(s)
        for axis, cur, start in ((3, cur_w, xstart), (2, cur_h, ystart)):
            tables = [pil_coefficients(int(v), s) for v in cur]
            k = max(t[1].shape[1] for t in tables)
            firsts = np.stack([t[0] for t in tables])
            weights = np.zeros((n, s, k), dtype=np.int64)
            for i, t in enumerate(tables):
                weights[i, :, : t[1].shape[1]] = t[1]
            ft = torch.as_tensor(firsts).to(device)
            wt = torch.as_tensor(weights).to(device)
            x = _pass(x, start, ft, wt, axis)
        cur_w = cur_h = np.full(n, s)
        xstart = ystart = torch.zeros(n, dtype=torch.int64, device=device)
    return x.to(torch.uint8)
