"""CPU inference plan of H2ONet's backbone: BatchNorm folded (in float64), oneDNN convolutions.

The backbone runs ~120 small convolutions, each followed by BatchNorm and most by ReLU; at
batch 1 the cost is mostly per-operator overhead. The plan is a copy of the backbone where each
``conv_bn`` unit is one oneDNN convolution on channels-last tensors (weights pre-packed once per
input shape, BatchNorm folded into the weights in float64, ReLU fused), and each SE block's
``Linear + BatchNorm1d`` is one ``Linear``. The copy keeps the module tree, so the backbone's own
forward code runs on it unchanged.

Fusing ReLU is exact; folding BatchNorm rounds each folded weight once, so outputs differ from
the unfolded network at float32 noise level. The plan is used for float32 CPU inference (eval
mode, no autograd); everything else (training, float64, GPUs) runs the modules as they are.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from handzoo.backbones.fusion import PlanCache, fold_bn, mkldnn_available

__all__ = ["fold_bn", "FusedConv2d", "PlanCache", "mkldnn_available", "inference_copy"]


class FusedConv2d(nn.Module):
    """One oneDNN convolution (channels-last, pre-packed weights) with an optional fused ReLU.

    Args:
        weight: (C_out, C_in / groups, k, k) float32 weight (BatchNorm already folded).
        bias: (C_out,) bias.
        conv: the original convolution (stride, padding, dilation, groups).
        relu: apply ReLU in the same call.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, conv: nn.Conv2d, relu: bool) -> None:
        super().__init__()
        self.padding, self.stride = list(conv.padding), list(conv.stride)
        self.dilation, self.groups = list(conv.dilation), conv.groups
        self.attr = "relu" if relu else "none"
        self.register_buffer("weight", weight.contiguous(memory_format=torch.channels_last), persistent=False)
        self.register_buffer("bias", bias.contiguous(), persistent=False)
        self._packed: dict[tuple, torch.Tensor] = {}

    def _packed_weight(self, shape: tuple) -> torch.Tensor:
        w = self._packed.get(shape)
        if w is None:
            w = torch.ops.mkldnn._reorder_convolution_weight(
                self.weight, self.padding, self.stride, self.dilation, self.groups, list(shape)
            )
            if len(self._packed) > 8:
                self._packed.clear()
            self._packed[shape] = w
        return w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        w = self._packed_weight(tuple(x.shape))
        return torch.ops.mkldnn._convolution_pointwise(
            x, w, self.bias, self.padding, self.stride, self.dilation, self.groups, self.attr, [], ""
        )


def _fuse_sequential(seq: nn.Sequential) -> nn.Module | None:
    """The fused form of a ``conv_bn`` (Conv2d [BN2d] [ReLU]) or ``linear_bn`` (Linear [BN1d] [act])."""
    mods = list(seq)
    if not mods:
        return None
    first, rest = mods[0], mods[1:]
    bn = rest.pop(0) if rest and isinstance(rest[0], (nn.BatchNorm1d, nn.BatchNorm2d)) else None
    if isinstance(first, nn.Conv2d) and first.padding_mode == "zeros" and len(rest) <= 1:
        relu = bool(rest) and isinstance(rest[0], nn.ReLU)
        if rest and not relu:
            return None
        w, b = (first.weight.detach(), first.bias)
        if bn is not None:
            w, b = fold_bn(w, b, bn)
        b = b.detach() if b is not None else torch.zeros(w.shape[0], dtype=w.dtype)
        return FusedConv2d(w, b, first, relu)
    if isinstance(first, nn.Linear) and bn is not None:
        w, b = fold_bn(first.weight, first.bias, bn)
        lin = nn.Linear(first.in_features, first.out_features, bias=True, dtype=w.dtype)
        with torch.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(b)
        return nn.Sequential(lin, *rest)
    return None


def _fuse_in_place(module: nn.Module) -> None:
    for name, child in list(module.named_children()):
        fused = _fuse_sequential(child) if isinstance(child, nn.Sequential) else None
        if fused is not None:
            setattr(module, name, fused)
        else:
            _fuse_in_place(child)


def inference_copy(module: nn.Module) -> nn.Module:
    """An eval-mode float32 CPU copy of ``module`` with every ``conv_bn``/``linear_bn`` unit fused."""
    with torch.inference_mode(False), torch.no_grad():
        out = copy.deepcopy(module).eval()
        _fuse_in_place(out)
    return out
