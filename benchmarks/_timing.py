"""Wall-clock timing shared by the benchmark scripts that time one callable at a time."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def times_ms(fn: Callable[[], object], runs: int, warmup: int) -> list[float]:
    """Milliseconds of ``runs`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def summary(ts: list[float]) -> dict:
    """Median and minimum (ms, 2 decimals) and the number of runs."""
    return {"median_ms": round(statistics.median(ts), 2), "min_ms": round(min(ts), 2), "runs": len(ts)}
