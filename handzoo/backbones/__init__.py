"""Generic backbones registered in ``handzoo.registry.BACKBONES`` (imported when that kind is first used).

``TimmBackbone`` wraps any timm model as a ``features_only`` feature extractor, so a method whose
head reads a feature map of known channels can take any timm trunk from a config::

    build("backbones", {"type": "TimmBackbone", "name": "resnet18", "out_indices": (4,)})
"""

from __future__ import annotations

from handzoo.backbones.timm_backbone import TimmBackbone
from handzoo.registry import BACKBONES

__all__ = ["TimmBackbone"]

if BACKBONES.get("TimmBackbone") is None:
    BACKBONES.register_module(module=TimmBackbone)
