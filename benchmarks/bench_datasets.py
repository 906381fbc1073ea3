"""Synthetic data generation and dataset loading throughput (224 px, 2 CPU cores).

Measures, each repeated and reported as the median:

* ``render``: one open-hand render (224 px, 2x supersampling) with ``render_mesh``;
* ``synth_1proc``: synthetic sample generation in one process (torch threads = 2);
* ``synth_dataloader``: the synthetic dataset through ``torch.utils.data.DataLoader`` with two
  worker processes (one thread each) and :func:`handzoo.datasets.collate_samples`;
* ``freihand_disk``: a FreiHAND-layout folder written by ``handzoo data synth`` read back through
  a DataLoader (JPEG decoding + annotations), with 0 and 2 workers.

DataLoader rates are measured after one warm-up epoch (persistent workers), so worker start-up is
reported separately (``first_epoch_s``).

Wall-clock rates are reported with the CPU seconds used by the main process where meaningful
(single-process runs) and the machine's load average, because other jobs may share the cores.
Writes ``benchmarks/results/datasets.json``.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_datasets.py [--n 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch


def _median(xs: list[float]) -> float:
    return round(statistics.median(xs), 4)


def bench_render(repeats: int) -> dict:
    from handzoo.datasets.synth.scene import HandSynthesizer
    from handzoo.render import render_mesh

    gen = HandSynthesizer()
    s = gen.generate(0, 0)
    faces = torch.as_tensor(gen.faces[int(s.side[0])][: gen.data.faces.shape[0]])
    verts = torch.as_tensor(s.vertices[0])
    K = torch.as_tensor(s.K)
    render_mesh(verts, faces, K, (224, 224), supersample=2)
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(10):
            render_mesh(verts, faces, K, (224, 224), colors=(0.8, 0.6, 0.5), supersample=2)
        walls.append((time.perf_counter() - t0) / 10)
        cpus.append((time.process_time() - c0) / 10)
    return {"ms_per_render_wall": _median(walls) * 1000, "ms_per_render_cpu": _median(cpus) * 1000}


def bench_synth_single(n: int, repeats: int) -> dict:
    from handzoo.datasets import SyntheticHands

    torch.set_num_threads(2)
    ds = SyntheticHands(split="bench")
    ds[0]  # build the generator
    walls, cpus = [], []
    for r in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(n):
            ds[(r * n + i) % len(ds)]
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return {
        "images": n,
        "images_per_s_wall": round(n / statistics.median(walls), 2),
        "images_per_s_cpu": round(n / statistics.median(cpus), 2),
        "cpu_s_per_image": round(statistics.median(cpus) / n, 4),
    }


def _loader_rate(ds, n: int, workers: int, batch: int, repeats: int) -> dict:
    """Images per second through a DataLoader, after one warm-up epoch (worker start-up excluded)."""
    from torch.utils.data import DataLoader, Subset

    from handzoo.datasets import collate_samples

    dl = DataLoader(
        Subset(ds, list(range(min(n, len(ds))))),
        batch_size=batch,
        num_workers=workers,
        collate_fn=collate_samples,
        persistent_workers=workers > 0,
        worker_init_fn=_one_thread if workers else None,
    )
    t0 = time.perf_counter()
    for _ in dl:
        pass
    first = time.perf_counter() - t0
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        seen = sum(int(b["num_hands"].shape[0]) for b in dl)
        rates.append(seen / (time.perf_counter() - t0))
    return {
        "images": len(dl.dataset),
        "workers": workers,
        "batch_size": batch,
        "images_per_s": round(statistics.median(rates), 2),
        "first_epoch_s": round(first, 2),
    }


def _one_thread(_worker_id: int) -> None:
    torch.set_num_threads(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=64, help="images per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "datasets.json"))
    args = parser.parse_args()
    from handzoo.datasets import SyntheticHands, load_dataset
    from handzoo.datasets.synth.scene import SynthConfig
    from handzoo.datasets.synth.writer import write_freihand_layout

    load_before = os.getloadavg()
    results: dict = {}
    results["render"] = bench_render(args.repeats)
    print("render", results["render"])
    results["synth_1proc"] = bench_synth_single(args.n, args.repeats)
    print("synth_1proc", results["synth_1proc"])
    results["synth_dataloader"] = _loader_rate(SyntheticHands(split="bench"), args.n, 2, 16, args.repeats)
    print("synth_dataloader", results["synth_dataloader"])
    with tempfile.TemporaryDirectory() as tmp:
        gen = SyntheticHands(split="bench")
        write_freihand_layout((gen[i] for i in range(args.n)), tmp, extra_info={"config": SynthConfig().to_dict()})
        disk = load_dataset("freihand", root=tmp, split="training")
        results["freihand_disk_0workers"] = _loader_rate(disk, args.n, 0, 32, args.repeats)
        print("freihand_disk_0workers", results["freihand_disk_0workers"])
        results["freihand_disk_2workers"] = _loader_rate(disk, args.n, 2, 32, args.repeats)
        print("freihand_disk_2workers", results["freihand_disk_2workers"])
    out = {
        "benchmark": "datasets",
        "image_size": 224,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "repeats": args.repeats,
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
