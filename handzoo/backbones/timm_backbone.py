"""A timm model as a :class:`handzoo.interfaces.Backbone` (``features_only`` adapter)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from handzoo.errors import ConfigError
from handzoo.interfaces import Backbone

__all__ = ["TimmBackbone"]


class TimmBackbone(Backbone):
    """Feature maps of a timm model, highest resolution first.

    Args:
        name: timm model name (``resnet50``, ``convnext_tiny``, ...; see ``timm.list_models``).
        out_indices: which feature levels to return (timm's ``out_indices``; ``(4,)`` = the last
            stage of a ResNet, stride 32).
        pretrained: load timm's pretrained weights (needs them in the local timm/HF cache or a
            network connection).
        in_chans: input channels.
        **timm_kwargs: passed to ``timm.create_model``.

    Attributes:
        out_channels: channels of each returned map. strides: their strides.
    """

    def __init__(
        self,
        name: str = "resnet50",
        out_indices: Sequence[int] = (4,),
        pretrained: bool = False,
        in_chans: int = 3,
        **timm_kwargs: object,
    ) -> None:
        super().__init__()
        import timm

        try:
            self.body = timm.create_model(
                name,
                pretrained=pretrained,
                features_only=True,
                out_indices=tuple(out_indices),
                in_chans=in_chans,
                **timm_kwargs,
            )
        except RuntimeError as exc:
            if "Unknown model" in str(exc):
                raise ConfigError(f"unknown timm model {name!r}", hint="see timm.list_models()") from None
            raise
        self.name = name
        self.out_channels = tuple(int(c) for c in self.body.feature_info.channels())
        self.strides = tuple(int(s) for s in self.body.feature_info.reduction())

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """(B, C, H, W) images -> one (B, C_k, H / s_k, W / s_k) map per requested level."""
        return list(self.body(images))
