"""Inference-time fusion shared by the methods' CPU plans: BatchNorm folded in float64, oneDNN checks.

Folding computes ``bn(layer(x))`` as one layer whose weights are evaluated in float64 and rounded
once to the model's dtype, so a folded float32 network differs from the unfolded one at float32
noise level only (and not at all in float64).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["fold_bn", "fold_conv_bn", "mkldnn_available", "PlanCache"]


def fold_bn(
    weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.BatchNorm1d | nn.BatchNorm2d
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight', bias')`` of a conv/linear layer equal to ``bn(layer(x))`` in eval mode.

    Args:
        weight: (C_out, ...) layer weight.
        bias: (C_out,) layer bias or None.
        bn: the BatchNorm that follows (its running statistics are used).

    Returns:
        The folded weight and bias, computed in float64 and cast to ``weight``'s dtype.
    """
    dtype = weight.dtype
    w = weight.detach().to(torch.float64)
    b = bias.detach().to(torch.float64) if bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    mean = bn.running_mean.detach().to(torch.float64)
    var = bn.running_var.detach().to(torch.float64)
    gamma = bn.weight.detach().to(torch.float64) if bn.weight is not None else torch.ones_like(mean)
    beta = bn.bias.detach().to(torch.float64) if bn.bias is not None else torch.zeros_like(mean)
    scale = gamma / torch.sqrt(var + bn.eps)
    w = w * scale.reshape(-1, *([1] * (w.dim() - 1)))
    return w.to(dtype), ((b.to(w.device) - mean) * scale + beta).to(dtype)


def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A new convolution (with bias) equal to ``bn(conv(x))`` in eval mode; see :func:`fold_bn`."""
    weight, bias = fold_bn(conv.weight, conv.bias, bn)
    out = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        conv.groups,
        bias=True,
        padding_mode=conv.padding_mode,
        device=weight.device,
        dtype=weight.dtype,
    )
    with torch.no_grad():
        out.weight.copy_(weight)
        out.bias.copy_(bias)
    return out


def mkldnn_available() -> bool:
    """Whether oneDNN's fused convolution operators exist in this torch build."""
    return bool(torch.backends.mkldnn.is_available()) and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


class PlanCache(dict):
    """A dict holding a derived inference plan: copies and pickles of its owner start empty
    (pre-packed oneDNN weights can be neither copied nor pickled, and are rebuilt on demand)."""

    def __deepcopy__(self, memo: dict) -> PlanCache:
        return PlanCache()

    def __reduce__(self) -> tuple:
        return (PlanCache, ())
