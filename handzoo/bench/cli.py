"""``handzoo-bench``: every model on every dataset, scored with the official protocols, one report.

Examples::

    handzoo-bench --all                                  # everything available here
    handzoo-bench --models 'smhr-*,zero' --datasets freihand --data-root ~/data
    handzoo-bench --all --json > results.json            # machine-readable, schema-checked
    handzoo-bench --weights my-variant=model.safetensors --datasets synthetic   # a local file
    handzoo-bench --models 'my-*' --untrained --limit 8  # random weights: does the pipeline run?
    torchrun --nproc-per-node 2 -m handzoo.bench --all   # distributed (gloo on CPU)
    handzoo-bench score --protocol freihand --gt-dir GT --pred pred.json --out scores/

Progress bars go to stderr; with ``--json`` stdout holds only the results document.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the benchmark command (``score`` is dispatched separately)."""
    p = argparse.ArgumentParser(
        prog="handzoo-bench",
        description="Benchmark handzoo models on datasets with the official evaluation protocols. "
        "Sub-command: `handzoo-bench score ...` scores an official submission file.",
    )
    sel = p.add_argument_group("what to evaluate")
    sel.add_argument("--all", action="store_true", help="every model with weights on every dataset found")
    sel.add_argument("--models", metavar="PATTERN", help="comma-separated wildcards, e.g. 'smhr-*,mean-hand'")
    sel.add_argument("--datasets", metavar="NAMES", help="comma-separated dataset names (default: all found)")
    sel.add_argument(
        "--data-root",
        metavar="DIR|NAME=DIR",
        action="append",
        default=[],
        help="folder holding one sub-folder per dataset, or one dataset's folder (repeatable; default: $HANDZOO_DATA)",
    )
    sel.add_argument("--split", help="evaluate this split instead of each dataset's official test split")
    sel.add_argument("--limit", type=int, metavar="N", help="evaluate only the first N samples of each split")
    sel.add_argument(
        "--weights",
        metavar="VARIANT=FILE",
        action="append",
        default=[],
        help="evaluate VARIANT with a local safetensors file (e.g. from `handzoo convert --out` or training) "
        "instead of its published weights (repeatable; selects VARIANT when --models is not given)",
    )
    sel.add_argument(
        "--untrained",
        action="store_true",
        help="evaluate the selected variants randomly initialised (seeded): a smoke run of the pipeline; "
        "results are marked 'untrained'",
    )
    run = p.add_argument_group("how")
    run.add_argument("--batch-size", type=int, default=16, help="images per model call (default 16)")
    run.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    run.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="DataLoader worker processes reading/rendering samples (default: min(2, CPU count))",
    )
    run.add_argument("--no-resume", dest="resume", action="store_false", help="re-run cells even if cached")
    run.add_argument("--no-progress", dest="progress", action="store_false", help="hide progress bars")
    out = p.add_argument_group("output")
    out.add_argument("--out", type=Path, default=Path("bench-report"), help="report folder (default ./bench-report)")
    out.add_argument("--json", action="store_true", help="print the results document (JSON) to stdout")
    return p


def _score(argv: list[str]) -> int:
    # Before numpy is imported (unless the user set them): scoring runs blocks of samples on its own
    # threads, one BLAS thread each, so numpy's OpenBLAS threads only spun (~0.15 s of CPU per run on 2
    # cores); and its transparent huge pages for large arrays cost more in zeroing 2 MB pages than they
    # saved (FreiHAND: ~0.15 s of CPU per run).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    mod = importlib.import_module("handzoo.protocols.score_cli")  # looked up at call time (tests swap it)
    parser = argparse.ArgumentParser(
        prog="handzoo-bench score", description="Score an official submission file with a handzoo protocol."
    )
    mod.add_arguments(parser)
    args = parser.parse_args(argv)
    return int(mod.run(args) or 0)  # errors: the envelope of main() (one line, exit 2)


def _split_names(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [n.strip() for n in value.split(",") if n.strip()] or None


def _weights_map(values: list[str]) -> dict[str, str]:
    """``['a=x.safetensors', ...]`` -> ``{'a': 'x.safetensors'}``."""
    from handzoo.errors import ConfigError

    out: dict[str, str] = {}
    for v in values:
        name, sep, path = v.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise ConfigError(
                f"--weights {v!r}: expected VARIANT=FILE", hint="e.g. --weights my-variant=model.safetensors"
            )
        if name.strip() in out:
            raise ConfigError(f"--weights gives two files for {name.strip()!r}")
        out[name.strip()] = path.strip()
    return out


def _bench(args: argparse.Namespace) -> int:
    from handzoo.bench.distributed import init_from_env
    from handzoo.bench.report import write_report
    from handzoo.bench.runner import BenchConfig, run_bench
    from handzoo.errors import ConfigError

    weights = _weights_map(args.weights)
    if not (args.all or args.models or args.datasets or weights):
        raise ConfigError(
            "nothing to evaluate", hint="pass --all, or choose with --models PATTERN and/or --datasets NAMES"
        )
    models = args.models
    if models is None and weights and not args.all:
        models = ",".join(weights)  # --weights alone: evaluate those variants
    cfg = BenchConfig(
        models=None if args.all and not models else models,
        datasets=_split_names(args.datasets),
        data_roots=list(args.data_root),
        split=args.split,
        batch_size=args.batch_size,
        device=args.device,
        limit=args.limit,
        out=args.out,
        workers=args.workers,
        progress=args.progress,
        resume=args.resume,
        weights=weights,
        untrained=args.untrained,
    )
    cfg.validate()
    ctx = init_from_env(args.device)
    try:
        run = run_bench(cfg, ctx=ctx)
        if not ctx.is_main:
            return 0
        doc = write_report(run, cfg.out)
    finally:
        ctx.close()
    if args.json:
        sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    else:
        from handzoo.bench.report.tables import markdown_report

        print(markdown_report(doc))
    report = Path(doc["files"]["dir"]) / doc["files"]["html"]
    print(f"handzoo-bench: report written to {doc['files']['dir']} (open {report})", file=sys.stderr)
    if not run.results:
        print(f"handzoo-bench: nothing was evaluated: {_why_nothing(run)}", file=sys.stderr)
        return 1
    return 0


def _why_nothing(run: Any) -> str:
    """One line: why a run evaluated no cell (a dataset-wide skip first, then a model-wide one)."""
    if not run.skipped:
        return "no model and dataset matched the selection"
    s = min(run.skipped, key=lambda x: (x.model != "*", x.dataset != "*"))
    more = f" (and {len(run.skipped) - 1} more skipped; see the report)" if len(run.skipped) > 1 else ""
    where = " @ ".join(x for x in (s.model, s.dataset) if x != "*") or "everything"
    return f"{where}: {s.reason}{more}".replace("\n", " ")


def _main(args_list: list[str]) -> int:
    if args_list and args_list[0] == "score":
        return _score(args_list[1:])
    args = build_parser().parse_args(args_list)
    return _bench(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``handzoo-bench`` and return its exit code (errors as one line; ``--debug`` for tracebacks)."""
    from handzoo.commands._envelope import run_cli

    return run_cli(
        _main, argv, interrupted="interrupted: finished cells are cached; run the same command again to resume"
    )


if __name__ == "__main__":
    sys.exit(main())
