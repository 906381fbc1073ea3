"""Weights status of a variant, for ``handzoo list`` (cheap: no torch, no network, no hashing)."""

from __future__ import annotations

from typing import Literal

from handzoo.hub.cache import read_entry
from handzoo.hub.cards import ModelCard

__all__ = ["WeightsStatus", "weights_status"]

WeightsStatus = Literal["published", "cached", "convert-needed"]


def weights_status(card: ModelCard) -> WeightsStatus:
    """Where ``handzoo.load`` would get the variant's weights from.

    Returns:
        ``"cached"`` when the local cache holds usable weights (converted locally, or downloaded
        and still matching the card's pinned sha256); ``"published"`` when they can be downloaded
        from the Hugging Face Hub; ``"convert-needed"`` otherwise (run ``handzoo convert``).
    """
    hub = card.hub
    entry = read_entry(card.name)
    if entry is not None:
        stale = entry.source == "hub" and hub is not None and entry.sha256 != hub.get("sha256")
        if not stale:
            return "cached"
    return "published" if hub else "convert-needed"
