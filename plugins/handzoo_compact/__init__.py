"""handzoo's own compact model (``compact-*``): a small network composed from the registries.

A timm backbone trained from scratch, a MANO-layout parameter + camera head and the open hand
model; trained on handzoo's synthetic open-hand images only. Its weights ship inside this
package (``weights/``), so it runs on a fresh install without a download. The training recipe is
``configs/<variant>.py`` (``handzoo-train <variant>``).
"""

from __future__ import annotations

from pathlib import Path

from handzoo.hookspecs import hookimpl
from handzoo.hub.cards import builtin_card_paths

__version__ = "0.1.0"
METHOD = "compact"


@hookimpl
def handzoo_model_cards() -> list[Path]:
    """The compact model's cards."""
    return builtin_card_paths(METHOD)


@hookimpl
def handzoo_register(registries) -> None:
    """Register the method, its head and its loss (imports torch code only now)."""
    from .head import ManoCamHead
    from .losses import CompactHandLoss
    from .model import CompactHand

    registries.METHODS.register_module(module=CompactHand)
    registries.HEADS.register_module(module=ManoCamHead)
    registries.LOSSES.register_module(module=CompactHandLoss)
