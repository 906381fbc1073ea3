"""What to tell a user whose weights are missing: the authors' checkpoint and the convert command."""

from __future__ import annotations

from handzoo.catalogue.cards import ModelCard
from handzoo.errors import WeightsNotAvailableError

__all__ = ["convert_command", "original_source", "weights_not_available"]


def convert_command(card: ModelCard) -> str:
    """The exact ``handzoo convert`` command for a variant (original file name when the card knows it)."""
    original = card.original
    return f"handzoo convert {card.name} {(original.filename if original else None) or 'CHECKPOINT'}"


def original_source(card: ModelCard) -> str:
    """Where the authors publish the checkpoint, in one line (URL, mirrors, notes)."""
    original = card.original
    if not original:
        return "the authors published no checkpoint for this variant"
    parts = [f"{original.filename or 'the checkpoint'} ({original.format or '?'}) from {original.url}"]
    if original.mirrors:
        parts.append("also: " + ", ".join(original.mirrors))
    return "; ".join(parts)


def weights_not_available(card: ModelCard) -> WeightsNotAvailableError:
    """The error raised when a variant has neither cached nor published weights."""
    if not card.original:
        return WeightsNotAvailableError(
            f"no weights are available for {card.name}: nothing is published on the Hub and the authors "
            "released no checkpoint",
            hint=f"train it, or build it untrained with handzoo.load({card.name!r}, pretrained=False)",
        )
    return WeightsNotAvailableError(
        f"no converted weights of {card.name} are published on the Hugging Face Hub and none are in the local "
        f"cache. Download the authors' checkpoint: {original_source(card)}",
        hint=f"then run `{convert_command(card)}` once; handzoo.load({card.name!r}) then works offline",
    )
