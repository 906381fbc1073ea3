"""ONNX export of every method: onnxruntime vs torch parity and CPU speed of the network.

For one variant per method (``--models``), built with its card's architecture (bundled weights
when shipped, else ``pretrained=False``: parity and speed do not depend on the values):

* exports ``Method.forward`` once with a dynamic batch axis (``handzoo.predict.export_onnx``,
  traced at batch 2), then at batch 1 and 8 records the max abs diff of onnxruntime vs torch over
  every raw output (fresh inputs of that size), or the error (naming the operator);
* times the network (``model.forward(batch)`` under ``torch.inference_mode`` vs the
  onnxruntime session), median and min of ``--runs`` calls after warm-up, same thread count.

Writes ``benchmarks/results/onnx_cpu.json``.

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/bench_onnx.py [--runs 10] [--models compact-openhand h2onet-openhand]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
from pathlib import Path

import torch
from _timing import summary, times_ms

DEFAULT_MODELS = [
    "compact-openhand",
    "h2onet-sf-openhand",
    "h2onet-openhand",
    "smhr-freihand",
    "hand4whole-hand",
    "digit-interhand",
    "3dhand-rgb",
    "3dhand-rgb2d",
]


def _load(name: str):
    """The variant with its weights when available, else random-init (on openhand without MANO)."""
    import handzoo
    from handzoo.errors import AssetError, WeightsError

    try:
        return handzoo.load(name), "pretrained"
    except (WeightsError, AssetError):
        pass
    try:
        return handzoo.load(name, pretrained=False), "random-init"
    except AssetError:  # MANO not configured: the same network on the open hand model
        return handzoo.load(name, pretrained=False, hand_model="openhand"), "random-init, openhand"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    p.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    p.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "onnx_cpu.json"))
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    from handzoo.errors import HandzooError
    from handzoo.predict.export_onnx import example_batch, export_onnx, onnx_session

    rows = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.models:
            row: dict = {"model": name}
            try:
                model, weights = _load(name)
            except HandzooError as exc:
                row["error"] = f"load: {exc}"
                rows.append(row)
                print(json.dumps(row), flush=True)
                continue
            row["weights"] = weights
            model = model.eval()
            try:
                info = export_onnx(model, Path(tmp) / f"{name}.onnx", batch_size=2, check_batch_sizes=a.batches)
            except HandzooError as exc:
                row["error"] = str(exc)
                rows.append(row)
                print(json.dumps(row), flush=True)
                continue
            row["dynamic_batch"] = info["dynamic_batch"]
            row["traced_batch"] = info["batch_size"]
            sess = onnx_session(info["path"], threads=a.threads)
            for b in a.batches:
                key = f"batch{b}"
                diff = info["max_abs_diff_per_batch_size"][str(b)]
                batch = example_batch(model, b)
                feed = {k: v.numpy() for k, v in batch.items()}
                with torch.inference_mode():
                    t_torch = times_ms(lambda m=model, x=batch: m.forward(x), a.runs, warmup=3)
                t_ort = times_ms(lambda s=sess, f=feed: s.run(None, f), a.runs, warmup=3)
                row[key] = {
                    "max_abs_diff": diff,
                    "parity_ok": diff <= 1e-4,
                    "inputs": {k: list(v.shape) for k, v in batch.items()},
                    "torch": summary(t_torch),
                    "onnxruntime": summary(t_ort),
                    "speedup_median": round(statistics.median(t_torch) / statistics.median(t_ort), 2),
                }
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {
        "what": "ONNX export (Method.forward, dynamic batch axis) parity and network latency, onnxruntime vs torch, CPU",
        "threads": a.threads,
        "torch": torch.__version__,
        "onnxruntime": __import__("onnxruntime").__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "models": rows,
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
