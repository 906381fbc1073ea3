"""Wall time of `handzoo list` and `handzoo plugins` (target: < 1 s each on 2 CPU cores).

Runs each command as a fresh process (the way a user runs it) several times and writes the
median and max to benchmarks/results/cli_startup.json.

    .venv/bin/python benchmarks/bench_cli_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {"handzoo list": ["list"], "handzoo list --json": ["list", "--json"], "handzoo plugins": ["plugins"]}


def time_command(args: list[str], repeats: int) -> list[float]:
    """Wall seconds of `python -m handzoo.cli ARGS`, one fresh process per repeat."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "handzoo.cli", *args], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "cli_startup.json"))
    args = parser.parse_args()
    time_command(["list"], 1)  # warm the filesystem cache
    results = {}
    for label, cmd in COMMANDS.items():
        t = time_command(cmd, args.repeats)
        results[label] = {"median_s": round(statistics.median(t), 4), "max_s": round(max(t), 4), "runs": len(t)}
        print(f"{label:24s} median {results[label]['median_s']:.3f} s  max {results[label]['max_s']:.3f} s")
    out = {
        "benchmark": "cli_startup",
        "target_s": 1.0,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "results": results,
        "passed": all(r["median_s"] < 1.0 for r in results.values()),
    }
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
