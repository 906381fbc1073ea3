"""ResNet feature extractor built from timm, with the authors' state-dict key names.

Hand4Whole's ``ResNetBackbone`` is torchvision's ResNet without ``avgpool``/``fc``; timm's
``resnet50`` has the same modules under the same names (``conv1``, ``bn1``, ``layer1``..
``layer4``), so holding timm's modules directly (not under a wrapper attribute) keeps every key
of the authors' ``backbone.*`` unchanged.
"""

from __future__ import annotations

import timm
import torch

from handzoo.errors import ConfigError
from handzoo.interfaces import Backbone

__all__ = ["ResNetBackbone"]

_STAGES = ("conv1", "bn1", "act1", "maxpool", "layer1", "layer2", "layer3", "layer4")
_ARCHS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")


class ResNetBackbone(Backbone):
    """Stride-32 ResNet features (2048 channels for resnet50; 8x8 for a 256x256 input).

    Args:
        arch: timm architecture name (the plain ResNets the authors support).
        pretrained: load timm's ImageNet weights (needs the network or timm's cache).
    """

    strides = (32,)

    def __init__(self, arch: str = "resnet50", pretrained: bool = False) -> None:
        super().__init__()
        if arch not in _ARCHS:
            raise ConfigError(f"unsupported backbone {arch!r}", hint=f"one of: {', '.join(_ARCHS)}")
        net = timm.create_model(arch, pretrained=pretrained, num_classes=0, global_pool="")
        for name in _STAGES:
            self.add_module(name, getattr(net, name))
        self.out_channels = (net.num_features,)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Return ``[features]`` of shape (B, C, H/32, W/32)."""
        x = images
        for name in _STAGES:
            x = getattr(self, name)(x)
        return [x]
