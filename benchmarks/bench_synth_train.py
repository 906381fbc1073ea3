"""Synthetic training data at training speed: streamed renders vs a pre-rendered shard folder.

Measures samples per second reaching the trainer (the compact model's training transform
applied: perspective crop to 128 px, augmentation, targets), each repeated, medians reported:

* ``stream_0workers`` / ``stream_2workers``: the generator renders every sample in the
  DataLoader (``handzoo.train.data.StreamSamples``), in the main process or 2 worker processes;
* ``render_shards``: rendering a shard folder once (``python -m handzoo.train.shards``, 128 px,
  one process), samples per second;
* ``shards_read``: reading the pre-rendered folder back (``ShardSamples`` + transform, 0 workers).

Wall-clock rates with the CPU seconds of the main process and the load average (the cores are
shared). Writes ``benchmarks/results/synth_train.json``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_synth_train.py [--n 32] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from torch.utils.data import DataLoader, default_collate


def _transform():
    from handzoo.train.config import import_object

    return import_object("handzoo_compact.transform:CompactTrainTransform")(input_size=128)


def _rate(loader: DataLoader, n: int) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    seen = 0
    for batch in loader:
        seen += int(batch["img"].shape[0])
        if seen >= n:
            break
    return seen / (time.perf_counter() - t0), time.process_time() - c0


def bench_stream(n: int, workers: int, repeats: int) -> dict:
    from handzoo.train.data import StreamSamples, TrainingSet

    ds = TrainingSet(StreamSamples("synthetic", split="train", image_size=128, fill=(0.55, 0.85)), _transform())
    loader = DataLoader(
        ds, batch_size=8, num_workers=workers, collate_fn=default_collate, persistent_workers=workers > 0
    )
    t0 = time.perf_counter()
    _rate(loader, 8)  # warm-up (worker start)
    first = time.perf_counter() - t0
    rates = [_rate(loader, n) for _ in range(repeats)]
    return {
        "samples_per_s": round(statistics.median(r[0] for r in rates), 2),
        "main_process_cpu_ms_per_sample": round(statistics.median(r[1] for r in rates) / n * 1000, 1),
        "first_batch_s": round(first, 2),
        "workers": workers,
        "n": n,
    }


def bench_shards(n: int, repeats: int) -> tuple[dict, dict]:
    from handzoo.train.data import ShardSamples, TrainingSet
    from handzoo.train.shards import render_shards

    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        render_shards(tmp, n=n, seed=9, shard_size=n, workers=0, image_size=128, fill=(0.55, 0.85), progress=False)
        render = {
            "samples_per_s": round(n / (time.perf_counter() - t0), 2),
            "cpu_ms_per_sample": round((time.process_time() - c0) / n * 1000, 1),
            "n": n,
            "processes": 1,
        }
        ds = TrainingSet(ShardSamples(tmp), _transform())
        loader = DataLoader(ds, batch_size=8, num_workers=0, collate_fn=default_collate, shuffle=True)
        rates = [_rate(loader, n) for _ in range(max(repeats, 3))]
        read = {
            "samples_per_s": round(statistics.median(r[0] for r in rates), 1),
            "cpu_ms_per_sample": round(statistics.median(r[1] for r in rates) / n * 1000, 2),
            "n": n,
        }
    return render, read


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=32)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "synth_train.json"))
    a = p.parse_args()
    load0 = os.getloadavg()
    render, read = bench_shards(a.n, a.repeats)
    res = {
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "image_size": 128,
        "render_shards": render,
        "shards_read": read,
        "stream_0workers": bench_stream(a.n, 0, a.repeats),
        "stream_2workers": bench_stream(a.n, 2, a.repeats),
        "loadavg_before": [round(x, 2) for x in load0],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "note": "the cores are shared with other jobs; rates are wall-clock, compare within one file",
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
