"""``handzoo-bench``: run models on datasets and score them with the official protocols."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from handzoo.errors import HandzooError

__all__ = ["main"]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="handzoo-bench", description="Benchmark handzoo models on datasets.")
    parser.add_argument("--all", action="store_true", help="every model on every available dataset")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``handzoo-bench`` and return its exit code."""
    _build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        from handzoo.variants import list_models, model_cards

        cards = model_cards()
        names = list_models()
        print(f"handzoo-bench: {len(names)} model variants known; the harness is not built yet.")
        for n in names:
            print(f"  {n:22s} weights: {'published' if cards[n].hub else 'convert-needed'}")
        print("No dataset loaders or weights are available yet: nothing was evaluated.")
        return 0
    except HandzooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
