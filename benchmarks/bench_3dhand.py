"""CPU latency (batch 1) and throughput (batch 32) of 3D-hand: handzoo vs the authors' network.

Both implementations get the same deterministic weights (the test suite's rule, per authors' key),
the same random MANO stand-in (MANO's array layout; no MANO data) and the same 256x256 inputs.
Rows: ``network`` — crops in, 2D joints and vertices + 3D joints and mesh out (the authors'
``resnet34_Mano(input_option)`` forward vs ``ThreeDHand.forward``, which also returns the MANO
parameters), for model-1 (24 channels, as the authors' CPU anchor) and model-0 (RGB). Model-1 runs
on two inputs (``input``): heatmaps as the method's preprocessing draws them (zero outside a block
around each joint, so handzoo's stem convolves only the blocks) and dense heatmap-like maps (the
general path, e.g. another detector's maps with no exact zeros).

fp32, eval mode, ``torch.inference_mode``, the two implementations timed in turns. Batch 1: median
of 20 after 5 warm-ups; batch 32: median of 5 after 1. Outputs are compared (max |difference| of
the vertices) so the speed-up is at equal outputs. Both get the same torch thread count; handzoo
splits a batch of several images across its threads (one OpenMP thread per part, see
``handzoo_3dhand.backbone``), the authors' network runs each operation on all threads. The CPU
time is the whole process's (every thread).

The authors' code is optional: ``--authors-dir`` is a folder holding a copy of their ``model.py``
(github.com/boukhayma/3dhand, 6c4f32b) made to run on CPU as described in
``tests/plugins/threedhand/fixtures/README.md`` (``.cuda()`` removed, MANO path from
``$TDH_MANO``). Without it the authors' columns read "not measured".

    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE nice -n 5 .venv/bin/python benchmarks/bench_3dhand.py \\
        --authors-dir /path/to/patched/3dhand
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests" / "plugins" / "threedhand"
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(TESTS)]

import tdh_testutils as tu  # noqa: E402
from handzoo_3dhand import backbone  # noqa: E402
from handzoo_3dhand.convert import convert_state_dict  # noqa: E402
from handzoo_3dhand.model import ThreeDHand  # noqa: E402

AUTHORS_COMMIT = "6c4f32b"
VARIANTS = {1: "3dhand-rgb2d", 0: "3dhand-rgb"}
# the inputs of each option: model-1 on heatmaps as handzoo's preprocessing draws them (8-bit
# Gaussians, zero outside a block per joint: its stem convolves the blocks, see
# handzoo_3dhand.mapstem) and on dense heatmap-like maps (no zeros: the dense stem)
INPUTS: dict[int, dict[str, Callable[[int], torch.Tensor]]] = {
    1: {"preprocess heatmaps": tu.seeded_map_inputs, "dense maps": tu.seeded_inputs},
    0: {"rgb": tu.seeded_inputs},
}


def ours(option: int, mano_dir: Path) -> ThreeDHand:
    """handzoo's model on the MANO stand-in, with the deterministic weights."""
    model = ThreeDHand(hand_model="mano", mano_dir=mano_dir, with_heatmaps=bool(option))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.load_state_dict(convert_state_dict(tu.authors_state_dict(), VARIANTS[option]), strict=True)
    return model.eval()


def authors(option: int, authors_dir: Path, mano_dir: Path) -> torch.nn.Module:
    """The authors' ``resnet34_Mano`` with the same weights (their MANO reads ``$TDH_MANO``)."""
    os.environ["TDH_MANO"] = str(mano_dir / "MANO_RIGHT.pkl")
    if str(authors_dir) not in sys.path:
        sys.path.insert(0, str(authors_dir))
    module = importlib.import_module("model")
    net = module.resnet34_Mano(input_option=option)
    net.load_state_dict(tu.authors_state_dict())
    return net.eval()


