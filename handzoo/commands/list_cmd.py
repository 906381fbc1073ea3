"""``handzoo list``: the model variants, from their cards (no torch import).

A variant whose method has no code yet is listed with status ``planned``.
"""

from __future__ import annotations

import argparse

from handzoo.catalogue.cards import ModelCard
from handzoo.commands._output import print_json, print_table

HELP = "List model variants (fnmatch wildcards, like timm.list_models)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``handzoo list``."""
    parser.add_argument("pattern", nargs="?", default="*", help="wildcard, e.g. 'h2onet-*'")
    parser.add_argument("--method", help="only this method's variants")
    parser.add_argument(
        "--status", choices=["available", "planned"], help="only variants with this status (planned = no code yet)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _row(card: ModelCard, weights: str) -> dict:
    return {
        "name": card.name,
        "method": card.method,
        "status": card.status.value,
        "plugin": card.plugin,
        "license": card.license,
        "hand_model": card.hand_model,
        "weights": weights,
        "summary": card.summary,
    }


def run(args: argparse.Namespace) -> int:
    """List the variants matching the pattern."""
    from handzoo.hub.status import weights_status
    from handzoo.variants import list_models, model_cards

    cards = model_cards()
    names = list_models(args.pattern, method=args.method, status=args.status)
    rows = [_row(cards[n], weights_status(cards[n])) for n in names]
    if args.json:
        print_json(rows)
    else:
        cols = ["name", "method", "status", "license", "hand_model", "weights"]
        print_table(f"handzoo models ({len(rows)})", cols, [[r[c] for c in cols] for r in rows])
    return 0
