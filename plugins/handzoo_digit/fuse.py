"""BatchNorm folding for inference, computed in float64 and rounded once to the model's dtype.

Every ``Conv2d`` directly followed by a ``BatchNorm2d`` (inside an ``nn.Sequential``, or as
sibling attributes ``convK``/``bnK`` as in the HRNet blocks) gets the normalisation folded into
its weights and bias; the BatchNorm becomes an ``nn.Identity``. The result equals the unfolded
network up to one rounding of each folded weight.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["fold_conv_bn", "folded_copy"]


def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A new convolution equal to ``bn(conv(x))`` in eval mode (folded in float64)."""
    dtype = conv.weight.dtype
    w = conv.weight.detach().to(torch.float64)
    b = conv.bias.detach().to(torch.float64) if conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64, device=w.device)
    mean = bn.running_mean.detach().to(torch.float64)
    var = bn.running_var.detach().to(torch.float64)
    gamma = bn.weight.detach().to(torch.float64) if bn.weight is not None else torch.ones_like(mean)
    beta = bn.bias.detach().to(torch.float64) if bn.bias is not None else torch.zeros_like(mean)
    scale = gamma / torch.sqrt(var + bn.eps)
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
        device=w.device,
        dtype=dtype,
    )
    with torch.no_grad():
        out.weight.copy_((w * scale[:, None, None, None]).to(dtype))
        out.bias.copy_(((b - mean) * scale + beta).to(dtype))
    return out


def _fold_in_place(module: nn.Module) -> None:
    if isinstance(module, nn.Sequential):
        keys = list(module._modules)
        for a, b in zip(keys, keys[1:]):
            ca, cb = module._modules[a], module._modules[b]
            if isinstance(ca, nn.Conv2d) and isinstance(cb, nn.BatchNorm2d):
                module._modules[a] = fold_conv_bn(ca, cb)
                module._modules[b] = nn.Identity()
    names = dict(module.named_children())
    for name, child in list(names.items()):
        if name.startswith("bn") and isinstance(child, nn.BatchNorm2d):
            conv = names.get("conv" + name[2:])
            if isinstance(conv, nn.Conv2d):
                setattr(module, "conv" + name[2:], fold_conv_bn(conv, child))
                setattr(module, name, nn.Identity())
    for child in module.children():
        _fold_in_place(child)


def folded_copy(module: nn.Module) -> nn.Module:
    """An eval-mode deep copy of ``module`` with every conv + BatchNorm pair folded."""
    with torch.inference_mode(False), torch.no_grad():
        out = copy.deepcopy(module).eval()
        _fold_in_place(out)
    return out
