"""GPU latency (batch 1) and throughput (batch 32 / 128) of H2ONet-SF, H2ONet-MF and Hand4Whole.

Per method, dtype (fp32, bf16 autocast) and batch:

* ``network_ms``: the forward alone, eager (median of CUDA-event timings);
* ``graph_ms``: the forward replayed as a CUDA graph (:class:`handzoo.cuda_graphs.CudaGraphForward`);
* ``end_to_end_ms``: make_query -> preprocess (crops warped on the GPU) -> forward (graph replay
  at batch 1, eager otherwise) -> postprocess, from uint8 images in host memory to a
  ``HandOutput`` on the device, synchronised; ``images_per_s`` from it (MF: per 3-frame sample).

Random weights on the open hand model (speed does not depend on the values); 480x640 inputs,
one box each. Needs a CUDA device: without one it says so, writes nothing and exits with status 2.

    .venv/bin/python benchmarks/bench_gpu.py [--out benchmarks/results/gpu.json] [--repeats 50]
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


def _models() -> dict[str, torch.nn.Module]:
    from handzoo_h2onet.model import H2ONetMF, H2ONetSF
    from handzoo_hand4whole.model import Hand4WholeHand

    torch.manual_seed(0)
    return {
        "H2ONet-SF": H2ONetSF(hand_model="openhand"),
        "H2ONet-MF": H2ONetMF(hand_model="openhand"),
        "Hand4Whole": Hand4WholeHand(hand_model="openhand"),
    }


def _inputs(name: str, batch: int) -> tuple[list, np.ndarray]:
    rng = np.random.default_rng(batch)
    n = 3 * batch if name == "H2ONet-MF" else batch
    imgs = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(min(n, 8))]
    imgs = [imgs[i % len(imgs)] for i in range(n)]
    x0 = rng.uniform(100, 300, n)
    y0 = rng.uniform(50, 200, n)
    s = rng.uniform(120, 220, n)
    boxes = np.stack((x0, y0, x0 + s, y0 + s), 1)
    if name == "H2ONet-MF":
        return [imgs[3 * i : 3 * i + 3] for i in range(batch)], boxes.reshape(batch, 3, 4)
    return imgs, boxes[:, None]


def _time(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    ms = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        t0 = time.perf_counter()
        start.record()
        fn()
        end.record()
        end.synchronize()
        ms.append(max(start.elapsed_time(end), 1e3 * (time.perf_counter() - t0)))
    return {"median_ms": round(statistics.median(ms), 3), "min_ms": round(min(ms), 3), "repeats": repeats}


def _bench(name: str, model: torch.nn.Module, batch: int, dtype: str, repeats: int) -> dict:
    from handzoo.cuda_graphs import CudaGraphForward

    amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == "bf16")
    images, boxes = _inputs(name, batch)
    query = model.make_query(images, list(boxes))
    row: dict = {"method": name, "dtype": dtype, "batch": batch}
    with torch.inference_mode(), amp:
        net_batch, _ = model.preprocess(query)
        row["network_ms"] = _time(lambda: torch.nn.Module.__call__(model, net_batch), repeats)
        runner = CudaGraphForward(model, clone_outputs=False) if batch == 1 else None
        if runner is not None:
            row["graph_ms"] = _time(lambda: runner(net_batch), repeats)

        def end_to_end() -> object:
            q = model.make_query(images, list(boxes))
            b, meta = model.preprocess(q)
            raw = runner(b) if runner is not None else torch.nn.Module.__call__(model, b)
            return model.postprocess(raw, meta)

        row["end_to_end_ms"] = _time(end_to_end, repeats)
    row["images_per_s"] = round(1e3 * batch / row["end_to_end_ms"]["median_ms"], 1)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gpu.json")
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 32, 128])
    ap.add_argument("--methods", nargs="+", default=["H2ONet-SF", "H2ONet-MF", "Hand4Whole"])
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("bench_gpu: no CUDA device is available here; nothing was measured or written.", file=sys.stderr)
        return 2
    torch.backends.cudnn.benchmark = True
    rows = []
    models = _models()
    for name in args.methods:
        model = models[name].cuda().eval()
        for dtype in ("fp32", "bf16"):
            for batch in args.batches:
                reps = args.repeats if batch == 1 else max(5, args.repeats // 5)
                row = _bench(name, model, batch, dtype, reps)
                print(json.dumps(row), flush=True)
                rows.append(row)
        model.cpu()
        torch.cuda.empty_cache()
    out = {
        "benchmark": "GPU latency and throughput (network, CUDA graph, end to end from host uint8 images)",
        "command": "python benchmarks/bench_gpu.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {
            "platform": platform.platform(),
            "gpu": torch.cuda.get_device_name(),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "cpus": os.cpu_count(),
        },
        "weights": "random (open hand model); speed only",
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
