"""A long run of the fuzz suite (``tests/fuzz``): inputs tried per reader, and how each ended.

Runs pytest on ``tests/fuzz`` with the long hypothesis profile (``HANDZOO_FUZZ_LONG=1``; the CI
profile of ``make test`` is a few seconds per reader) and writes
``benchmarks/results/fuzz_long.json``: examples per reader and outcome ("ok" or the HandzooError
class that refused the input), and the failures: tracebacks (any exception that is not a
HandzooError), hangs (an input over the per-input limit) and data loss (a refused conversion
that changed the cached weights). All three must be 0.

    nice -n 10 .venv/bin/python benchmarks/bench_fuzz.py [--files tests/fuzz/test_fuzz_cards.py ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    """Run the long fuzz profile and write the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", nargs="*", default=["tests/fuzz"], help="fuzz test files or folders")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fuzz_long.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        counts = Path(tmp) / "counts.json"
        junit = Path(tmp) / "junit.xml"
        env = {**os.environ, "HANDZOO_FUZZ_LONG": "1", "HANDZOO_FUZZ_REPORT": str(counts), "OMP_NUM_THREADS": "1"}
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", *args.files, "-q", "-p", "no:randomly", f"--junitxml={junit}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t0
        report = json.loads(counts.read_text()) if counts.exists() else {"readers": {}, "examples": 0}
        xml = junit.read_text() if junit.exists() else ""
    failures = re.findall(r'<testcase[^>]*name="([^"]+)"[^>]*>\s*<failure message="([^"]*)"', xml)
    hangs = [name for name, msg in failures if "Hang" in msg or "longer than" in msg]
    data_loss = [name for name, msg in failures if "convert" in name and "sha256" in msg]
    tracebacks = [name for name, _ in failures if name not in hangs and name not in data_loss]
    result = {
        "what": "long fuzz run of tests/fuzz (HANDZOO_FUZZ_LONG=1): a HandzooError or a correct result, nothing else",
        "files": args.files,
        "examples": report.get("examples", 0),
        "readers": report.get("readers", {}),
        "tests": len(re.findall(r"<testcase ", xml)),
        "tracebacks": len(tracebacks),
        "hangs": len(hangs),
        "data_loss": len(data_loss),
        "failed_tests": [name for name, _ in failures],
        "wall_s": round(wall, 1),
        "pytest_exit": proc.returncode,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "note": "a shared, loaded 2-core machine; hypothesis derandomized (the run is reproducible)",
    }
    Path(args.out).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps({k: result[k] for k in ("examples", "tests", "tracebacks", "hangs", "data_loss", "wall_s")}))
    if proc.returncode not in (0, 1):
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
    return 0 if not failures and proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
