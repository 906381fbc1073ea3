"""``handzoo info VARIANT``: one model card."""

from __future__ import annotations

import argparse

from handzoo.commands._output import plain, print_json

HELP = "Show a model variant's card: method, input, hand model, weights, paper results, licence."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``handzoo info``."""
    parser.add_argument("variant")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    """Print the card."""
    from handzoo.hub.status import weights_status
    from handzoo.variants import model_info

    card = model_info(args.variant)
    status = weights_status(card)
    if args.json:
        print_json({**card.to_dict(), "weights_status": status})
        return 0
    from rich.console import Console

    # every line holds third-party text (the card's): plain text, no markup, no highlighting
    console = Console(markup=False, highlight=False, emoji=False)

    def say(line: str) -> None:
        console.print(plain(line))

    paper = card.paper
    say(f"{card.name}  (method {card.method}, plugin {card.plugin})")
    if card.planned:
        say("status: planned — the method has no code in handzoo yet; `handzoo.load` refuses it")
    if card.summary:
        say(card.summary)
    say(f"paper: {paper.title or '?'} — {paper.authors or '?'}, {paper.venue or '?'} {paper.year or ''}")
    say(f"licence: {card.license}")
    if card.input:
        say(f"input: {card.input.to_dict()}")
    say(f"hand model: {card.hand_model or 'none'}")
    hub = card.hub
    where = f"hub {hub.repo_id}/{hub.filename}" if hub else "not published (convert the original)"
    say(f"weights: {where} — status: {status}")
    if card.original is not None:
        say(f"original checkpoint: {card.original.to_dict()}")
    for r in card.results:
        say(f"paper result: {r.dataset} {r.metric} = {r.value} {r.unit} ({r.source})")
    return 0
