"""GPU latency (batch 1) and throughput (batch 32 / 128) of every method, in float32 and bf16.

Methods: H2ONet-SF, H2ONet-MF, Hand4Whole, SMHR (multi-hand at its default 384 input, FreiHAND
model at 224), DIGIT (256), 3D-hand RGB and RGB + heatmaps (256), the compact model (128). All
at batches 1, 32 and 128 (an H200's memory holds each; ``--batches`` picks others).

Per method, dtype (fp32, bf16 autocast) and batch:

* ``network_ms``: the forward alone, eager (median of CUDA-event timings);
* ``graph_ms``: the forward replayed as a CUDA graph (:class:`handzoo.cuda_graphs.CudaGraphForward`);
* ``end_to_end_ms``: make_query -> preprocess -> forward (graph replay at batch 1, eager
  otherwise) -> postprocess, from uint8 images in host memory to a ``HandOutput``, synchronised;
  ``images_per_s`` from it (MF: per 3-frame sample). H2ONet, Hand4Whole, SMHR and 3D-hand crop on
  the GPU; DIGIT and compact crop with OpenCV on the host (see the README's GPU section).

Random weights on the open hand model (speed does not depend on the values); 480x640 inputs,
one box each (3D-hand RGB+2D: 2D joints; SMHR: none, it detects). Needs a CUDA device: without
one it says so, writes nothing and exits with status 2. ``--device cpu`` runs every code path on
the CPU (a smoke test of this script; the CPU figures are not the point: the plugins' own
``bench_*`` scripts time the CPU).

    .venv/bin/python benchmarks/bench_gpu.py [--out benchmarks/results/gpu.json] [--repeats 50]
    .venv/bin/python benchmarks/bench_gpu.py --device cpu --batches 1 --repeats 1 --warmup 0 --methods compact
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

# bench name -> (catalogue variant, extra load arguments)
METHODS: dict[str, tuple[str, dict]] = {
    "H2ONet-SF": ("h2onet-sf-openhand", {}),
    "H2ONet-MF": ("h2onet-openhand", {}),
    "Hand4Whole": ("hand4whole-hand", {"hand_model": "openhand"}),
    "SMHR-multihand": ("smhr-multihand", {"hand_model": "openhand"}),
    "SMHR-freihand": ("smhr-freihand", {"hand_model": "openhand"}),
    "DIGIT": ("digit-interhand", {"hand_model": "openhand"}),
    "3DHand-RGB": ("3dhand-rgb", {"hand_model": "openhand"}),
    "3DHand-RGB2D": ("3dhand-rgb2d", {"hand_model": "openhand"}),
    "compact": ("compact-openhand", {}),
}


def _model(name: str) -> torch.nn.Module:
    """The method with seeded random weights on the open hand model (eval)."""
    import handzoo

    variant, kwargs = METHODS[name]
    torch.manual_seed(0)
    return handzoo.load(variant, pretrained=False, **kwargs).eval()


def _inputs(name: str, batch: int) -> tuple[list, list | None, dict]:
    """Images, boxes and extra query arguments for ``batch`` samples of a method."""
    rng = np.random.default_rng(batch)
    n = 3 * batch if name == "H2ONet-MF" else batch
    imgs = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(min(n, 8))]
    imgs = [imgs[i % len(imgs)] for i in range(n)]
    x0 = rng.uniform(100, 300, n)
    y0 = rng.uniform(50, 200, n)
    s = rng.uniform(120, 220, n)
    boxes = np.stack((x0, y0, x0 + s, y0 + s), 1)
    if name == "H2ONet-MF":
        return [imgs[3 * i : 3 * i + 3] for i in range(batch)], list(boxes.reshape(batch, 3, 4)), {}
    if name.startswith("SMHR"):
        return imgs, None, {}
    ctx: dict = {}
    if name == "3DHand-RGB2D":
        u = rng.uniform(0.1, 0.9, (n, 21, 2)) * s[:, None, None]
        ctx["joints2d"] = [(np.stack((x0[i], y0[i])) + u[i])[None] for i in range(n)]
    return imgs, list(boxes[:, None]), ctx


def _time(fn: Callable[[], object], repeats: int, warmup: int, cuda: bool) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    if cuda:
        torch.cuda.synchronize()
    ms = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            ms.append(max(start.elapsed_time(end), 1e3 * (time.perf_counter() - t0)))
        else:
            fn()
            ms.append(1e3 * (time.perf_counter() - t0))
    return {"median_ms": round(statistics.median(ms), 3), "min_ms": round(min(ms), 3), "repeats": repeats}


def _bench(name: str, model: torch.nn.Module, batch: int, dtype: str, repeats: int, warmup: int) -> dict:
    device = next(model.parameters()).device
    cuda = device.type == "cuda"
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=dtype == "bf16")
    images, boxes, ctx = _inputs(name, batch)
    row: dict = {"method": name, "variant": METHODS[name][0], "dtype": dtype, "batch": batch}
    with torch.inference_mode(), amp:
        net_batch, _ = model.preprocess(model.make_query(images, boxes, **ctx))
        row["input_shape"] = {k: list(v.shape) for k, v in net_batch.items() if isinstance(v, torch.Tensor)}
        row["network_ms"] = _time(lambda: torch.nn.Module.__call__(model, net_batch), repeats, warmup, cuda)
        runner = None
        if cuda and batch == 1:
            from handzoo.cuda_graphs import CudaGraphForward

            runner = CudaGraphForward(model, clone_outputs=False)
            row["graph_ms"] = _time(lambda: runner(net_batch), repeats, warmup, cuda)

        def end_to_end() -> object:
            b, meta = model.preprocess(model.make_query(images, boxes, **ctx))
            raw = runner(b) if runner is not None else torch.nn.Module.__call__(model, b)
            return model.postprocess(raw, meta)

        row["end_to_end_ms"] = _time(end_to_end, repeats, warmup, cuda)
    row["images_per_s"] = round(1e3 * batch / row["end_to_end_ms"]["median_ms"], 1)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gpu.json")
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 32, 128])
    ap.add_argument("--dtypes", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help="cpu: a smoke run of the code paths")
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench_gpu: no CUDA device is available here; nothing was measured or written.", file=sys.stderr)
        return 2
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True
    rows = []
    for name in args.methods:
        model = _model(name).to(args.device)
        for dtype in args.dtypes:
            for batch in args.batches:
                reps = args.repeats if batch == 1 else max(min(5, args.repeats), args.repeats // 5)
                row = _bench(name, model, batch, dtype, reps, args.warmup)
                print(json.dumps(row), flush=True)
                rows.append(row)
        del model
        if args.device == "cuda":
            torch.cuda.empty_cache()
    machine = {"platform": platform.platform(), "torch": torch.__version__, "cpus": os.cpu_count()}
    if args.device == "cuda":
        machine.update(gpu=torch.cuda.get_device_name(), cuda=torch.version.cuda)
    out = {
        "benchmark": "GPU latency and throughput (network, CUDA graph, end to end from host uint8 images)",
        "command": "python benchmarks/bench_gpu.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "device": args.device,
        "machine": machine,
        "weights": "random (open hand model); speed only",
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
