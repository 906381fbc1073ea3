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

from handzoo.backbones.fusion import FusedConv2d, PlanCache, fold_bn, mkldnn_available

__all__ = ["fold_bn", "FusedConv2d", "PlanCache", "mkldnn_available", "inference_copy"]


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
        return FusedConv2d(first, bn, relu)
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
