"""Wall time of `handzoo-bench --all` on a fresh machine (target: < 10 min on 2 CPU cores).

Runs the command the way `make bench` does (a fresh process, empty report folder, nothing
downloaded: the synthetic benchmark split and the models whose weights are available), then
again on the same folder (every cell resumed from the cache), then with two processes under
`torchrun` (gloo), and checks that the two-process numbers equal the one-process ones. Writes
benchmarks/results/bench_harness.json.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_harness.py [--repeats 3] [--no-torchrun]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 600.0


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds and stderr of one command (it must succeed)."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return wall, proc.stderr


def cells(out: Path) -> dict[str, dict]:
    """Cell label -> metrics of a report folder."""
    doc = json.loads((out / "results.json").read_text())
    return {f"{r['model']}@{r['dataset']}/{r['protocol']}": r for r in doc["results"]}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="fresh runs (median reported)")
    parser.add_argument("--no-torchrun", action="store_true", help="skip the two-process run")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_harness.json"))
    args = parser.parse_args()

    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "2")
    env.setdefault("HF_HUB_OFFLINE", "1")
    # a fresh machine: an empty weights cache and no datasets
    scratch = Path(tempfile.mkdtemp(prefix="hz-bench-"))
    env["HANDZOO_CACHE"] = str(scratch / "cache")
    env.pop("HANDZOO_DATA", None)
    bench = [sys.executable, "-m", "handzoo.bench", "--all", "--no-progress"]
    load_before = os.getloadavg()[0]
    try:
        fresh = []
        for i in range(args.repeats):
            out = scratch / f"fresh{i}"
            wall, _ = run([*bench, "--out", str(out)], env)
            fresh.append(wall)
            print(f"fresh run {i + 1}: {wall:.1f} s")
        one = cells(scratch / "fresh0")
        resumed = []
        for _ in range(args.repeats):
            wall, _ = run([*bench, "--out", str(scratch / "fresh0")], env)
            resumed.append(wall)
        again = cells(scratch / "fresh0")
        assert all(r["cached"] for r in again.values()), "the second run did not resume every cell"
        print(f"resumed run: median {statistics.median(resumed):.1f} s")
        result: dict = {
            "benchmark": "bench_harness",
            "command": "handzoo-bench --all (fresh machine: empty cache, no datasets)",
            "target_s": TARGET_S,
            "machine": {
                "cpus": os.cpu_count(),
                "cpu": cpu_model(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "omp_num_threads": env["OMP_NUM_THREADS"],
                "load_avg_1min_at_start": round(load_before, 2),
                "note": "other jobs shared the machine while this ran; timings are noisy",
            },
            "cells": sorted(one),
            "models_with_weights": json.loads((scratch / "fresh0" / "results.json").read_text())["summary"][
                "models_with_weights"
            ],
            "samples_per_cell": {k: v["num_samples"] for k, v in one.items()},
            "fresh_s": {"median": round(statistics.median(fresh), 2), "max": round(max(fresh), 2), "runs": fresh},
            "resumed_s": {"median": round(statistics.median(resumed), 2), "runs": resumed},
        }
        if not args.no_torchrun:
            torchrun = str(Path(sys.executable).with_name("torchrun"))
            wall, _ = run(
                [
                    torchrun,
                    "--nproc-per-node",
                    "2",
                    "--standalone",
                    "-m",
                    "handzoo.bench",
                    "--all",
                    "--no-progress",
                    "--out",
                    str(scratch / "two"),
                ],
                env,
            )
            two = cells(scratch / "two")
            same = sorted(two) == sorted(one) and all(
                two[k]["metrics"] == one[k]["metrics"] and two[k]["curves"] == one[k]["curves"] for k in one
            )
            result["torchrun_2proc"] = {"wall_s": round(wall, 2), "metrics_equal_to_1proc": same}
            print(f"torchrun 2 processes: {wall:.1f} s, metrics equal to one process: {same}")
        result["passed"] = result["fresh_s"]["max"] < TARGET_S and result.get("torchrun_2proc", {}).get(
            "metrics_equal_to_1proc", True
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
