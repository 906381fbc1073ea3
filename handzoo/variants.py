"""The table of model variants, read from the plugins' model cards (no torch, no mmengine)."""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable

from handzoo.catalogue.cards import ModelCard
from handzoo.errors import ModelNotFoundError
from handzoo.plugins import get_plugin_manager

__all__ = ["model_cards", "list_models", "model_info"]


def model_cards() -> dict[str, ModelCard]:
    """Every known variant's card, by name."""
    return get_plugin_manager().cards()


def list_models(
    pattern: str | Iterable[str] = "*",
    exclude: str | Iterable[str] | None = None,
    method: str | None = None,
    status: str | None = None,
) -> list[str]:
    """List model variant names, like ``timm.list_models``.

    Args:
        pattern: fnmatch wildcard(s), e.g. ``'h2onet-*'``.
        exclude: wildcard(s) to leave out.
        method: keep only this method's variants.
        status: keep only ``'available'`` or ``'planned'`` variants (default: both).

    Returns:
        Sorted variant names.
    """
    pats = [pattern] if isinstance(pattern, str) else list(pattern)
    excl = [exclude] if isinstance(exclude, str) else list(exclude or [])
    names = []
    for name, card in model_cards().items():
        if not any(fnmatch.fnmatchcase(name, p) for p in pats):
            continue
        if any(fnmatch.fnmatchcase(name, p) for p in excl):
            continue
        if method is not None and card.method != method:
            continue
        if status is not None and card.status.value != status:
            continue
        names.append(name)
    return sorted(names)


def model_info(name: str) -> ModelCard:
    """Return the card of a model variant.

    Raises:
        ModelNotFoundError: for an unknown name, with the closest known names.
    """
    cards = model_cards()
    if name in cards:
        return cards[name]
    close = difflib.get_close_matches(name, list(cards), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "run `handzoo list` to see the known variants"
    raise ModelNotFoundError(f"unknown model variant {name!r}", hint=hint)
