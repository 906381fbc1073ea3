"""CPU inference plan of the ResNet trunk: BatchNorm folded in float64, oneDNN fused convolutions.

Each convolution becomes one oneDNN call on channels-last tensors with its weights pre-packed once
per input shape and BatchNorm folded into them (in float64, rounded once to float32); in every
bottleneck the ReLUs and the residual sum with its final ReLU run inside the convolutions
(``torch.ops.mkldnn._convolution_pointwise``). Fusing is exact; folding rounds each weight once,
so outputs differ from the unfolded trunk at float32 noise level.
"""

from __future__ import annotations

import torch
from torch import nn

from handzoo.backbones.fusion import PlanCache, fold_bn, mkldnn_available

__all__ = ["mkldnn_available", "fold_conv_bn", "FusedConv2d", "PlanCache", "fused_trunk"]


def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight, bias)`` of one convolution equal to ``bn(conv(x))`` in eval mode, folded in float64."""
    return fold_bn(conv.weight, conv.bias, bn)


class FusedConv2d(nn.Module):
    """One oneDNN convolution + folded BatchNorm, with an optional fused ReLU / residual sum."""

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d, relu: bool) -> None:
        super().__init__()
        w, b = fold_conv_bn(conv, bn)
        self.padding, self.stride = list(conv.padding), list(conv.stride)
        self.dilation, self.groups, self.relu = list(conv.dilation), conv.groups, relu
        self.register_buffer("weight", w.contiguous(memory_format=torch.channels_last), persistent=False)
        self.register_buffer("bias", b.contiguous(), persistent=False)
        self._packed: dict[tuple, torch.Tensor] = {}

    def _w(self, shape: tuple) -> torch.Tensor:
        w = self._packed.get(shape)
        if w is None:
            w = torch.ops.mkldnn._reorder_convolution_weight(
                self.weight, self.padding, self.stride, self.dilation, self.groups, list(shape)
            )
            if len(self._packed) > 8:
                self._packed.clear()
            self._packed[shape] = w
        return w

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        """``relu?(conv(x) [+ residual])`` on channels-last float32 CPU tensors."""
        x = x.contiguous(memory_format=torch.channels_last)
        w = self._w(tuple(x.shape))
        if residual is None:
            return torch.ops.mkldnn._convolution_pointwise(
                x, w, self.bias, self.padding, self.stride, self.dilation, self.groups,
                "relu" if self.relu else "none", [], "",
            )  # fmt: skip
        return torch.ops.mkldnn._convolution_pointwise.binary(
            x, residual.contiguous(memory_format=torch.channels_last), w, self.bias, self.padding, self.stride,
            self.dilation, self.groups, "add", 1.0, "relu" if self.relu else None, [], "",
        )  # fmt: skip


class _Bottleneck(nn.Module):
    """A ResNet block (basic or bottleneck) as fused convolutions: the last one adds and rectifies."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        convs = [n for n in ("conv1", "conv2", "conv3") if hasattr(block, n)]
        self.convs = nn.ModuleList(
            FusedConv2d(getattr(block, c), getattr(block, "bn" + c[-1]), relu=True) for c in convs
        )
        ds = block.downsample
        self.downsample = FusedConv2d(ds[0], ds[1], relu=False) if ds is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = x
        for conv in self.convs[:-1]:
            out = conv(out)
        return self.convs[-1](out, residual=shortcut)


def _plain_block(block: nn.Module) -> bool:
    """A torchvision/timm basic or bottleneck block without extras (SE, attention, drop-path)."""
    for name in ("drop_block", "aa", "se", "drop_path"):
        m = getattr(block, name, None)
        if m is not None and not isinstance(m, nn.Identity):
            return False
    ds = getattr(block, "downsample", None)
    ok_ds = ds is None or (isinstance(ds, nn.Sequential) and len(ds) == 2 and isinstance(ds[1], nn.BatchNorm2d))
    return ok_ds and hasattr(block, "conv1") and hasattr(block, "bn1")


def fused_trunk(trunk: nn.Module) -> nn.Module | None:
    """The fused plan of a ResNet trunk (``conv1, bn1, act1, maxpool, layer1..4``), or None when a
    block is not a plain ResNet block."""
    blocks = [b for name in ("layer1", "layer2", "layer3", "layer4") for b in getattr(trunk, name)]
    if not all(_plain_block(b) for b in blocks):
        return None
    with torch.inference_mode(False), torch.no_grad():
        return nn.Sequential(
            FusedConv2d(trunk.conv1, trunk.bn1, relu=True),
            trunk.maxpool,
            *(_Bottleneck(b) for b in blocks),
        )
