"""``handzoo-bench score``: score an official submission file locally, like the benchmark's server.

::

    handzoo-bench score --protocol freihand --gt-dir GT --pred pred.json --out scores/ [--json]

writes ``scores.txt`` (the official keys, units and ``%f`` formatting), ``scores.json`` (full
precision, the protocol statement, the common metric names) and ``pck.png`` (PCK curves) into
``--out``. The CLI of :mod:`handzoo.bench` wires :func:`add_arguments` and :func:`run`; the module
also runs on its own: ``python -m handzoo.protocols.score_cli ...``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from handzoo.errors import ConfigError, HandzooError
from handzoo.protocols import PROTOCOL_ALIASES, get_protocol, list_protocols
from handzoo.protocols._progress import rich_progress
from handzoo.protocols.report import result_payload, write_outputs

__all__ = ["add_arguments", "run", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``score`` options to ``parser``."""
    parser.add_argument(
        "--protocol",
        required=True,
        metavar="NAME",
        help=f"evaluation protocol: {', '.join(list_protocols())} (aliases: {', '.join(PROTOCOL_ALIASES)})",
    )
    parser.add_argument(
        "--gt-dir", required=True, type=Path, metavar="DIR", help="folder with the ground-truth files of the protocol"
    )
    parser.add_argument(
        "--pred", required=True, type=Path, metavar="FILE", help="the submission file (or a folder holding pred.json)"
    )
    parser.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="where to write scores.txt, scores.json and pck.png"
    )
    parser.add_argument("--json", action="store_true", help="print scores.json on stdout instead of a table")
    parser.add_argument("--no-plot", action="store_true", help="do not draw pck.png")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--paper-metrics",
        action="store_true",
        help="also compute metrics that a protocol's paper reports but its official script does not "
        "(dexycb-h2onet: PA-AUC-J/V, F@5, F@15); off by default, so the run does the official work only",
    )


def _table(result_scores: dict[str, float], notes: list[str], written: dict[str, Path], seconds: float) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="scores.txt")
    table.add_column("key")
    table.add_column("value", justify="right")
    for k, v in result_scores.items():
        table.add_row(k, f"{v:f}")
    console.print(table)
    for n in notes:
        console.print(f"[yellow]note:[/] {n}")
    console.print(f"scored in {seconds:.2f} s; wrote " + ", ".join(str(p) for p in written.values()))


def run(args: argparse.Namespace) -> int:
    """Score ``args.pred`` against ``args.gt_dir`` with ``args.protocol`` and write the outputs.

    Returns:
        0 on success.

    Raises:
        HandzooError: unknown protocol, missing or malformed files (SubmissionError,
            DatasetNotFoundError, ...), unwritable output folder.
    """
    protocol = get_protocol(args.protocol)
    quiet = bool(getattr(args, "json", False) or getattr(args, "no_progress", False))
    t0 = time.perf_counter()
    extra = {}
    if getattr(args, "paper_metrics", False):
        import inspect

        if "paper_metrics" not in inspect.signature(protocol.score_files).parameters:
            raise ConfigError(
                f"protocol {protocol.name!r} has no paper-only metrics",
                hint="--paper-metrics applies to dexycb-h2onet; drop it for this protocol",
            )
        extra["paper_metrics"] = True
    with rich_progress(not quiet) as progress:
        result = protocol.score_files(args.gt_dir, args.pred, progress, **extra)
    seconds = time.perf_counter() - t0
    inputs = {"gt_dir": str(args.gt_dir), "pred": str(args.pred)}
    written = write_outputs(result, protocol, args.out, inputs, plot=not getattr(args, "no_plot", False))
    if getattr(args, "json", False):
        print(json.dumps(result_payload(result, protocol, inputs), indent=2, allow_nan=False))
    else:
        _table(result.scores, result.notes, written, seconds)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m handzoo.protocols.score_cli``)."""
    parser = argparse.ArgumentParser(
        prog="handzoo-bench score", description="Score an official submission file with a handzoo protocol."
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except HandzooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
