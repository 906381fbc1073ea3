"""Winograd F(2x2, 3x3) for SMHR's stride-1, padding-1 3x3 convolutions at CPU inference.

A 3x3 convolution computed on 4x4 input tiles (stride 2) gives each 2x2 output block from 16
matrix products in the transformed domain instead of 36 multiply-adds per output and channel
pair: 2.25x fewer multiplications, the products as 16 oneDNN inner products with pre-packed
weights. The tiles are transformed with the exact +-1 matrices of F(2x2, 3x3); the filters are
transformed once in float64 and rounded once to float32. Its float32 error is that of a direct
convolution (about 1.1x the authors' own NCHW kernel on SMHR's fusion convolution, measured
against float64), and the tiles run in bands of a few hundred (the transformed band stays in
the caches).

Inputs and outputs are channels-last maps with a zero border (``(N, H + 2, W + 2, C)``), the
layout the transforms read without copies; ``H`` and ``W`` must be even (SMHR's maps are
multiples of 8).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

__all__ = ["Winograd3x3", "zero_border"]

# F(2x2, 3x3): filter transform G (4x3); input transform B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],
# [0,1,0,-1]] and output transform A^T = [[1,1,1,0],[0,1,-1,-1]] are applied as additions below
_G = ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0.0, 0.0, 1.0))
_PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))


def zero_border(buf: torch.Tensor, width: int = 1) -> torch.Tensor:
    """Zero the ``width``-pixel frame of a channels-last map ``(N, H, W, C)``; returns ``buf``."""
    buf[:, :width].zero_()
    buf[:, -width:].zero_()
    buf[:, :, :width].zero_()
    buf[:, :, -width:].zero_()
    return buf


def _rows(x: torch.Tensor, out: torch.Tensor, dim: int) -> None:
    """``B^T`` along ``dim`` of ``x`` (4 tile offsets, stride 2) into ``out[0..3]``."""
    n = out.shape[dim + 1]
    d = [x.narrow(dim, q, 2 * n - 1)[(slice(None),) * dim + (slice(None, None, 2),)] for q in range(4)]
    torch.sub(d[0], d[2], out=out[0])
    torch.add(d[1], d[2], out=out[1])
    torch.sub(d[2], d[1], out=out[2])
    torch.sub(d[1], d[3], out=out[3])


class Winograd3x3:
    """A float32 3x3 convolution (stride 1, padding 1, with bias) as Winograd F(2x2, 3x3).

    Args:
        weight: (K, C, 3, 3) filters (any float dtype; transformed in float64).
        bias: (K,) bias.
        band_tiles: tiles per band of matrix products (all images of the call together).
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, band_tiles: int = 512) -> None:
        g = torch.tensor(_G, dtype=torch.float64)
        u = torch.einsum("ij,kcjl,ml->imkc", g, weight.detach().to(torch.float64).cpu(), g).to(torch.float32)
        self._u = [u[i, j].contiguous() for i in range(4) for j in range(4)]  # 16 x (K, C)
        self.out_channels, self.in_channels = int(weight.shape[0]), int(weight.shape[1])
        self.bias = bias.detach().to(torch.float32).cpu().contiguous()
        self.band_tiles = int(band_tiles)
        self._packed: dict[int, list[torch.Tensor]] = {}

    def _weights(self, rows: int) -> list[torch.Tensor]:
        packed = self._packed.get(rows)
        if packed is None:
            packed = [torch.ops.mkldnn._reorder_linear_weight(u, rows) for u in self._u]
            if len(self._packed) > 4:
                self._packed.clear()
            self._packed[rows] = packed
        return packed

    def phases(self, xp: torch.Tensor) -> Iterator[tuple[int, list[torch.Tensor]]]:
        """The output in bands: ``(first tile row, [4 phases (N, rows, W/2, K)])`` with bias, no
        activation; phase ``(a, b)`` (order 00, 01, 10, 11) holds output pixels ``(2i + a, 2j + b)``.

        Args:
            xp: (N, H + 2, W + 2, C) float32 input with a zero border (any strides with
                contiguous channels).
        """
        n, hp, wp, c = xp.shape
        th, tw = (hp - 2) // 2, (wp - 2) // 2
        rows = max(1, min(th, self.band_tiles // max(1, n * tw)))
        r_buf = xp.new_empty(4, n, rows, wp, c)
        v_buf = xp.new_empty(4, 4, n, rows, tw, c)
        k = self.out_channels
        for r0 in range(0, th, rows):
            b = min(rows, th - r0)
            r, v = r_buf[:, :, :b], v_buf[:, :, :, :b]
            _rows(xp.narrow(1, 2 * r0, 2 * b + 2), r, 1)  # B^T along the rows of each tile
            _rows(r, v.transpose(0, 1), 3)  # ... then along the columns
            t = n * b * tw
            vm = v.reshape(16, t, c)
            packed = self._weights(t)
            # the bias rides on the (1, 1) product: every output sums that one with coefficient 1
            m = [
                torch.ops.mkldnn._linear_pointwise(vm[i], packed[i], self.bias if i == 5 else None, "none", [], "")
                for i in range(16)
            ]
            # A^T m A: rows first (a0 = m0 + m1 + m2, a1 = m1 - m2 - m3), then columns
            a0 = [torch.add(m[j], m[4 + j]).add_(m[8 + j]) for j in range(4)]
            a1 = [m[4 + j].sub_(m[8 + j]).sub_(m[12 + j]) for j in range(4)]
            out = []
            for a in (a0, a1):
                out.append(torch.add(a[0], a[1]).add_(a[2]).view(n, b, tw, k))
                out.append(a[1].sub_(a[2]).sub_(a[3]).view(n, b, tw, k))
            yield r0, out

    def __call__(
        self,
        xp: torch.Tensor,
        out: torch.Tensor | None = None,
        relu: bool = False,
        phase_fn: Callable[[int, int, torch.Tensor], None] | None = None,
    ) -> torch.Tensor | None:
        """``conv3x3(x) + bias`` (ReLU'd with ``relu``) written into ``out`` (N, H + 2, W + 2, K)
        (allocated with a zero border when None); or, with ``phase_fn``, each output phase handed
        to ``phase_fn(phase index, first tile row, values)`` instead (returns None)."""
        n, hp, wp, _ = xp.shape
        if phase_fn is None and out is None:
            out = zero_border(xp.new_empty(n, hp, wp, self.out_channels))
        for r0, ph in self.phases(xp):
            for idx, (a, b) in enumerate(_PHASES):
                y = ph[idx]
                if phase_fn is not None:
                    phase_fn(idx, r0, y)
                    continue
                rows = y.shape[1]
                dst = out[:, 1 + a + 2 * r0 : 1 + a + 2 * (r0 + rows) : 2, 1 + b : wp - 1 : 2]
                if relu:
                    torch.clamp_min(y, 0, out=dst)
                else:
                    dst.copy_(y)
        return out
