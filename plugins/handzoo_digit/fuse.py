"""The inference plan: BatchNorm folded into convolutions, oneDNN fused convolutions in NHWC.

For inference (eval mode, no autograd) DIGIT runs a cached copy of its parts in which

* every ``Conv2d`` directly followed by a ``BatchNorm2d`` (inside an ``nn.Sequential``, or as
  sibling attributes ``convK``/``bnK`` as in the HRNet blocks) has the normalisation folded into
  its weights and bias, computed in float64 and rounded once to the model's dtype;
* on CPU in float32, each convolution becomes one oneDNN call on channels-last tensors with its
  weights pre-packed once, the following ReLU fused into it, and in the HRNet residual blocks
  the residual sum and final ReLU fused too (``torch.ops.mkldnn._convolution_pointwise``).

Fusing the ReLU and the sum is exact; folding BatchNorm changes each folded weight by one
rounding, so outputs differ from the unfolded network at the float32 noise level (see the
plugin's tests). ``DIGIT(fuse_inference=False)`` runs the parts as they are.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from handzoo.backbones.fusion import FusedConv2d, fold_conv_bn, mkldnn_available

__all__ = ["fold_conv_bn", "folded_copy", "fast_copy", "mkldnn_available"]


def _fold_in_place(module: nn.Module) -> None:
    if isinstance(module, nn.Sequential):
        keys = list(module._modules)
        for a, b in zip(keys, keys[1:]):
            ca, cb = module._modules[a], module._modules[b]
            if isinstance(ca, nn.Conv2d) and isinstance(cb, nn.BatchNorm2d):
                module._modules[a] = fold_conv_bn(ca, cb)
                module._modules[b] = nn.Identity()
    names = dict(module.named_children())
    for name, child in names.items():
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


class _FastBasicBlock(nn.Module):
    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.conv1 = FusedConv2d(block.conv1, relu=True)
        self.conv2 = FusedConv2d(block.conv2, relu=True)
        self.downsample = _fast_sequential(block.downsample) if block.downsample is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.conv2(self.conv1(x), residual=shortcut)


class _FastBottleneck(nn.Module):
    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.conv1 = FusedConv2d(block.conv1, relu=True)
        self.conv2 = FusedConv2d(block.conv2, relu=True)
        self.conv3 = FusedConv2d(block.conv3, relu=True)
        self.downsample = _fast_sequential(block.downsample) if block.downsample is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.conv3(self.conv2(self.conv1(x)), residual=shortcut)


class _FastHRModule(nn.Module):
    """An HRNet module whose fusion sums accumulate in place (same summation order and ReLU)."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.branches = nn.ModuleList([_fast(b) for b in module.branches])
        self.fuse_layers = _fast(module.fuse_layers)
        self.single = module.num_branches == 1

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(xi) for branch, xi in zip(self.branches, x)]
        if self.single:
            return xs
        out = []
        for row in self.fuse_layers:
            terms = [f(xj) for f, xj in zip(row, xs)]
            y = torch.add(terms[0], terms[1])
            for t in terms[2:]:
                y.add_(t)
            out.append(y.relu_())
        return out


def _fast_sequential(seq: nn.Sequential) -> nn.Sequential:
    """Conv [Identity] ReLU runs become one FusedConv2d; other layers are kept."""
    mods = [m for m in seq if not isinstance(m, nn.Identity)]
    out: list[nn.Module] = []
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.Conv2d) and m.padding_mode == "zeros":
            relu = i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU)
            out.append(FusedConv2d(m, relu=relu))
            i += 2 if relu else 1
        else:
            out.append(_fast(m))
            i += 1
    return nn.Sequential(*out)


def _is_block(m: nn.Module, name: str) -> bool:
    return type(m).__name__ == name and hasattr(m, "conv1") and hasattr(m, "conv2")


def _fast(module: nn.Module) -> nn.Module:
    if type(module).__name__ == "DigitHRNet" and isinstance(module.bn1, nn.Identity):
        # the stem: conv -> ReLU twice (the BatchNorms are folded)
        module.conv1 = FusedConv2d(module.conv1, relu=True)
        module.conv2 = FusedConv2d(module.conv2, relu=True)
        module.relu = nn.Identity()
    if type(module).__name__ == "HighResolutionModule" and hasattr(module, "fuse_layers"):
        return _FastHRModule(module)
    if _is_block(module, "BasicBlock") and isinstance(module.bn1, nn.Identity):
        return _FastBasicBlock(module)
    if _is_block(module, "Bottleneck") and isinstance(module.bn1, nn.Identity):
        return _FastBottleneck(module)
    if isinstance(module, nn.Sequential):
        return _fast_sequential(module)
    if isinstance(module, nn.Conv2d) and module.padding_mode == "zeros":
        return FusedConv2d(module)
    for name, child in list(module.named_children()):
        setattr(module, name, _fast(child))
    return module


def fast_copy(module: nn.Module) -> nn.Module:
    """The inference plan of ``module``: folded, and with fused oneDNN convolutions when possible.

    The oneDNN path is used for float32 parameters on the CPU; otherwise the folded copy runs in
    channels-last memory format as ordinary PyTorch modules.
    """
    folded = folded_copy(module)
    p = next(folded.parameters(), None)
    if p is None or p.dtype != torch.float32 or p.device.type != "cpu" or not mkldnn_available():
        return folded.to(memory_format=torch.channels_last)
    with torch.inference_mode(False), torch.no_grad():
        return _fast(folded)
