"""Model-1's 24-channel stem on heatmaps that are zero outside a block around each joint.

The 21 heatmaps handzoo feeds model-1 (:func:`handzoo_3dhand.preprocess.draw_heatmaps`) are
quantised to 8 bits, so each is exactly zero outside a block of about 33x33 pixels around its
joint (sigma 4.87): about 1.7% of a 256x256 map. A convolution is linear in its input channels,
so the stem's output is the convolution of the colour channels plus, for each heatmap, the
convolution of that heatmap over the output pixels its block reaches. Done that way the stem
costs about 180 MMAC per image instead of 1.23 GMAC (the 21 dense heatmap channels are 88% of
it), which is 20% of the whole batch-1 forward on two cores.

:class:`SparseMapStem` finds each heatmap's nonzero rows and columns (a NaN or infinity counts as
nonzero), gathers the windows the blocks' output pixels read into one tensor, multiplies their
7x7 patches with the channel's weights in one batched matrix product and adds each block into
the colour convolution's output before the ReLU, in channel order. The numbers are those of the
dense stem to float32 rounding (the sums run in another order). When the blocks would cover more
than :data:`MAX_FRACTION` of the dense work (e.g. OpenPose's maps, which are nowhere exactly
zero), the dense convolution runs instead.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from handzoo.backbones.fusion import FusedConv2d

__all__ = ["SparseMapStem", "MAX_FRACTION", "map_blocks"]

#: largest share of the dense heatmap work the blocks may cover before the dense stem runs instead
MAX_FRACTION = 0.125


def _nonzero_span(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First and last True along axis 1 of an (N, L, C) mask, and whether there is any: (N, C) each."""
    any_ = mask.any(axis=1)
    first = mask.argmax(axis=1)
    last = mask.shape[1] - 1 - mask[:, ::-1].argmax(axis=1)
    return first, last, any_


