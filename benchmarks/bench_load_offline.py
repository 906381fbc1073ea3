"""``handzoo.load`` without network: how fast it fails, and how fast a cached load is.

Each measurement runs in a fresh process (the way a user meets it), with an empty temporary
``HANDZOO_CACHE`` and ``HF_HUB_OFFLINE=1`` unless stated:

* ``fail_unpublished``: ``handzoo.load("h2onet-dexycb")`` — no published weights, empty cache ->
  WeightsNotAvailableError (target < 2 s, and torch must not be imported);
* ``fail_offline_published``: the same card with a (fictitious) pinned Hub file, offline ->
  DownloadError (target < 2 s);
* ``fail_unreachable``: that card with Hub access on but ``HF_ENDPOINT`` on a closed local port ->
  DownloadError (target < 2 s, no retry back-off);
* ``cached_load``: ``handzoo.load("hand4whole-hand", hand_model="openhand")`` from a cache entry
  holding its 26 M-parameter state dict (random values, placed as a conversion would): the first
  call in a fresh process (imports torch/timm, hashes the 104 MB file, builds, loads) and a
  second call in the same process (hash + build + strict load), plus the sha256 check alone.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_load_offline.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_FAIL_S = 2.0

_FAIL = """
import json, sys, time
t0 = time.perf_counter()
import handzoo.hub.load as hl
from handzoo.errors import HandzooError
card = hl.model_card("h2onet-dexycb")
if {published}:
    hub = {{"repo_id": "handzoo/h2onet-dexycb", "filename": "model.safetensors", "revision": "a" * 40, "sha256": "b" * 64}}
    card = card.with_fields(weights={{**card.weights, "hub": hub}})
t1 = time.perf_counter()
try:
    hl.load(card)
    err = None
except HandzooError as exc:
    err = type(exc).__name__
t2 = time.perf_counter()
print(json.dumps({{"error": err, "call_s": t2 - t1, "script_s": t2 - t0, "torch": "torch" in sys.modules}}))
"""

_PREPARE = """
import os
from pathlib import Path
from safetensors.torch import save_file
from handzoo.hub.cache import place_entry, work_dir
from handzoo.hub.load import load
model = load("hand4whole-hand", pretrained=False, hand_model="openhand")
with work_dir() as wd:
    f = wd / "model.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(f))
    place_entry("hand4whole-hand", f, {"source": {"kind": "convert", "file": "benchmark-random"}})
print(sum(v.numel() for v in model.state_dict().values()))
"""

_CACHED = """
import json, time
t0 = time.perf_counter()
from handzoo.hub.load import load, model_card, resolve_weights
from handzoo.hub.cache import read_entry, verify_entry
t1 = time.perf_counter()
load("hand4whole-hand", hand_model="openhand")
t2 = time.perf_counter()
load("hand4whole-hand", hand_model="openhand")
t3 = time.perf_counter()
verify_entry(read_entry("hand4whole-hand"))
t4 = time.perf_counter()
print(json.dumps({"first_load_s": t2 - t1, "second_load_s": t3 - t2, "sha256_check_s": t4 - t3}))
"""


def _env(cache: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HANDZOO_", "HF_"))}
    env.update({"HANDZOO_CACHE": str(cache), "HF_HOME": str(cache.parent / "hf"), "HF_HUB_OFFLINE": "1"})
    env.setdefault("OMP_NUM_THREADS", "2")
    env.update(extra)
    return env


def _run(code: str, env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _closed_port_url() -> str:
    sys.path.insert(0, str(REPO))
    from handzoo.testing.hub import free_port_url

    return free_port_url()


def _summary(runs: list[dict], keys: list[str]) -> dict:
    res = {k: round(statistics.median(r[k] for r in runs), 4) for k in keys}
    res.update({f"{k}_max": round(max(r[k] for r in runs), 4) for k in keys})
    res["runs"] = len(runs)
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "load_offline.json"))
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        cases = {
            "fail_unpublished": (_FAIL.format(published=False), _env(cache)),
            "fail_offline_published": (_FAIL.format(published=True), _env(cache)),
            "fail_unreachable": (
                _FAIL.format(published=True),
                _env(cache, HF_HUB_OFFLINE="0", HF_ENDPOINT=_closed_port_url()),
            ),
        }
        for name, (code, env) in cases.items():
            runs = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                r = _run(code, env)
                r["process_s"] = time.perf_counter() - t0
                runs.append(r)
            summary = _summary(runs, ["call_s", "script_s", "process_s"])
            summary.update({"error": runs[0]["error"], "imports_torch": any(r["torch"] for r in runs)})
            results[name] = summary
            print(
                f"{name:24s} {summary['error']:26s} call {summary['call_s']:.3f} s  process {summary['process_s']:.3f} s"
            )
        n_params = int(
            subprocess.run(
                [sys.executable, "-c", _PREPARE], capture_output=True, text=True, env=_env(cache), cwd=REPO, check=True
            ).stdout.split()[-1]
        )
        runs = [_run(_CACHED, _env(cache)) for _ in range(args.repeats)]
        results["cached_load"] = _summary(runs, ["first_load_s", "second_load_s", "sha256_check_s"])
        results["cached_load"].update({"variant": "hand4whole-hand", "hand_model": "openhand", "parameters": n_params})
        c = results["cached_load"]
        print(
            f"cached_load              first {c['first_load_s']:.2f} s  second {c['second_load_s']:.2f} s  "
            f"sha256 {c['sha256_check_s']:.3f} s"
        )
    import torch

    out = {
        "benchmark": "load_offline",
        "target_fail_s": TARGET_FAIL_S,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "2"),
        },
        "results": results,
        "passed": all(results[k]["call_s"] < TARGET_FAIL_S for k in cases)
        and not results["fail_unpublished"]["imports_torch"],
    }
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