def time_in_turns(
    calls: dict[str, Callable[[], object]], warmup: int, repeats: int
) -> dict[str, list[tuple[float, float]]]:
    """Run each call ``warmup`` times, then ``repeats`` rounds of one call each, in turns.

    Returns per call a list of ``(wall ms, process CPU ms)``: on a shared machine the CPU time
    (both threads together) is the steadier measure of the work done.
    """
    for fn in calls.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in calls}
    for _ in range(repeats):
        for name, fn in calls.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            times[name].append(((time.perf_counter() - t0) * 1000.0, (time.process_time() - c0) * 1000.0))
    return times


def summary(samples: list[tuple[float, float]], batch: int) -> dict:
    ms = [w for w, _ in samples]
    cpu = statistics.median(c for _, c in samples)
    med = statistics.median(ms)
    return {
        "median_ms_per_batch": round(med, 2),
        "ms_per_image": round(med / batch, 2),
        "images_per_s": round(1000.0 * batch / med, 2),
        "min_ms": round(min(ms), 2),
        "max_ms": round(max(ms), 2),
        "median_cpu_ms_per_image": round(cpu / batch, 2),
        "repeats": len(ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--authors-dir", type=Path, default=None, help="folder with the CPU-patched model.py")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "3dhand_cpu.json")
    parser.add_argument("--options", type=int, nargs="+", default=[1, 0], help="authors' input_option(s)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (smoke run)")
    args = parser.parse_args()

    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    torch.set_num_threads(threads)
    load_start = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        mano_dir = tu.write_mano_standin(Path(tmp) / "mano_standin")
        for option in args.options:
            mine = ours(option, mano_dir)
            theirs = authors(option, args.authors_dir, mano_dir) if args.authors_dir else None
            for batch, (kind, make_inputs) in itertools.product(args.batches, INPUTS[option].items()):
                x = make_inputs(batch)
                calls: dict[str, Callable[[], object]] = {}

                def run_ours(x: torch.Tensor = x, mine: ThreeDHand = mine) -> dict:
                    with torch.inference_mode():
                        return mine({"img": x})  # model-0 reads the first 3 channels, as the authors' does

                calls["handzoo"] = run_ours
                row: dict = {
                    "stage": "network",
                    "variant": VARIANTS[option],
                    "input_option": option,
                    "input": kind,
                    "batch": batch,
                }
                if theirs is not None:

                    def run_theirs(x: torch.Tensor = x, theirs: torch.nn.Module = theirs) -> tuple:
                        with torch.inference_mode():
                            return theirs(x)

                    calls["authors"] = run_theirs
                    a = run_theirs()[1][:, 21:]
                    b = run_ours()["vertices"]
                    row["max_abs_diff_vertices_m"] = float((a - b).abs().max())
                warm, rep = (5, 20) if batch == 1 else (1, 5)
                if args.quick:
                    warm, rep = 1, 3
                times = time_in_turns(calls, warm, rep)
                for name, ms in times.items():
                    row[name] = summary(ms, batch)
                if theirs is None:
                    row["authors"] = "not measured"
                else:
                    a, h = row["authors"], row["handzoo"]
                    row["speedup"] = round(a["median_ms_per_batch"] / h["median_ms_per_batch"], 3)
                    row["speedup_cpu_time"] = round(a["median_cpu_ms_per_image"] / h["median_cpu_ms_per_image"], 3)
                rows.append(row)
                print(json.dumps(row), flush=True)
    result = {
        "benchmark": "3D-hand (ResNet-34 + MANO stand-in), network forward, CPU, fp32, inference_mode",
        "command": "OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE nice -n 5 python benchmarks/bench_3dhand.py "
        "--authors-dir <patched copy of boukhayma/3dhand>",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "threads": threads,
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", ""),
        },
        "authors_commit": AUTHORS_COMMIT,
        "handzoo_batch_split": bool(backbone.PARALLEL_BATCH),
        "anchor": "authors' code on an idle machine: input_option=1, batch 1 92.64 ms/image, batch 32 96.42 ms/image",
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "rows": rows,
    }
    if not args.quick:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
