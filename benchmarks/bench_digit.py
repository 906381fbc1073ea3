"""CPU latency (batch 1) and throughput (batch 32) of DIGIT: handzoo vs the authors' code.

Both implementations get the same deterministic weights (the test suite's rule, one generator
per authors' key) and the same 256x256 crops. What is timed: crops in, 2.5D joints (soft-argmax
x, y and depth), relative root depth, handedness and part-segmentation logits out, i.e. the
authors' ``DIGIT.forward`` (their ``pose_reg``, with the unused segmentation-target arguments)
plus their ``hm2xy`` soft-argmax, against ``handzoo_digit.DIGIT.forward`` with its default
inference plan (``handzoo``: the authors' operators and oneDNN kernels in oneDNN's blocked layout,
outputs equal to theirs bit for bit; a batch runs in chunks on one-thread workers, a single image
runs its HRNet branches and its heads' pieces on one-thread workers) and with the opt-in NHWC plan (``handzoo_nhwc``: BatchNorm
folded, channels-last kernels, outputs about two of their float32 noise floors away). fp32, eval
mode, ``torch.inference_mode``, the implementations timed alternately (and in alternating
order), so all see the same machine load. The largest output differences are recorded with the
times.

The authors' code is optional: ``--authors-dir`` is a copy of zc-alexfan/digit-interacting
(e1e977b) patched to run on CPU as described in ``tests/plugins/digit/fixtures/README.md``.
Without it the authors' columns read "not measured".

    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE nice -n 5 .venv/bin/python benchmarks/bench_digit.py \\
        --authors-dir /path/to/patched/digit-interacting
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
import types
from argparse import Namespace
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests" / "plugins" / "digit"
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(TESTS)]

import digit_testutils as tu  # noqa: E402
from handzoo_digit.convert import convert_state_dict  # noqa: E402

AUTHORS_COMMIT = "e1e977b"


def ours(plan: str = "authors") -> torch.nn.Module:
    """handzoo's DIGIT (built from the registry) with the deterministic weights."""
    from handzoo.registry import build

    model = build("methods", {"type": "DIGIT", "inference_plan": plan})
    model.load_state_dict(convert_state_dict(tu.authors_state_dict()), strict=True)
    return model.eval()


class Authors:
    """The authors' network and soft-argmax, imported from ``authors_dir``."""

    def __init__(self, authors_dir: Path) -> None:
        sys.path.insert(0, str(authors_dir))
        for name in ("lmdb", "pyarrow", "pygit2"):  # imported by their data utilities, unused here
            sys.modules.setdefault(name, types.ModuleType(name))
        import elytra.hm_utils as hm_utils
        from src.model.model import DIGIT

        self.hm2xy = hm_utils.hm2xy
        model = DIGIT(1.0, Namespace(output_root_hm_shape=64))
        state = {k[len("pose_reg.") :]: v for k, v in tu.authors_state_dict().items()}
        model.load_state_dict(state, strict=True)
        self.model = model.eval()

    def forward(self, img: torch.Tensor) -> dict:
        out = self.model(img, None, None)
        xy = self.hm2xy(out["hm_2d"], (64, 64, 64), 1.0)
        out["joint_coord"] = torch.cat((xy, out["zval"][:, :, None]), 2)
        return out


