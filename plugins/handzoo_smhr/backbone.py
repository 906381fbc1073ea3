"""SMHR's trunk: timm's ResNet (``resnet50`` for the released weights) up to ``layer4``.

The authors build a torchvision-style ResNet-50 inline (``conv1``, ``bn1``, ``layer1``..``layer4``,
stride on the 3x3 convolution); timm's ``resnet50`` has the same layers under the same names, so
the trunk's keys are the authors' own.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from handzoo.interfaces import Backbone

__all__ = ["TimmResNetTrunk"]


class TimmResNetTrunk(Backbone):
    """timm ResNet feature extractor returning the maps of ``layer2``, ``layer3`` and ``layer4``.

    Args:
        name: timm model name (``resnet50``; ``resnet18``/``resnet34`` give a smaller trunk).
        out_indices: timm feature indices returned (2, 3, 4 = strides 8, 16, 32).
        pretrained: start from timm's ImageNet weights (training only; needs the network).

    Attributes:
        out_channels: channels of the returned maps (512, 1024, 2048 for ``resnet50``).
        strides: their strides (8, 16, 32).
    """

    def __init__(
        self, name: str = "resnet50", out_indices: Sequence[int] = (2, 3, 4), pretrained: bool = False
    ) -> None:
        super().__init__()
        import timm

        self.name = name
        self.body = timm.create_model(name, pretrained=pretrained, features_only=True, out_indices=tuple(out_indices))
        self.out_channels = tuple(self.body.feature_info.channels())
        self.strides = tuple(self.body.feature_info.reduction())

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps for ``images`` (B, 3, H, W), highest resolution first."""
        return list(self.body(images))
