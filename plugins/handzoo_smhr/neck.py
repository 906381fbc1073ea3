"""SMHR's CSP-style neck: three transposed convolutions to stride 4, L2 normalisation, fusion.

``p3 = ConvT(C3 -> 256, k4 s2 p1)``, ``p4 = ConvT(C4 -> 256, k4 s4)``, ``p5 = ConvT(C5 -> 256, k8 s8)``
on the trunk's stride-8/16/32 maps, each followed by :class:`L2Norm` (a learned per-channel scale
times the unit-length feature vector of every pixel), concatenated and fused by a 3x3 convolution
without bias + BatchNorm + ReLU into one stride-4 map of 256 channels.

Inference speed-ups that keep the numbers (to float rounding): the fusion BatchNorm is folded into
the convolution (in float64, cached per weight version) and the two non-overlapping transposed
convolutions (kernel = stride) run as one matrix product each. On a float32 CPU model with oneDNN
those products use pre-packed weights (``torch.ops.mkldnn._linear_pointwise``; about 3x faster
than a plain matmul at batch 1, where the 2048 x 16384 ``p5`` weight dominates). Each branch's
L2Norm writes its result straight into its channels of one NCHW map (no concatenation or layout
copies), which the folded fusion convolution (3x3 over 768 channels) reads in NCHW whatever the
model's memory format: oneDNN's NCHW kernel is as fast there and its float32 sums are about 5x
more accurate than its NHWC ones (which alone would move the centre heatmap past the authors'
float32 noise floor). :meth:`CSPNeck.inference_maps` (the model's default CPU path) writes the
branches into one zero-framed channels-last map instead and runs the fusion convolution as
Winograd F(2x2, 3x3) on it; :meth:`CSPNeck.centre_patches` gives the direct convolution's values
at a few cells.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from handzoo.backbones.fusion import PlanCache, fold_bn, mkldnn_available, weights_key

from .winograd import Winograd3x3, zero_border

__all__ = ["L2Norm", "CSPNeck", "fold_batchnorm"]


class L2Norm(nn.Module):
    """``weight[c] * x / (||x||_2 over channels + eps)`` at every pixel.

    Args:
        channels: number of channels.
        scale: initial value of every ``weight`` (the authors use 10).
        eps: added to the norm.
    """

    def __init__(self, channels: int, scale: float = 10.0, eps: float = 1e-10) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.full((channels,), float(scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = x.pow(2).sum(dim=1, keepdim=True).sqrt() + self.eps
        return self.weight.view(1, -1, 1, 1) * torch.div(x, norm)

    def write(self, x: torch.Tensor, out: torch.Tensor) -> None:
        """The same operations on ``x`` whose *last* axis holds the channels, written into
        ``out`` (a view of x's shape, e.g. a strided slice of a larger NCHW map)."""
        norm = x.pow(2).sum(dim=-1, keepdim=True).sqrt() + self.eps
        torch.mul(self.weight, torch.div(x, norm), out=out)


def fold_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm2d, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of ``bn(conv(x))`` in eval mode as one convolution (computed in float64)."""
    w, b = fold_bn(conv.weight.detach().to(torch.float64), conv.bias, bn)
    return w.to(dtype), b.to(dtype)


def _deconv_as_matmul(x: torch.Tensor, deconv: nn.ConvTranspose2d) -> torch.Tensor:
    """A transposed convolution with kernel == stride and no padding: every input pixel writes
    its own k x k output block, i.e. one (C_in -> C_out k k) matrix product and a reshape."""
    b, c, h, w = x.shape
    k = deconv.kernel_size[0]
    weight = deconv.weight.reshape(c, -1)  # (C_in, C_out * k * k)
    y = x.permute(0, 2, 3, 1).reshape(-1, c) @ weight  # (B h w, C_out k k)
    out_c = deconv.out_channels
    y = y.reshape(b, h, w, out_c, k, k).permute(0, 3, 1, 4, 2, 5).reshape(b, out_c, h * k, w * k)
    return y + deconv.bias.view(1, -1, 1, 1)


class _PackedDeconv:
    """A non-overlapping transposed convolution (kernel == stride, no padding) as one oneDNN
    inner product with pre-packed weights: :meth:`blocks` gives the (B, h, w, k, k, C_out)
    output blocks, ``__call__`` the channels-last map (B, C_out, h k, w k)."""

    def __init__(self, deconv: nn.ConvTranspose2d) -> None:
        c_in, c_out, k, _ = deconv.weight.shape
        with torch.inference_mode(False), torch.no_grad():
            # columns in (row offset, column offset, C_out) order: the output is written NHWC
            w = deconv.weight.detach().permute(2, 3, 1, 0).reshape(k * k * c_out, c_in).contiguous()
            self.bias = deconv.bias.detach().repeat(k * k).contiguous()
        self.weight, self.k, self.c_out = w, k, c_out
        self._packed: dict[int, torch.Tensor] = {}

    def blocks(self, x: torch.Tensor) -> torch.Tensor:
        """(B, h, w, k, k, C_out): the k x k output block of every input pixel, channels last."""
        b, c, h, w = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(-1, c)
        packed = self._packed.get(rows.shape[0])
        if packed is None:
            packed = torch.ops.mkldnn._reorder_linear_weight(self.weight, rows.shape[0])
            if len(self._packed) > 8:
                self._packed.clear()
            self._packed[rows.shape[0]] = packed
        y = torch.ops.mkldnn._linear_pointwise(rows, packed, self.bias, "none", [], "")
        return y.view(b, h, w, self.k, self.k, self.c_out)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        k = self.k
        y = self.blocks(x).permute(0, 1, 3, 2, 4, 5).reshape(b, h * k, w * k, self.c_out)
        return y.permute(0, 3, 1, 2)

    @staticmethod
    def block_view(out: torch.Tensor, k: int) -> torch.Tensor:
        """A (B, C, h k, w k) map seen as the (B, h, w, k, k, C) blocks :meth:`blocks` returns."""
        b, c, hk, wk = out.shape
        return out.view(b, c, hk // k, k, wk // k, k).permute(0, 2, 4, 3, 5, 1)


class CSPNeck(nn.Module):
    """The authors' ``p3``/``p4``/``p5`` + ``pX_l2`` + ``feat``/``feat_bn`` (same names).

    Args:
        in_channels: channels of the trunk's stride-8, 16 and 32 maps.
        channels: channels of each branch and of the output (256).
        l2_scale: initial L2Norm scale (10).
        fast: at inference (eval, no autograd), fold the BatchNorm and run the non-overlapping
            transposed convolutions as matrix products (same numbers to float rounding).
    """

    def __init__(
        self,
        in_channels: Sequence[int] = (512, 1024, 2048),
        channels: int = 256,
        l2_scale: float = 10.0,
        fast: bool = True,
    ) -> None:
        super().__init__()
        self.fast = fast
        c3, c4, c5 = in_channels
        self.out_channels = channels
        self.stride = 4
        self.p3 = nn.ConvTranspose2d(c3, channels, kernel_size=4, stride=2, padding=1)
        self.p4 = nn.ConvTranspose2d(c4, channels, kernel_size=4, stride=4, padding=0)
        self.p5 = nn.ConvTranspose2d(c5, channels, kernel_size=8, stride=8, padding=0)
        self.p3_l2 = L2Norm(channels, l2_scale)
        self.p4_l2 = L2Norm(channels, l2_scale)
        self.p5_l2 = L2Norm(channels, l2_scale)
        self.feat = nn.Conv2d(3 * channels, channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.feat_bn = nn.BatchNorm2d(channels, momentum=0.01)
        self.feat_act = nn.ReLU(inplace=True)
        self._folded: tuple[tuple, torch.Tensor, torch.Tensor] | None = None
        self._plan = PlanCache()  # oneDNN plan (float32 CPU); not copied, pickled or saved

    def _onednn_plan(self, x: torch.Tensor) -> dict | None:
        """The packed ``p4``/``p5`` products and the folded NCHW ``feat`` weights, or None (not float32 CPU)."""
        if x.dtype != torch.float32 or x.device.type != "cpu" or not mkldnn_available():
            return None
        tensors = [*self.p4.parameters(), *self.p5.parameters(), self.feat.weight, *self.feat_bn.parameters()]
        tensors += [self.feat_bn.running_mean, self.feat_bn.running_var]
        key = weights_key(tensors)
        if self._plan.get("key") != key:
            with torch.inference_mode(False), torch.no_grad():
                plan = {"p4": _PackedDeconv(self.p4), "p5": _PackedDeconv(self.p5)}
                w64, b64 = fold_batchnorm(self.feat, self.feat_bn, torch.float64)
                plan["feat"] = (w64.to(torch.float32).contiguous(), b64.to(torch.float32))
                plan["feat_winograd"] = Winograd3x3(w64, b64)
            self._plan.clear()
            self._plan.update(key=key, **plan)
        return self._plan

    def inference_maps(
        self, feats: Sequence[torch.Tensor], reuse: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The float32 CPU inference maps, channels-last with zero frames, or None (no oneDNN plan:
        not float32 CPU, or ``fast`` off).

        Args:
            feats: the trunk's stride-8, 16 and 32 maps.
            reuse: write into buffers this thread keeps for the next call of the same shape (the
                ``cat`` map of a chunk at 224 is ~55 MB: a fresh one costs ~13k page faults per
                call); the maps returned are then overwritten by that call.

        Returns:
            ``cat`` (B, H + 4, W + 4, 768): the three L2-normalised branches (2-pixel frame, read by
            :meth:`centre_patches`), and ``feat`` (B, H + 2, W + 2, 256): the fusion map (1-pixel
            frame) from the folded fusion convolution as Winograd F(2x2, 3x3)
            (:class:`~handzoo_smhr.winograd.Winograd3x3`, 2.25x fewer products; its float32 error is
            that of a direct convolution).
        """
        x3, x4, x5 = feats[-3:]
        if not self.fast or self.training or torch.is_grad_enabled():
            return None
        plan = self._onednn_plan(x3)
        if plan is None:
            return None
        p3 = self.p3(x3)
        n, c, h, w = p3.shape
        cat = self._buffer("cat", (n, h + 4, w + 4, 3 * c), p3, 2, reuse)
        inner = cat[:, 2:-2, 2:-2]
        self.p3_l2.write(p3.permute(0, 2, 3, 1), inner[..., :c])
        for i, (x, name) in enumerate(((x4, "p4"), (x5, "p5")), start=1):
            deconv = plan[name]
            k = deconv.k
            blocks = inner[..., i * c : (i + 1) * c].view(n, h // k, k, w // k, k, c).permute(0, 1, 3, 2, 4, 5)
            getattr(self, f"{name}_l2").write(deconv.blocks(x), blocks)
        feat = self._buffer("feat", (n, h + 2, w + 2, c), p3, 1, reuse)
        plan["feat_winograd"](cat[:, 1:-1, 1:-1], feat, relu=True)
        return cat, feat

    def _buffer(self, name: str, shape: tuple[int, ...], like: torch.Tensor, frame: int, reuse: bool) -> torch.Tensor:
        """A channels-last map with a zero frame; with ``reuse``, this thread's buffer of that shape."""
        if not reuse:
            return zero_border(like.new_empty(shape), frame)
        # a PlanCache: copies and pickles of the neck start without buffers
        local = self.__dict__.setdefault("_scratch", PlanCache()).setdefault("local", threading.local())
        buf = getattr(local, name, None)
        if buf is None or buf.shape[1:] != shape[1:] or buf.shape[0] < shape[0] or buf.dtype != like.dtype:
            buf = zero_border(like.new_empty(shape), frame)
            setattr(local, name, buf)
        return buf[: shape[0]]  # the frame is never written: it stays zero

    def centre_patches(self, cat: torch.Tensor, ind: torch.Tensor) -> torch.Tensor:
        """The fusion map on the 3x3 neighbourhood of each cell ``ind`` (B, K) from the direct folded
        convolution (the values :meth:`forward` gives there, bit for bit): (B, K, 256 * 9) in
        convolution-weight order, zero outside the map, for :meth:`SMHRHeads.at`.

        Args:
            cat: the ``cat`` map of :meth:`inference_maps` (B, H + 4, W + 4, 768).
            ind: flat cells of the (H, W) map.
        """
        weight, bias = self._plan["feat"]
        b, k = ind.shape
        h, w = cat.shape[1] - 4, cat.shape[2] - 4
        ys, xs = torch.div(ind, w, rounding_mode="floor"), ind % w
        off = torch.arange(5, device=ind.device)
        rows = (ys[..., None, None] + off[:, None]).expand(b, k, 5, 5)
        cols = (xs[..., None, None] + off[None, :]).expand(b, k, 5, 5)
        bi = torch.arange(b, device=ind.device).view(b, 1, 1, 1).expand_as(rows)
        win = cat[bi, rows, cols].reshape(b * k, 5, 5, -1).permute(0, 3, 1, 2).contiguous()
        # oneDNN directly (F.conv2d sends a single small window to another kernel)
        y = torch.ops.mkldnn._convolution_pointwise(win, weight, bias, [0, 0], [1, 1], [1, 1], 1, "none", [], "")
        y = F.relu(y, inplace=True)
        ry = (ys[..., None] + off[:3] - 1).reshape(b * k, 1, 3, 1)
        rx = (xs[..., None] + off[:3] - 1).reshape(b * k, 1, 1, 3)
        inside = (ry >= 0) & (ry < h) & (rx >= 0) & (rx < w)
        return y.masked_fill_(~inside, 0.0).reshape(b, k, -1)

    def _fused(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """Folded fusion weights, recomputed when a tensor they come from changes."""
        tensors = (
            self.feat.weight,
            self.feat_bn.weight,
            self.feat_bn.bias,
            self.feat_bn.running_mean,
            self.feat_bn.running_var,
        )
        fmt = self.feat.weight.is_contiguous(memory_format=torch.channels_last)
        key = (dtype, fmt) + weights_key(tensors)
        if self._folded is None or self._folded[0] != key:
            w, b = fold_batchnorm(self.feat, self.feat_bn, dtype)
            fmt = (
                torch.channels_last
                if self.feat.weight.is_contiguous(memory_format=torch.channels_last)
                else torch.contiguous_format
            )
            w = w.to(self.feat.weight.device).contiguous(memory_format=fmt)
            self._folded = (key, w, b.to(self.feat.weight.device))
        return self._folded[1], self._folded[2]

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Fuse the trunk's (stride 8, 16, 32) maps into one stride-4 map (B, 256, H/4, W/4)."""
        x3, x4, x5 = feats[-3:]
        fast = self.fast and not self.training and not torch.is_grad_enabled()
        plan = self._onednn_plan(x3) if fast else None
        if plan is not None:
            # each branch's L2Norm writes its channels of the NCHW map the fusion conv reads
            # (no separate concatenation or layout copies; the same operations as the plain path)
            p3 = self.p3(x3)
            c = p3.shape[1]
            cat = p3.new_empty(p3.shape[0], 3 * c, *p3.shape[2:])
            self.p3_l2.write(p3.permute(0, 2, 3, 1), cat[:, :c].permute(0, 2, 3, 1))
            for i, (x, name) in enumerate(((x4, "p4"), (x5, "p5")), start=1):
                deconv = plan[name]
                out = _PackedDeconv.block_view(cat[:, i * c : (i + 1) * c], deconv.k)
                getattr(self, f"{name}_l2").write(deconv.blocks(x), out)
            weight, bias = plan["feat"]
            return F.relu(F.conv2d(cat, weight, bias, padding=1), inplace=True)
        p3 = self.p3_l2(self.p3(x3))
        if fast:
            p4 = self.p4_l2(_deconv_as_matmul(x4, self.p4))
            p5 = self.p5_l2(_deconv_as_matmul(x5, self.p5))
        else:
            p4 = self.p4_l2(self.p4(x4))
            p5 = self.p5_l2(self.p5(x5))
        cat = torch.cat([p3, p4, p5], dim=1)
        if fast:
            w, b = self._fused(cat.dtype)
            return F.relu(F.conv2d(cat, w, b, padding=1), inplace=True)
        return self.feat_act(self.feat_bn(self.feat(cat)))
