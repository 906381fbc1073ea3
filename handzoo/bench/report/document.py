"""The machine-readable report (``results.json``, also what ``--json`` prints).

Its shape is fixed by ``handzoo/bench/schema/results.schema.json``; :func:`validate_document`
checks a document against it (used by the tests and available to users).
"""

from __future__ import annotations

import datetime as _dt
import json
from importlib import resources
from typing import Any

from handzoo.bench.paper import paper_comparisons
from handzoo.bench.records import CellResult
from handzoo.errors import ConfigError

__all__ = ["SCHEMA_ID", "build_document", "load_schema", "validate_document", "headline_metrics"]

SCHEMA_ID = "https://handzoo.dev/schemas/bench-results-v1.json"


def headline_metrics(result: CellResult) -> list[str]:
    """Metric names to show in tables for ``result`` (the protocol's headline, else all)."""
    head = [m for m in result.info.get("headline", []) if m in result.metrics]
    return head or list(result.metrics)


def build_document(run: Any, files: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``results.json`` document of a :class:`~handzoo.bench.runner.BenchRun`."""
    cards = {e.name: e.card for e in run.models}
    statuses = {e.name: e.weights_status for e in run.models}
    results = []
    for r in run.results:
        d = r.to_dict()
        d["weights_status"] = statuses.get(r.cell.model, "baseline")
        # random weights are no result to compare with a paper
        d["paper"] = [] if d["weights_status"] == "untrained" else paper_comparisons(r, cards.get(r.cell.model))
        results.append(d)
    cfg = run.config
    env = dict(run.environment)
    return {
        "$schema": SCHEMA_ID,
        "schema_version": 1,
        "handzoo_version": env.get("handzoo_version", ""),
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "environment": env,
        "config": {
            "models": cfg.models if isinstance(cfg.models, (str, type(None))) else ",".join(cfg.models),
            "datasets": list(cfg.datasets) if cfg.datasets else None,
            "data_roots": list(cfg.data_roots),
            "split": cfg.split,
            "batch_size": cfg.batch_size,
            "device": str(cfg.device),
            "limit": cfg.limit,
            "workers": cfg.workers,
            "out": str(cfg.out),
        },
        "summary": {
            "cells_evaluated": sum(1 for r in run.results if not r.cached),
            "cells_cached": sum(1 for r in run.results if r.cached),
            "cells_skipped": len(run.skipped),
            "models_with_weights": sorted(
                e.name for e in run.models if e.kind == "model" and e.runnable and e.weights_status != "untrained"
            ),
            "baselines": sorted(e.name for e in run.models if e.kind == "baseline"),
            "wall_s": float(run.wall_s),
        },
        "results": results,
        "skipped": [s.to_dict() for s in run.skipped],
        "files": dict(files or {}),
    }


def load_schema() -> dict[str, Any]:
    """The JSON schema of ``results.json`` shipped with handzoo."""
    text = resources.files("handzoo.bench.schema").joinpath("results.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def validate_document(doc: dict[str, Any]) -> None:
    """Validate a results document against the schema.

    Raises:
        ConfigError: naming the first violation (or when ``jsonschema`` is not installed).
    """
    try:
        import jsonschema
    except ImportError:
        raise ConfigError("validating needs the jsonschema package", hint="pip install jsonschema") from None
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.path) or "<root>"
        raise ConfigError(f"results document invalid at {where}: {e.message}")
