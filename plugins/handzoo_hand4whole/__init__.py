"""handzoo plugin for the hand4whole method.

This module is the plugin's entry point and stays light (no torch import): it hands out the
model cards and, only when a model is built, registers the method's modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handzoo.hookspecs import hookimpl
from handzoo.hub.cards import builtin_card_paths

__version__ = "0.1.0"
METHOD = "hand4whole"


@hookimpl
def handzoo_model_cards() -> list[Path]:
    """The hand4whole variants' model cards."""
    return builtin_card_paths(METHOD)


@hookimpl
def handzoo_register(registries: Any) -> None:
    """Register the Pose2Pose hand model, its parts and its loss (imports torch only now)."""
    from .backbone import ResNetBackbone
    from .heads import PositionHead, RotationHead
    from .losses import Hand4WholeLoss
    from .model import Hand4WholeHand

    registries.METHODS.register_module(name="Hand4WholeHand", module=Hand4WholeHand)
    # the parts its architecture config is built from
    registries.BACKBONES.register_module(name="Hand4WholeResNet", module=ResNetBackbone)
    registries.HEADS.register_module(name="Hand4WholePositionHead", module=PositionHead)
    registries.HEADS.register_module(name="Hand4WholeRotationHead", module=RotationHead)
    registries.LOSSES.register_module(name="Hand4WholeLoss", module=Hand4WholeLoss)


@hookimpl
def handzoo_converters() -> dict[str, str]:
    """The converter of the authors' checkpoints (imported lazily by the hub)."""
    return {METHOD: "handzoo_hand4whole.convert:convert_state_dict"}
