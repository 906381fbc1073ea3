"""handzoo plugin for the digit method.

This module is the plugin's entry point and stays light (no torch import): it hands out the
model cards and, only when a model is built, registers the method's modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handzoo.hookspecs import hookimpl
from handzoo.hub.cards import builtin_card_paths

__version__ = "0.1.0"
METHOD = "digit"


@hookimpl
def handzoo_model_cards() -> list[Path]:
    """The digit variants' model cards."""
    return builtin_card_paths(METHOD)


@hookimpl
def handzoo_register(registries: Any) -> None:
    """Register DIGIT, its parts and its losses (imports torch only now)."""
    from .backbone import DigitHRNet
    from .heads import DigitJointHead, DigitMerge, DigitRootHandHead, DigitSegmHead
    from .losses import (
        DigitBoneLoss,
        DigitHandednessLoss,
        DigitJointLoss,
        DigitLoss,
        DigitRootDepthLoss,
        DigitSegmentationLoss,
    )
    from .model import DIGIT

    registries.METHODS.register_module(name="DIGIT", module=DIGIT)
    registries.BACKBONES.register_module(name="DigitHRNet", module=DigitHRNet)
    for cls in (DigitSegmHead, DigitMerge, DigitJointHead, DigitRootHandHead):
        registries.HEADS.register_module(name=cls.__name__, module=cls)
    for cls in (
        DigitLoss,
        DigitJointLoss,
        DigitRootDepthLoss,
        DigitHandednessLoss,
        DigitSegmentationLoss,
        DigitBoneLoss,
    ):
        registries.LOSSES.register_module(name=cls.__name__, module=cls)


@hookimpl
def handzoo_converters() -> dict[str, str]:
    """The converter of the authors' checkpoints (imported lazily by the hub)."""
    return {METHOD: "handzoo_digit.convert:convert_state_dict"}
