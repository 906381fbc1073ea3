"""ResNet feature extractor built from timm, with the authors' state-dict key names.

Hand4Whole's ``ResNetBackbone`` is torchvision's ResNet without ``avgpool``/``fc``; timm's
``resnet50`` has the same modules under the same names (``conv1``, ``bn1``, ``layer1``..
``layer4``), so holding timm's modules directly (not under a wrapper attribute) keeps every key
of the authors' ``backbone.*`` unchanged.

In eval mode without autograd the forward runs a copy with every BatchNorm folded into the
preceding convolution: on a float32 CPU model the oneDNN plan of :mod:`handzoo_hand4whole.fast`
(folded in float64, ReLU and residual sums fused, weights pre-packed), elsewhere torch.fx's
folding (equal to float rounding). The copy is rebuilt
whenever a parameter or buffer changes (new weights, device or dtype); it is not part of the
state dict. ``fuse_inference=False`` turns this off (saves the copy's memory).
"""

from __future__ import annotations

import copy
from collections import OrderedDict

import timm
import torch
from torch import nn

from handzoo.backbones.fusion import module_weights_key
from handzoo.errors import ConfigError
from handzoo.interfaces import Backbone

from .fast import PlanCache

__all__ = ["ResNetBackbone"]

_STAGES = ("conv1", "bn1", "act1", "maxpool", "layer1", "layer2", "layer3", "layer4")
_ARCHS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")


class ResNetBackbone(Backbone):
    """Stride-32 ResNet features (2048 channels for resnet50; 8x8 for a 256x256 input).

    Args:
        arch: timm architecture name (the plain ResNets the authors support).
        pretrained: load timm's ImageNet weights (needs the network or timm's cache).
        fuse_inference: fold BatchNorm into convolutions for inference (see the module docstring).
    """

    strides = (32,)

    def __init__(self, arch: str = "resnet50", pretrained: bool = False, fuse_inference: bool = True) -> None:
        super().__init__()
        if arch not in _ARCHS:
            raise ConfigError(f"unsupported backbone {arch!r}", hint=f"one of: {', '.join(_ARCHS)}")
        net = timm.create_model(arch, pretrained=pretrained, num_classes=0, global_pool="")
        for name in _STAGES:
            self.add_module(name, getattr(net, name))
        self.out_channels = (net.num_features,)
        self.fuse_inference = fuse_inference
        self._fused_cache = PlanCache()  # the copy is no registered submodule (nor deep-copied or pickled)

    def _state_key(self) -> tuple:
        return module_weights_key(self, self._fused_cache)

    def _fused(self) -> nn.Module:
        key = self._state_key()
        if self._fused_cache.get("key") != key:
            from torch.fx.experimental.optimization import fuse

            from .fast import fused_trunk, mkldnn_available

            with torch.inference_mode(False), torch.no_grad():
                trunk = nn.Sequential(OrderedDict((name, copy.deepcopy(getattr(self, name))) for name in _STAGES))
                fused = None
                if (
                    mkldnn_available()
                    and self.conv1.weight.dtype == torch.float32
                    and self.conv1.weight.device.type == "cpu"
                ):
                    fused = fused_trunk(trunk.eval())  # oneDNN plan: float64 folds, fused ReLU/residual
                if fused is None:
                    fused = fuse(trunk.eval(), inplace=True).to(memory_format=torch.channels_last)
            self._fused_cache.update(key=key, module=fused)
        return self._fused_cache["module"]  # type: ignore[return-value]

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Return ``[features]`` of shape (B, C, H/32, W/32)."""
        if self.fuse_inference and not self.training and not torch.is_grad_enabled():
            return [self._fused()(images)]
        x = images
        for name in _STAGES:
            x = getattr(self, name)(x)
        return [x]
