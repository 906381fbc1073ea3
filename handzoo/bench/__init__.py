"""The benchmark harness: every model on every dataset, official protocols, one report.

``handzoo-bench`` (:mod:`handzoo.bench.cli`) is the command line; :func:`run_bench` and
:func:`write_report` are the same thing from Python. Heavy modules load on first use.
"""

from __future__ import annotations

from handzoo._lazy import lazy_getattr

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


__getattr__ = lazy_getattr(__name__, _LAZY)