def _output_size(
    h: int, w: int, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]
) -> tuple[int, int]:
    """Output rows and columns of a convolution (dilation 1) on an ``h`` x ``w`` input."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def map_blocks(
    maps: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]
) -> np.ndarray:
    """The output pixels each map channel reaches through a convolution.

    Args:
        maps: (N, C, H, W) input channels.
        kernel, stride, padding: the convolution's (rows, columns) geometry (dilation 1).

    Returns:
        (B, 6) int64 rows ``(image, channel, i0, i1, j0, j1)``: the inclusive output rows ``i0..i1``
        and columns ``j0..j1`` reached by the channel's nonzero entries (NaN and infinities count),
        one row per channel that has any, in image then channel order.
    """
    n, c, h, w = maps.shape
    mag = maps.permute(0, 2, 3, 1).abs()  # (N, H, W, C); a sum of magnitudes is 0 only if all are
    rows = mag.sum(2).ne(0).numpy()  # (N, H, C)
    cols = mag.sum(1).ne(0).numpy()  # (N, W, C)
    r0, r1, has = _nonzero_span(rows)
    c0, c1, _ = _nonzero_span(cols)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = _output_size(h, w, kernel, stride, padding)
    # output i reads input rows sh*i - ph .. sh*i - ph + kh - 1
    i0 = np.maximum(0, -((kh - 1 - ph - r0) // sh))
    i1 = np.minimum(ho - 1, (r1 + ph) // sh)
    j0 = np.maximum(0, -((kw - 1 - pw - c0) // sw))
    j1 = np.minimum(wo - 1, (c1 + pw) // sw)
    keep = has & (i0 <= i1) & (j0 <= j1)
    img, ch = np.nonzero(keep)
    return np.stack([img, ch, i0[keep], i1[keep], j0[keep], j1[keep]], axis=1).astype(np.int64)


class SparseMapStem(nn.Module):
    """A folded 24-channel stem (``relu(conv(x) + bias)``) that convolves each heatmap only
    around its nonzero block (see the module docstring).

    Args:
        stem: the folded stem (float32 CPU, groups 1, dilation 1, with its ReLU).
        colour_channels: leading input channels convolved densely (3: RGB); the rest are maps.
        max_fraction: see :data:`MAX_FRACTION`.
    """

    def __init__(self, stem: FusedConv2d, colour_channels: int = 3, max_fraction: float = MAX_FRACTION) -> None:
        super().__init__()
        weight = stem.weight.contiguous()
        if stem.groups != 1 or list(stem.dilation) != [1, 1] or not stem.relu:
            raise ValueError("SparseMapStem needs a plain convolution (groups 1, dilation 1) with its ReLU")
        if weight.shape[1] <= colour_channels:
            raise ValueError(f"SparseMapStem needs more than {colour_channels} input channels")
        self.dense = stem
        c_out, _, kh, kw = weight.shape
        colour = nn.Conv2d(colour_channels, c_out, (kh, kw), tuple(stem.stride), tuple(stem.padding), bias=True)
        with torch.no_grad():
            colour.weight.copy_(weight[:, :colour_channels])
            colour.bias.copy_(stem.bias)
        self.colour = FusedConv2d(colour, relu=False)
        # (maps, kh*kw, C_out): row p of a patch times column o of its channel's matrix
        maps_w = weight[:, colour_channels:].permute(1, 2, 3, 0).reshape(-1, kh * kw, c_out).contiguous()
        self.register_buffer("map_weight", maps_w, persistent=False)
        self.colour_channels = colour_channels
        self.kernel, self.stride, self.padding = (kh, kw), tuple(stem.stride), tuple(stem.padding)
        self.max_fraction = max_fraction

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``relu(conv(x) + bias)`` of a float32 CPU (N, C, H, W) batch, channels-last out."""
        maps = x[:, self.colour_channels :]
        blocks = map_blocks(maps, self.kernel, self.stride, self.padding)
        span_h = int((blocks[:, 3] - blocks[:, 2]).max()) + 1 if len(blocks) else 0
        span_w = int((blocks[:, 5] - blocks[:, 4]).max()) + 1 if len(blocks) else 0
        n, c, h, w = maps.shape
        out_h, out_w = _output_size(h, w, self.kernel, self.stride, self.padding)
        if len(blocks) * span_h * span_w > self.max_fraction * n * c * out_h * out_w:
            return self.dense(x)
        y = self.colour(x[:, : self.colour_channels])
        if len(blocks):
            self._add_blocks(y, maps, blocks, span_h, span_w)
        return y.relu_()

    def _add_blocks(self, y: torch.Tensor, maps: torch.Tensor, blocks: np.ndarray, span_h: int, span_w: int) -> None:
        """``y[n, :, i0:i1+1, j0:j1+1] += conv(maps[n, c])`` there, for every block, in order."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        h, w = maps.shape[2:]
        win_h, win_w = sh * (span_h - 1) + kh, sw * (span_w - 1) + kw
        windows = maps.new_zeros(len(blocks), win_h, win_w)
        for k, (n, c, i0, _, j0, _) in enumerate(blocks.tolist()):
            top, left = sh * i0 - ph, sw * j0 - pw  # the window's corner in the input (may be outside)
            r0, r1 = max(top, 0), min(top + win_h, h)
            c0, c1 = max(left, 0), min(left + win_w, w)
            windows[k, r0 - top : r1 - top, c0 - left : c1 - left] = maps[n, c, r0:r1, c0:c1]
        patches = windows.as_strided(
            (len(blocks), span_h, span_w, kh, kw), (win_h * win_w, sh * win_w, sw, win_w, 1)
        ).reshape(len(blocks), span_h * span_w, kh * kw)
        channels = torch.from_numpy(np.ascontiguousarray(blocks[:, 1]))
        contrib = torch.bmm(patches, self.map_weight.index_select(0, channels))
        contrib = contrib.view(len(blocks), span_h, span_w, -1)
        y_hwc = y.permute(0, 2, 3, 1)  # a view: y is channels-last
        for k, (n, _, i0, i1, j0, j1) in enumerate(blocks.tolist()):
            y_hwc[n, i0 : i1 + 1, j0 : j1 + 1] += contrib[k, : i1 - i0 + 1, : j1 - j0 + 1]
