"""Model cards (kept for compatibility): the types and readers live in :mod:`handzoo.catalogue.cards`."""

from __future__ import annotations

from handzoo.catalogue.cards import (
    CARD_PACKAGE,
    ModelCard,
    Status,
    builtin_card_paths,
    load_card,
    parse_card,
    render_card,
)

__all__ = ["ModelCard", "Status", "load_card", "parse_card", "render_card", "builtin_card_paths", "CARD_PACKAGE"]
