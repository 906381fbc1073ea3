"""CPU inference plan of the ResNet trunk: BatchNorm folded in float64, oneDNN fused convolutions.

The plan is the core's :func:`handzoo.backbones.fusion.fused_resnet_trunk`: each convolution one
oneDNN call on channels-last tensors with its weights pre-packed once per input shape and
BatchNorm folded into them (in float64, rounded once to float32); in every bottleneck the ReLUs and
the residual sum with its final ReLU run inside the convolutions. Fusing is exact; folding rounds
each weight once, so outputs differ from the unfolded trunk at float32 noise level.
"""

from __future__ import annotations

import torch
from torch import nn

from handzoo.backbones.fusion import FusedConv2d, PlanCache, fold_bn, fused_resnet_trunk, mkldnn_available

__all__ = ["mkldnn_available", "fold_conv_bn", "FusedConv2d", "PlanCache", "fused_trunk"]


def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight, bias)`` of one convolution equal to ``bn(conv(x))`` in eval mode, folded in float64."""
    return fold_bn(conv.weight, conv.bias, bn)


def fused_trunk(trunk: nn.Module) -> nn.Module | None:
    """The fused plan of a ResNet trunk (``conv1, bn1, act1, maxpool, layer1..4``), or None when a
    block is not a plain ResNet block (see :func:`~handzoo.backbones.fusion.fused_resnet_trunk`)."""
    return fused_resnet_trunk(trunk)
