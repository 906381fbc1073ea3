"""handzoo plugin for the smhr method.

This module is the plugin's entry point and stays light (no torch import): it hands out the
model cards and, only when a model is built, registers the method's modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handzoo.hookspecs import hookimpl
from handzoo.hub.cards import builtin_card_paths

__version__ = "0.1.0"
METHOD = "smhr"


@hookimpl
def handzoo_model_cards() -> list[Path]:
    """The smhr variants' model cards."""
    return builtin_card_paths(METHOD)


@hookimpl
def handzoo_register(registries: Any) -> None:
    """Register SMHR, its parts, its losses and its detector (imports torch only now)."""
    from .backbone import TimmResNetTrunk
    from .heads import SMHRHeads
    from .losses import LOSS_CLASSES
    from .model import SMHR
    from .neck import CSPNeck

    registries.METHODS.register_module(name="SMHR", module=SMHR)
    registries.BACKBONES.register_module(name="SMHRResNetTrunk", module=TimmResNetTrunk)
    registries.BACKBONES.register_module(name="SMHRCSPNeck", module=CSPNeck)
    registries.HEADS.register_module(name="SMHRHeads", module=SMHRHeads)
    for name, cls in LOSS_CLASSES.items():
        registries.LOSSES.register_module(name=name, module=cls)
    detectors = getattr(registries, "DETECTORS", None)
    if detectors is not None:
        detectors.register_module(name="SMHR", module=SMHR)


@hookimpl
def handzoo_converters() -> dict[str, str]:
    """The converter of the authors' checkpoints (imported lazily by the hub)."""
    return {METHOD: "handzoo_smhr.convert:convert_state_dict"}
