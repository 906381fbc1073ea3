"""Weights status of a variant, for ``handzoo list`` (cheap: no torch, no network, no hashing)."""

from __future__ import annotations

from typing import Literal

from handzoo.catalogue.cards import ModelCard
from handzoo.hub.cache import CacheEntry, read_entry

__all__ = ["WeightsStatus", "weights_status", "usable_cache_entry"]

WeightsStatus = Literal["published", "cached", "bundled", "convert-needed"]


def usable_cache_entry(card: ModelCard) -> CacheEntry | None:
    """The cache entry ``handzoo.load`` would use, or None.

    A download is stale (None) when the card now pins another sha256 than the one fetched; a
    locally converted file is always usable.
    """
    entry = read_entry(card.name)
    if entry is None:
        return None
    hub = card.hub
    if entry.source == "hub" and hub and entry.sha256 != hub.sha256:
        return None
    return entry


def weights_status(card: ModelCard) -> WeightsStatus:
    """Where ``handzoo.load`` would get the variant's weights from.

    Returns:
        ``"cached"`` when the local cache holds usable weights (converted locally, or downloaded
        and still matching the card's pinned sha256); ``"bundled"`` when they ship inside an
        installed package (``weights.bundled``); ``"published"`` when they can be downloaded
        from the Hugging Face Hub; ``"convert-needed"`` otherwise (run ``handzoo convert``).
    """
    if usable_cache_entry(card) is not None:
        return "cached"
    if card.weights.bundled is not None:
        return "bundled"
    return "published" if card.hub else "convert-needed"
