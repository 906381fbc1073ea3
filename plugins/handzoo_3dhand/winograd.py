"""Winograd F(2x2, 3x3) for the wide 3x3 convolutions of the trunk's last two stages at large batches.

A stride-1 3x3 convolution computed on 4x4 input tiles (stride 2) as 16 matrix products of
``(tiles, C_in) @ (C_in, C_out)`` between the transformed input ``B^T d B`` and the transformed
weights ``G g G^T`` (Lavin & Gray, CVPR 2016), then ``A^T m A`` gives each tile's 2x2 outputs:
2.25x fewer multiply-adds than the direct convolution. The transforms are exact in float32
(sums and differences of the input; the weights are transformed in float64 and rounded once),
and the matrix products (oneDNN inner products on float32 CPU tensors, weights pre-packed per row
count) accumulate in float32 like the direct convolution does: the float32
error is of the same size (measured on the 3D-hand trunk: smaller than oneDNN's direct kernel).

Measured at batch 32 on a 2-core AMD EPYC (CPU time, against oneDNN's direct convolution with the
same fused bias, residual and ReLU): ~20-30% less on the 8x8 ``layer4`` maps (512 channels),
~10% less on the 16x16 ``layer3`` maps (256 channels), more on ``layer2`` and ``layer1`` (the
transforms, memory-bound, outweigh the saved products). Below :data:`MIN_TILES` tiles (e.g. one
image) the module calls the direct convolution.

Tried and not used (2-core AMD EPYC, same inputs): F(4x4, 3x3) (4x fewer products; points 0, +-1,
+-2) puts model-0's vertices at 1.09-1.14x the authors' float32 noise floor even on ``layer4``
alone; on ``layer2`` the 16 products of (tiles, 128) x (128, 128) run at ~39 GMAC/s against the
direct kernel's ~53, so even with the transforms compiled (a loop kernel at ~0.3 ms per image) the
model gains under 1% at batch 32; on one image (64 tiles in ``layer3``) the products are too small
to gain anything.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from handzoo.backbones.fusion import FusedConv2d, mkldnn_available

__all__ = ["WinogradConv2d", "winograd_weight", "MIN_TILES", "CHUNK_BYTES"]

#: fewest 4x4 tiles (batch x tile rows x tile columns) for which the Winograd path is taken
MIN_TILES = 128
#: largest transformed input (16 maps) of one chunk of images, in bytes
CHUNK_BYTES = 8 * 2**20

_G = ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0.0, 0.0, 1.0))


def winograd_weight(weight: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``G g G^T`` of (C_out, C_in, 3, 3) weights as (16, C_in, C_out), computed in float64.

    Args:
        weight: the convolution's weights (any float dtype; float64 keeps the single rounding).
        dtype: dtype of the result.
    """
    if tuple(weight.shape[2:]) != (3, 3):
        raise ValueError(f"Winograd F(2x2, 3x3) needs 3x3 weights, got {tuple(weight.shape)}")
    g = torch.tensor(_G, dtype=torch.float64, device=weight.device)
    u = torch.einsum("ai,kcij,bj->abck", g, weight.detach().to(torch.float64), g)
    return u.reshape(16, weight.shape[1], weight.shape[0]).to(dtype).contiguous()


