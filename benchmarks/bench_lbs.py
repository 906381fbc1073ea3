"""LBS forward speed on CPU: handzoo's own LBS vs smplx.MANO on the same arrays, batch 1 and 1024.

Two array sets, one run:

* ``mano_layout``: random arrays in MANO's exact layout (778 vertices, 16 joints, 10 betas,
  135 pose blend shapes, sparse J_regressor) written as a ``MANO_RIGHT.pkl`` stand-in; smplx reads
  the pickle, handzoo reads it with its own reader. Both do the same work.
* ``openhand``: the shipped open hand (1609 vertices) written in MANO's layout for smplx, with
  the zero pose blend shapes it needs; handzoo skips the zero pose blend shapes.

Float32, ``torch.inference_mode()``, 2 and 1 torch threads; the two implementations are
called alternately (so both see the same load from other jobs) and the median is reported. The
load average at the start is recorded: on a shared 2-core machine timings of small ops vary. Writes ``benchmarks/results/lbs.json``::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_lbs.py
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import pickle
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from handzoo.handmodels import hand_model, load_openhand  # noqa: E402

MANO_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)


def random_mano_layout(seed: int = 0) -> dict:
    """Random arrays shaped like MANO_RIGHT.pkl (never the real MANO)."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    v, j = 778, 16
    jreg = np.zeros((j, v))
    for k in range(j):
        idx = rng.choice(v, 12, replace=False)
        jreg[k, idx] = rng.random(12)
    jreg /= jreg.sum(1, keepdims=True)
    w = rng.random((v, j)) ** 4
    return {
        "v_template": rng.normal(size=(v, 3)) * 0.04,
        "shapedirs": rng.normal(size=(v, 3, 10)) * 0.005,
        "posedirs": rng.normal(size=(v, 3, 135)) * 0.002,
        "J_regressor": sp.csc_matrix(jreg),
        "weights": w / w.sum(1, keepdims=True),
        "kintree_table": np.array([[4294967295, *MANO_PARENTS[1:]], list(range(j))], dtype=np.int64),
        "f": rng.integers(0, v, size=(1538, 3)).astype(np.uint32),
        "hands_components": np.linalg.qr(rng.normal(size=(45, 45)))[0],
        "hands_mean": rng.normal(size=45) * 0.2,
    }


def openhand_layout() -> dict:
    d = load_openhand("right")
    return {
        "v_template": d.v_template,
        "shapedirs": d.shapedirs,
        "posedirs": np.zeros((d.num_vertices, 3, 135)),
        "J_regressor": d.J_regressor,
        "weights": d.weights,
        "kintree_table": np.array([[4294967295, *d.parents[1:]], list(range(16))], dtype=np.int64),
        "f": d.faces.astype(np.uint32),
        "hands_components": d.hands_components,
        "hands_mean": d.hands_mean,
    }


def time_pair(fn_a, fn_b, repeats: int, warmup: int = 3) -> tuple[list[float], list[float]]:
    """Alternate the two calls so that both see the same machine load (other jobs share the CPU)."""
    for _ in range(warmup):
        fn_a()
        fn_b()
    times_a, times_b = [], []
    for _ in range(repeats):
        for fn, times in ((fn_a, times_a), (fn_b, times_b)):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return times_a, times_b


def bench_arrays(name: str, arrays: dict, batches: list[int], repeats: dict[int, int]) -> dict:
    import smplx

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "MANO_RIGHT.pkl"
        path.write_bytes(pickle.dumps(arrays, protocol=2))
        if name == "mano_layout":
            ours = hand_model("mano", "right", mano_dir=tmp, flat_hand_mean=True)
        else:
            ours = hand_model("openhand", "right", flat_hand_mean=True)
        ref = smplx.MANO(str(path), use_pca=False, flat_hand_mean=True, create_transl=False)
        for b in batches:
            g = torch.Generator().manual_seed(b)
            go = torch.randn(b, 3, generator=g)
            hp = torch.randn(b, 45, generator=g) * 0.5
            be = torch.randn(b, 10, generator=g)
            with torch.inference_mode():
                v_ours, _ = ours(go, hp, be)
                v_ref = ref(global_orient=go, hand_pose=hp, betas=be).vertices
                gap = float((v_ours - v_ref).abs().max())
                t_ours, t_ref = time_pair(
                    functools.partial(ours, go, hp, be),
                    functools.partial(ref, global_orient=go, hand_pose=hp, betas=be),
                    repeats[b],
                )
            med_o, med_r = statistics.median(t_ours), statistics.median(t_ref)
            out[f"batch_{b}"] = {
                "handzoo_ms": round(med_o * 1e3, 3),
                "smplx_ms": round(med_r * 1e3, 3),
                "speedup": round(med_r / med_o, 2),
                "handzoo_min_ms": round(min(t_ours) * 1e3, 3),
                "smplx_min_ms": round(min(t_ref) * 1e3, 3),
                "runs": repeats[b],
                "max_abs_vertex_diff_m": gap,
            }
            print(f"{name:12s} batch {b:5d}: handzoo {med_o * 1e3:8.3f} ms  smplx {med_r * 1e3:8.3f} ms  "
                  f"x{med_r / med_o:.2f}  (max |dv| {gap:.1e} m)")  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "lbs.json")
    parser.add_argument("--threads", default="2,1", help="comma-separated torch thread counts to run")
    args = parser.parse_args()
    load_at_start = os.getloadavg()
    batches = [1, 1024]
    repeats = {1: 200, 1024: 15}
    results = {}
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        print(f"-- torch threads: {threads}")
        results[f"threads_{threads}"] = {
            "mano_layout": bench_arrays("mano_layout", random_mano_layout(), batches, repeats),
            "openhand": bench_arrays("openhand", openhand_layout(), batches, repeats),
        }
    from importlib.metadata import version

    report = {
        "benchmark": "lbs_forward_cpu",
        "what": "hand model forward (vertices + joints), float32, inference_mode, median ms per call",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "smplx": version("smplx"),
        },
        "load_average_at_start": [round(x, 2) for x in load_at_start],
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