def time_interleaved(
    calls: dict[str, Callable[[], object]], warmup: int, repeats: int
) -> dict[str, list[tuple[float, float]]]:
    """(wall ms, process CPU ms) of each call, alternating implementations (and their order).

    The process CPU time (all threads) measures the work done and is far less sensitive than
    the wall time to other processes on a shared machine.
    """
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
    names = list(calls)
    with torch.inference_mode():
        for i in range(warmup + repeats):
            for name in names if i % 2 == 0 else names[::-1]:
                t0, c0 = time.perf_counter(), time.process_time()
                calls[name]()
                if i >= warmup:
                    out[name].append(((time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000))
    return out


def summary(runs: list[tuple[float, float]], batch: int) -> dict:
    ms = [w for w, _ in runs]
    cpu = [c for _, c in runs]
    med = statistics.median(ms)
    return {
        "median_ms_per_batch": round(med, 2),
        "ms_per_image": round(med / batch, 2),
        "images_per_s": round(1000 * batch / med, 3),
        "min_ms": round(min(ms), 2),
        "max_ms": round(max(ms), 2),
        "median_cpu_ms_per_image": round(statistics.median(cpu) / batch, 2),
        "runs_ms": [round(x, 1) for x in ms],
        "runs_cpu_ms": [round(x, 1) for x in cpu],
        "repeats": len(ms),
    }


def _diffs(a: dict, o: dict) -> dict:
    pairs = {
        "joint_coord": (a["joint_coord"], o["joints25d"]),
        "rel_root_depth": (a["rel_root_depth_out"][:, 0], o["rel_root_bin"]),
        "hand_type_logits": (a["hand_type"], o["hand_logits"]),
        "segm_logits": (a["segm_dict"]["segm_logits"], o["segm_logits"]),
    }
    return {k: float((x.double() - y.double()).abs().max()) for k, (x, y) in pairs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--authors-dir", type=Path, default=None, help="CPU-patched copy of digit-interacting")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "digit_cpu.json")
    parser.add_argument("--batches", default="1,32", help="comma-separated batch sizes")
    parser.add_argument("--plan", default="3:10,1:3", help="warmup:repeats per batch size, same order")
    parser.add_argument("--no-nhwc", action="store_true", help="time the default inference plan only")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    batches = [int(b) for b in args.batches.split(",")]
    plan = [tuple(int(v) for v in p.split(":")) for p in args.plan.split(",")]
    load_start = os.getloadavg()

    model = ours()
    nhwc = None if args.no_nhwc else ours("nhwc")
    authors = Authors(args.authors_dir.resolve()) if args.authors_dir is not None else None
    rows = []
    for bs, (warm, rep) in zip(batches, plan):
        crops = torch.cat([tu.seeded_crops(2)] * ((bs + 1) // 2))[:bs].contiguous()
        row: dict = {"stage": "network (crops -> 2.5D joints, root depth, handedness, part logits)", "batch": bs}
        calls = {"handzoo": lambda c=crops: model({"img": c})}
        if nhwc is not None:
            calls["handzoo_nhwc"] = lambda c=crops: nhwc({"img": c})
        if authors is not None:
            calls["authors"] = lambda c=crops: authors.forward(c)
            few = crops[: min(bs, 2)]  # batch 1 checks the single-image path
            with torch.inference_mode():
                ref = authors.forward(few)
                row["max_abs_diff"] = _diffs(ref, model({"img": few}))
                if nhwc is not None:
                    row["max_abs_diff_nhwc"] = _diffs(ref, nhwc({"img": few}))
        times = time_interleaved(calls, warm, rep)
        for name in ("authors", "handzoo", "handzoo_nhwc"):
            row[name] = summary(times[name], bs) if name in calls else "not measured"
        if authors is not None:
            for name, suffix in (("handzoo", ""), ("handzoo_nhwc", "_nhwc")):
                if name not in calls:
                    continue
                a, h = row["authors"], row[name]
                row["speedup" + suffix] = round(a["median_ms_per_batch"] / h["median_ms_per_batch"], 3)
                row["speedup_min_wall" + suffix] = round(a["min_ms"] / h["min_ms"], 3)
                row["speedup_cpu_time" + suffix] = round(a["median_cpu_ms_per_image"] / h["median_cpu_ms_per_image"], 3)
        print(json.dumps(row), flush=True)
        rows.append(row)
        write(args, batches, rows, authors is not None, load_start)  # partial results survive an interruption


def write(
    args: argparse.Namespace, batches: list[int], rows: list[dict], with_authors: bool, load_start: tuple
) -> None:
    """Write the results document (all rows measured so far)."""
    result = {
        "benchmark": "DIGIT (HRNet-W32 pose + part segmentation, 256x256 crops), CPU, fp32, inference_mode",
        "command": "OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE nice -n 5 python benchmarks/bench_digit.py "
        f"--authors-dir <patched digit-interacting copy> --batches {args.batches} --plan {args.plan}",
        "batches_planned": batches,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
            "load_average_start": [round(x, 2) for x in load_start],
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
        },
        "authors_commit": AUTHORS_COMMIT if with_authors else None,
        "authors_anchor": "the authors' code on an idle 2-core machine: 671.69 ms/image at batch 1, 483.32 at batch 32",
        "peak_rss_mb_both_models": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
