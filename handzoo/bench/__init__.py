"""The benchmark harness: every model on every dataset, official protocols, one report.

``handzoo-bench`` (:mod:`handzoo.bench.cli`) is the command line; :func:`run_bench` and
:func:`write_report` are the same thing from Python. Heavy modules load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "BenchConfig": "handzoo.bench.runner:BenchConfig",
    "Providers": "handzoo.bench.runner:Providers",
    "BenchRun": "handzoo.bench.runner:BenchRun",
    "run_bench": "handzoo.bench.runner:run_bench",
    "write_report": "handzoo.bench.report:write_report",
    "validate_document": "handzoo.bench.report.document:validate_document",
    "BASELINES": "handzoo.bench.baselines:BASELINES",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'handzoo.bench' has no attribute {name!r}")
    module, attr = target.split(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value
