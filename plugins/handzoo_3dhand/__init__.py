"""handzoo plugin for the 3dhand method (Boukhayma, de Bem, Torr, CVPR 2019).

This module is the plugin's entry point and stays light (no torch import): it hands out the
model cards and, only when a model is built, registers the method's modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handzoo.hookspecs import hookimpl
from handzoo.hub.cards import builtin_card_paths

__version__ = "0.1.0"
METHOD = "3dhand"


@hookimpl
def handzoo_model_cards() -> list[Path]:
    """The 3dhand variants' model cards."""
    return builtin_card_paths(METHOD)


@hookimpl
def handzoo_register(registries: Any) -> None:
    """Register the method, its trunk, stem, head and losses (imports torch only now)."""
    from .backbone import ThreeDHandResNet, ThreeDHandStem
    from .head import ThreeDHandRegressor
    from .losses import ThreeDHandLoss, ThreeDHandPretrainLoss
    from .model import ThreeDHand

    registries.METHODS.register_module(name="ThreeDHand", module=ThreeDHand)
    registries.BACKBONES.register_module(name="ThreeDHandResNet", module=ThreeDHandResNet)
    registries.BACKBONES.register_module(name="ThreeDHandStem", module=ThreeDHandStem)
    registries.HEADS.register_module(name="ThreeDHandRegressor", module=ThreeDHandRegressor)
    registries.LOSSES.register_module(name="ThreeDHandPretrainLoss", module=ThreeDHandPretrainLoss)
    registries.LOSSES.register_module(name="ThreeDHandLoss", module=ThreeDHandLoss)


@hookimpl
def handzoo_converters() -> dict[str, str]:
    """The converter of the authors' checkpoints (imported lazily by the hub)."""
    return {METHOD: "handzoo_3dhand.convert:convert_state_dict"}