class WinogradConv2d(nn.Module):
    """A fused 3x3 stride-1 convolution (+ bias, optional residual sum, optional ReLU) that runs
    Winograd F(2x2, 3x3) for at least :data:`MIN_TILES` tiles and ``direct`` otherwise.

    Args:
        direct: the oneDNN convolution it replaces (3x3, stride 1, padding 1, no dilation or
            groups); its bias and ReLU flag are used.
        weight: the same convolution's weights in higher precision (e.g. BatchNorm folded in
            float64), transformed and rounded once; default ``direct``'s weights.
    """

    def __init__(self, direct: FusedConv2d, weight: torch.Tensor | None = None) -> None:
        super().__init__()
        w = direct.weight if weight is None else weight
        ok = (
            tuple(w.shape[2:]) == (3, 3)
            and list(direct.stride) == [1, 1]
            and list(direct.padding) == [1, 1]
            and list(direct.dilation) == [1, 1]
            and direct.groups == 1
        )
        if not ok:
            raise ValueError("WinogradConv2d replaces a 3x3, stride-1, padding-1, ungrouped convolution only")
        self.direct = direct
        self.relu = direct.relu
        self.register_buffer("u", winograd_weight(w, direct.weight.dtype), persistent=False)
        # per tile component i: (C_out, C_in) weights for oneDNN's inner product, the bias on m[1, 1]
        self.register_buffer("ut", self.u.transpose(1, 2).contiguous(), persistent=False)
        self.register_buffer("zero_bias", torch.zeros_like(direct.bias), persistent=False)
        self._packed: dict[int, list[torch.Tensor]] = {}

    def direct_for(self, shape: tuple[int, ...]) -> FusedConv2d | None:
        """``direct`` when an input of ``shape`` has fewer than :data:`MIN_TILES` tiles (the
        direct convolution runs), else None (see :class:`handzoo.backbones.fusion.FusedTrunk`)."""
        n, _, h, w = shape
        return self.direct if n * ((h + 1) // 2) * ((w + 1) // 2) < MIN_TILES else None

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        """``relu?(conv(x) + bias [+ residual])`` of a channels-last (N, C, H, W) tensor."""
        direct = self.direct_for(x.shape)
        if direct is not None:
            return direct(x, residual)
        n, c, h, w = x.shape
        th, tw = (h + 1) // 2, (w + 1) // 2
        k = self.u.shape[-1]
        out = x.new_empty(n, th, 2, tw, 2, k)  # output rows 2i + a, columns 2j + b of tile (i, j)
        # a few images at a time: the 16 transformed maps stay cache-sized (and below 32 MiB)
        chunk = max(1, CHUNK_BYTES // (16 * th * tw * max(c, k) * x.element_size()))
        nhwc = x.permute(0, 2, 3, 1)
        for start in range(0, n, chunk):
            self._tiles(nhwc[start : start + chunk], out[start : start + chunk])
        y = out.view(n, 2 * th, 2 * tw, k)
        if 2 * th != h or 2 * tw != w:
            y = y[:, :h, :w].contiguous()
        if residual is not None:
            y += residual.permute(0, 2, 3, 1)
        if self.relu:
            y.relu_()
        return y.permute(0, 3, 1, 2)

    def _tiles(self, x: torch.Tensor, out: torch.Tensor) -> None:
        """The convolution (+ bias) of (n, H, W, C) ``x`` into ``out`` (n, H/2, 2, W/2, 2, C_out)."""
        n, h, w, c = x.shape
        th, tw, k = out.shape[1], out.shape[3], out.shape[5]
        # input tiles d (4x4, stride 2) of the zero-padded map -> V = B^T d B, 16 x (tiles, C)
        xp = F.pad(x, (0, 0, 1, 2 * tw + 1 - w, 1, 2 * th + 1 - h))
        v = x.new_empty(16, n, th, tw, c)
        r0, r1, r2, r3 = (xp[:, i : i + 2 * th : 2] for i in range(4))
        for a, t in enumerate((r0 - r2, r1 + r2, r2 - r1, r1 - r3)):
            c0, c1, c2, c3 = (t[:, :, i : i + 2 * tw : 2] for i in range(4))
            torch.sub(c0, c2, out=v[4 * a])
            torch.add(c1, c2, out=v[4 * a + 1])
            torch.sub(c2, c1, out=v[4 * a + 2])
            torch.sub(c1, c3, out=v[4 * a + 3])
        m = self._products(v.view(16, -1, c))
        # A^T m A with A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]: rows, then columns into the 2x2 outputs
        s0 = [m[j] + m[4 + j] for j in range(4)]
        s1 = [m[4 + j] - m[8 + j] for j in range(4)]
        for j in range(4):
            s0[j] += m[8 + j]
            s1[j] -= m[12 + j]
        for a, s in enumerate((s0, s1)):
            s = [t.view(n, th, tw, k) for t in s]
            o0, o1 = out[:, :, a, :, 0], out[:, :, a, :, 1]
            torch.add(s[0], s[1], out=o0)
            o0 += s[2]
            torch.sub(s[1], s[2], out=o1)
            o1 -= s[3]

    def _products(self, v: torch.Tensor) -> list[torch.Tensor]:
        """The 16 products ``v[i] @ u[i]`` (rows, C_out), the bias added to ``m[1, 1]`` (i = 5).

        float32 CPU: oneDNN inner products with weights pre-packed per row count (about 1.5x
        the throughput of MKL's batched GEMM on AVX-512 AMD CPUs); else ``bmm``."""
        rows = v.shape[1]
        if v.dtype != torch.float32 or v.device.type != "cpu" or not mkldnn_available():
            m = torch.bmm(v, self.u)
            m[5] += self.direct.bias  # A^T m A takes m[1, 1] into all four outputs with weight 1
            return list(m)
        packed = self._packed.get(rows)
        if packed is None:
            if len(self._packed) > 8:
                self._packed.clear()
            packed = [torch.ops.mkldnn._reorder_linear_weight(w, rows) for w in self.ut]
            self._packed[rows] = packed
        return [
            torch.ops.mkldnn._linear_pointwise(
                v[i], packed[i], self.direct.bias if i == 5 else self.zero_bias, "none", [], ""
            )
            for i in range(16)
        ]
