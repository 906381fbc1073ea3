"""``handzoo list``: the model variants, from their cards (no torch import)."""

from __future__ import annotations

import argparse

from handzoo.commands._output import print_json, print_table

HELP = "List model variants (fnmatch wildcards, like timm.list_models)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``handzoo list``."""
    parser.add_argument("pattern", nargs="?", default="*", help="wildcard, e.g. 'h2onet-*'")
    parser.add_argument("--method", help="only this method's variants")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _row(card) -> dict:
    hub = card.hub
    return {
        "name": card.name,
        "method": card.method,
        "plugin": card.plugin,
        "license": card.license,
        "hand_model": card.hand_model,
        "weights": "published" if hub else "convert-needed",
        "summary": card.summary,
    }


def run(args: argparse.Namespace) -> int:
    """List the variants matching the pattern."""
    from handzoo.variants import list_models, model_cards

    cards = model_cards()
    rows = [_row(cards[n]) for n in list_models(args.pattern, method=args.method)]
    status = _weights_status()
    for r in rows:
        if status is not None:
            r["weights"] = status(cards[r["name"]])
    if args.json:
        print_json(rows)
    else:
        cols = ["name", "method", "license", "hand_model", "weights"]
        print_table(f"handzoo models ({len(rows)})", cols, [[r[c] for c in cols] for r in rows])
    return 0


def _weights_status():
    """The hub's weights-status function when available (it checks the local cache)."""
    try:
        from handzoo.hub.status import weights_status
    except ImportError:
        return None
    return weights_status
