"""CPU latency of compact-openhand at batch 1 (target <= 15 ms on 2 cores).

Times, after warm-up, each as the median of ``--runs`` calls:

* ``predict_b1_ms``: the whole user-facing call ``model(image, boxes=[box], sides=[side], K=K)``
  on a 224 px synthetic image (query validation, perspective crop, network, hand model,
  postprocess to the input camera);
* ``network_b1_ms``: ``model(batch)`` on a preprocessed (1, 3, 128, 128) crop (backbone, head,
  hand model);
* ``predict_b32_ms``: the whole call with 32 images;
* ``reference``: the same model built with another backbone (``--reference``, by default
  ``regnetx_002``, the backbone shipped before the sweep; random weights, since latency does not
  depend on their values), timed *alternately* with the shipped one in the same process (whole
  call and network at batch 1), and the shipped/reference ratios: on a shared machine the ratio
  is the figure to compare, not the absolute milliseconds.

Uses the bundled weights (``pretrained=False`` when they are absent; latency does not depend on
the values). Reports torch threads, the load average before and after, and the minimum next to
the median, since the cores may be shared. Writes ``benchmarks/results/compact_cpu.json``.

    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/bench_compact.py [--runs 100] \
        [--reference regnetx_002 | --reference none]
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
from _timing import summary, times_ms


def interleaved_ms(fns: dict[str, Callable[[], object]], runs: int, warmup: int) -> dict[str, list[float]]:
    """Milliseconds of ``runs`` calls of each callable, taking turns (the order flips every round),
    after ``warmup`` untimed rounds, so that load changes on a shared machine hit all of them alike."""
    names = list(fns)
    for _ in range(warmup):
        for n in names:
            fns[n]()
    out: dict[str, list[float]] = {n: [] for n in names}
    for r in range(runs):
        for n in names if r % 2 == 0 else names[::-1]:
            t0 = time.perf_counter()
            fns[n]()
            out[n].append((time.perf_counter() - t0) * 1000)
    return out


def reference_timing(model, backbone: str, img, box, side: int, K, runs: int) -> dict:
    """Batch-1 whole call and network of ``model`` and of the same variant with ``backbone``
    (random weights), timed alternately; medians, minima and shipped/reference ratios."""
    import handzoo

    ref = handzoo.load(
        "compact-openhand", pretrained=False, backbone={"type": "TimmBackbone", "name": backbone, "out_indices": [4]}
    )
    batch, _ = model.preprocess(model.make_query(img, [box], sides=[side], K=K))
    fns = {
        "shipped_predict": lambda: model(img, boxes=[box], sides=[side], K=K),
        "reference_predict": lambda: ref(img, boxes=[box], sides=[side], K=K),
        "shipped_network": lambda: model(batch),
        "reference_network": lambda: ref(batch),
    }
    ts = interleaved_ms(fns, runs, warmup=5)
    med = {k: statistics.median(v) for k, v in ts.items()}
    return {
        "backbone": backbone,
        "weights": "random (latency only)",
        "parameters": int(sum(p.numel() for p in ref.parameters() if p.requires_grad)),
        **{k: summary(v) for k, v in ts.items()},
        "ratio_predict_b1": round(med["shipped_predict"] / med["reference_predict"], 3),
        "ratio_network_b1": round(med["shipped_network"] / med["reference_network"], 3),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    p.add_argument(
        "--reference",
        default="regnetx_002",
        help="timm backbone to time alternately with the shipped one ('none': skip)",
    )
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "compact_cpu.json"))
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    import handzoo
    from handzoo.datasets import load_dataset
    from handzoo.errors import WeightsError

    try:
        model = handzoo.load("compact-openhand")
        weights = "bundled"
    except WeightsError:
        model = handzoo.load("compact-openhand", pretrained=False)
        weights = "random (no bundled weights found)"
    s = load_dataset("synthetic", split="bench")[0]
    img, box, side, K = s.image, np.asarray(s.bbox[0], np.float64), int(s.side[0]), np.asarray(s.K, np.float64)
    load0 = os.getloadavg()
    with torch.inference_mode():
        pred = times_ms(lambda: model(img, boxes=[box], sides=[side], K=K), a.runs, warmup=5)
        batch, _ = model.preprocess(model.make_query(img, [box], sides=[side], K=K))
        net = times_ms(lambda: model(batch), a.runs, warmup=5)
        many = times_ms(
            lambda: model([img] * 32, boxes=[box[None]] * 32, sides=[[side]] * 32, K=K), max(5, a.runs // 10), warmup=2
        )
    res = {
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "variant": "compact-openhand",
        "weights": weights,
        "architecture": dict(model.card.architecture),
        "parameters": int(sum(p.numel() for p in model.parameters() if p.requires_grad)),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor()},
        "predict_b1": summary(pred),
        "network_b1": summary(net),
        "predict_b32": summary(many),
        "target_b1_ms": 15.0,
        "reference": None,
        "loadavg_before": [round(x, 2) for x in load0],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    if a.reference.lower() != "none":
        with torch.inference_mode():
            res["reference"] = reference_timing(model, a.reference, img, box, side, K, a.runs)
    res["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
