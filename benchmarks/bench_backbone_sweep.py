"""Backbone sweep of the compact model: accuracy per CPU millisecond, same short training budget.

Each candidate timm backbone (from scratch, no pretrained download) replaces the compact
model's backbone; all train through ``handzoo-train compact-openhand`` (mmengine Runner) with
the same seed, data, batch, learning-rate schedule and number of iterations on a pre-rendered
synthetic shard folder, then are scored with the bench's protocol (``freihand``: PA-MPJPE,
F@15) on the synthetic validation split (seed 1), and timed at batch 1 on the CPU (network on a
preprocessed 128x128 crop, median of ``--runs`` calls after warm-up, one thread, inference mode).

The budget is short (minutes per candidate on a shared 2-core machine), so the numbers rank the
backbones early in training; they are not the accuracy of a full run (the shipped model trained
3000 iterations on 2 processes). Writes ``benchmarks/results/backbone_sweep.json``.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_backbone_sweep.py \
        [--iters 300] [--n-train 800] [--val 64] [--candidates regnetx_002 mobilenetv3_small_100 ...]
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

import torch

DEFAULT_CANDIDATES = ("regnetx_002", "mobilenetv3_small_100", "efficientnet_b0", "resnet10t")


def _latency_ms(method: torch.nn.Module, size: int, runs: int) -> dict[str, float]:
    method.eval()
    x = {"img": torch.randn(1, 3, size, size)}
    with torch.inference_mode():
        for _ in range(5):
            method(x)
        ts = []
        for _ in range(runs):
            t0 = time.perf_counter()
            method(x)
            ts.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": round(statistics.median(ts), 2), "min_ms": round(min(ts), 2), "runs": runs}


def _train_one(name: str, shards: Path, work: Path, a: argparse.Namespace) -> dict:
    from handzoo.train.runner import train

    warm = max(1, min(30, a.iters // 10))
    overrides = {
        "max_iters": a.iters,
        "model.kwargs": {"backbone": {"type": "TimmBackbone", "name": name, "out_indices": [4]}},
        "train_data.source": {"type": "shards", "roots": [str(shards)]},
        "train_data.batch_size": a.batch,
        "train_data.num_workers": 0,
        "val_data": {
            "dataset": {"name": "synthetic", "split": "val", "n": a.val},
            "protocol": "freihand",
            "batch_size": 16,
            "interval": a.iters,
        },
        "param_scheduler": [
            {"type": "LinearLR", "start_factor": 0.05, "by_epoch": False, "begin": 0, "end": warm},
            {"type": "CosineAnnealingLR", "by_epoch": False, "begin": warm, "end": a.iters, "eta_min": 2e-5},
        ],
        "ema": None,
        "checkpoint_interval": a.iters,
        "log_interval": 25,
        "seed": 0,
    }
    t0 = time.process_time()
    w0 = time.perf_counter()
    runner = train("compact-openhand", work_dir=work / name, overrides=overrides)
    train_cpu_s = time.process_time() - t0
    train_wall_s = time.perf_counter() - w0
    metrics = {
        k.rsplit("/", 1)[1]: round(float(v.current()), 4)
        for k, v in runner.message_hub.log_scalars.items()
        if k.startswith("val/val/")  # the protocol's metrics (not the loop's timings)
    }
    curve = [json.loads(x) for x in (work / name / "loss_curve.jsonl").read_text().splitlines()]
    method = runner.model.method
    params = int(sum(p.numel() for p in method.backbone.parameters()))
    lat = _latency_ms(method, 128, a.runs)
    return {
        "backbone": name,
        "backbone_parameters": params,
        "val": metrics,
        "network_b1_cpu": lat,
        "train_cpu_s": round(train_cpu_s, 1),
        "train_wall_s": round(train_wall_s, 1),
        "loss_first_25": round(statistics.mean(r["loss"] for r in curve[:25]), 4),
        "loss_last_25": round(statistics.mean(r["loss"] for r in curve[-25:]), 4),
    }


def _preimport(tries: int = 20, wait_s: float = 30.0) -> None:
    """Import the scoring code once, up front (a checkout being edited may fail to import for a
    moment: retry), so that the evaluation after each training uses the same code."""
    import importlib

    mods = (
        "handzoo.protocols",
        "handzoo.protocols.freihand",
        "handzoo.bench.scoring",
        "handzoo.bench.records",
        "handzoo.bench.inference",
        "handzoo.train.evaluation",
    )
    for i in range(tries):
        try:
            for m in mods:
                importlib.import_module(m)
            return
        except ImportError as exc:
            if i == tries - 1:
                raise
            print(f"import failed ({exc}); retrying in {wait_s:.0f} s", file=sys.stderr, flush=True)
            for m in [k for k in sys.modules if k.startswith(("handzoo.protocols", "handzoo.bench"))]:
                del sys.modules[m]
            time.sleep(wait_s)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--candidates", nargs="+", default=list(DEFAULT_CANDIDATES))
    p.add_argument("--iters", type=int, default=300, help="training iterations per candidate")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--n-train", type=int, default=800, help="training samples rendered (seed 3)")
    p.add_argument("--val", type=int, default=64, help="validation samples (synthetic val split, seed 1)")
    p.add_argument("--runs", type=int, default=50, help="timed calls per latency figure")
    p.add_argument("--shards", help="use this shard folder instead of rendering one")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "backbone_sweep.json"))
    a = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    _preimport()
    from handzoo.train.shards import render_shards

    tmp = Path(tempfile.mkdtemp(prefix="handzoo-sweep-"))
    shards = Path(a.shards) if a.shards else tmp / "synth128"
    t0 = time.perf_counter()
    if not a.shards:
        render_shards(shards, a.n_train, seed=3, shard_size=200, workers=0, image_size=128, fill=(0.55, 0.85))
    render_s = time.perf_counter() - t0
    load0 = os.getloadavg()
    budget = {"iterations": a.iters, "batch": a.batch, "train_samples": a.n_train, "val_samples": a.val}
    partial = Path(a.out).with_suffix(".partial.json")  # finished candidates survive an interrupted sweep
    done = json.loads(partial.read_text()) if partial.is_file() else {}
    rows = [r for r in done.get("candidates", []) if done.get("budget") == budget and r["backbone"] in a.candidates]
    for name in a.candidates:
        if any(r["backbone"] == name for r in rows):
            continue
        print(f"== {name}", file=sys.stderr, flush=True)
        rows.append(_train_one(name, shards, tmp / "runs", a))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps({"budget": budget, "candidates": rows}, indent=1) + "\n")
    rows.sort(key=lambda r: a.candidates.index(r["backbone"]))
    for r in rows:
        pa = r["val"].get("PA-MPJPE")
        r["pa_mpjpe_x_ms"] = round(pa * r["network_b1_cpu"]["median_ms"], 2) if pa is not None else None
    ranked = sorted((r for r in rows if r["val"].get("PA-MPJPE") is not None), key=lambda r: r["pa_mpjpe_x_ms"])
    res = {
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "what": "compact-openhand with each backbone, from scratch, same seed/data/schedule/iterations; "
        "scored on the synthetic val split (freihand protocol), CPU latency of the network at batch 1",
        "budget": budget,
        "render_s": round(render_s, 1),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor()},
        "loadavg_before": [round(x, 2) for x in load0],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "candidates": rows,
        "best_pa_mpjpe_x_ms": ranked[0]["backbone"] if ranked else None,
        "note": "short budget: ranks backbones early in training, not the accuracy of a full run; "
        "latency on a shared machine (see loadavg)",
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    partial.unlink(missing_ok=True)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
