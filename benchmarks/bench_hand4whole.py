"""CPU latency (batch 1) and throughput (batch 32) of Hand4Whole's hand model: handzoo vs the authors.

Both implementations get the same deterministic weights (the test suite's rule, per authors' key),
the same random MANO stand-in (MANO's array layout; no MANO data) and the same inputs. Rows:

* ``network``: 256x256 crops in, mesh + joints + MANO parameters + camera out (the authors'
  ``model(inputs, targets, meta_info, 'test')`` vs ``Hand4WholeHand.forward``);
* ``pipeline`` (batch 1): an image and a hand box in, as the authors' demo (``process_bbox``,
  ``generate_patch_image``, ``/255``, forward) vs ``model(image, boxes=...)`` (which also decodes
  to a ``HandOutput``).

fp32, eval mode, ``torch.inference_mode``, the two implementations timed alternately. Batch 1: median of 20 after 5 warm-ups; batch 32:
median of 5 after 1 (as research/authors-cpu.md).

The authors' code is optional: ``--authors-dir`` is a copy of the ``Pose2Pose`` branch of
mks0601/Hand4Whole_RELEASE (e3e9642) made to run on CPU as described in
``tests/plugins/hand4whole/fixtures/README.md`` (``.cuda()`` removed, only MANO built in
``human_models.py``); ``--authors-path`` adds folders to ``sys.path`` (torchgeometry 0.1.2 with
its bool fix). Without it the authors' columns read "not measured".

    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/bench_hand4whole.py \\
        --authors-dir /tmp/h4w/authors --authors-path /tmp/h4w/deps
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests" / "plugins" / "hand4whole"
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(TESTS)]

import h4w_testutils as tu  # noqa: E402
from handzoo_hand4whole.convert import convert_state_dict  # noqa: E402
from handzoo_hand4whole.model import Hand4WholeHand  # noqa: E402

AUTHORS_COMMIT = "e3e9642"


def ours(mano_dir: Path) -> Hand4WholeHand:
    """handzoo's model on the MANO stand-in, with the deterministic weights."""
    model = Hand4WholeHand(hand_model="mano", mano_dir=mano_dir)
    model.load_state_dict(convert_state_dict(tu.authors_state_dict(tu.read_key_shapes())), strict=True)
    return model.eval()


class Authors:
    """The authors' model and demo preprocessing, imported from ``authors_dir``."""

    def __init__(self, authors_dir: Path, extra_paths: list[Path], mano_root: Path) -> None:
        sys.path[:0] = [str(p) for p in extra_paths] + [str(authors_dir / "main"), str(authors_dir / "common")]
        from config import cfg

        cfg.set_args("0", "hand")
        cfg.human_model_path = str(mano_root)
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        from model import get_model
        from utils.preprocessing import generate_patch_image, process_bbox

        self.cfg, self.process_bbox, self.generate_patch_image = cfg, process_bbox, generate_patch_image
        model = get_model("test")
        state = model.state_dict()
        keys = {k: tuple(v.shape) for k, v in state.items() if not k.startswith("mano_layer.")}
        missing, unexpected = model.load_state_dict(tu.authors_state_dict(keys), strict=False)
        assert not unexpected and all(k.startswith("mano_layer.") for k in missing)
        self.model = model.eval()

    def forward(self, img: torch.Tensor) -> dict:
        return self.model({"img": img}, {}, {}, "test")

    def pipeline(self, image: np.ndarray, box_xyxy: np.ndarray) -> dict:
        img = image.astype(np.float32)
        xywh = np.array([box_xyxy[0], box_xyxy[1], box_xyxy[2] - box_xyxy[0], box_xyxy[3] - box_xyxy[1]])
        bbox = self.process_bbox(xywh, img.shape[1], img.shape[0])
        patch, _, _ = self.generate_patch_image(img, bbox, 1.0, 0.0, False, self.cfg.input_img_shape)
        crop = torch.from_numpy(patch.transpose(2, 0, 1).copy())[None] / 255
        return self.forward(crop)


def time_interleaved(
    calls: dict[str, Callable[[], object]], warmup: int, repeats: int
) -> dict[str, list[tuple[float, float]]]:
    """``(wall ms, process CPU ms)`` of each call, alternating implementations (and their order) per repeat.

    Interleaving keeps both implementations under the same machine load, which matters on a
    shared machine where the load changes within a run; the CPU time (both threads together) is
    the steadier measure of the work done there.
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


def summary(samples: list[tuple[float, float]], batch: int) -> dict:
    ms = [w for w, _ in samples]
    med = statistics.median(ms)
    return {
        "median_ms_per_batch": round(med, 2),
        "ms_per_image": round(med / batch, 2),
        "images_per_s": round(1000 * batch / med, 2),
        "min_ms": round(min(ms), 2),
        "max_ms": round(max(ms), 2),
        "median_cpu_ms_per_image": round(statistics.median(c for _, c in samples) / batch, 2),
        "repeats": len(ms),
    }


def _speedups(row: dict) -> None:
    a, h = row["authors"], row["handzoo"]
    row["speedup"] = round(a["median_ms_per_batch"] / h["median_ms_per_batch"], 3)
    row["speedup_cpu_time"] = round(a["median_cpu_ms_per_image"] / h["median_cpu_ms_per_image"], 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--authors-dir", type=Path, default=None, help="CPU-patched copy of the Pose2Pose branch")
    parser.add_argument("--authors-path", type=Path, action="append", default=[], help="extra sys.path entries")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "hand4whole_cpu.json")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (smoke run)")
    parser.add_argument("--repeats", type=int, nargs=2, default=(20, 5), metavar=("B1", "B32"),
                        help="timed repeats at batch 1 and 32 (default 20 5)")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    load_start = os.getloadavg()
    plan = {1: (5, args.repeats[0]), 32: (1, args.repeats[1])} if not args.quick else {1: (1, 3), 32: (0, 1)}

    tmp = Path(tempfile.mkdtemp(prefix="h4w-bench-"))
    mano_dir = tu.write_mano_standin(tmp / "mano")  # the authors' smplx reads <root>/mano/MANO_RIGHT.pkl
    impls: dict[str, object] = {"handzoo": ours(mano_dir)}
    if args.authors_dir is not None:
        impls["authors"] = Authors(args.authors_dir.resolve(), [p.resolve() for p in args.authors_path], tmp)
    model: Hand4WholeHand = impls["handzoo"]  # type: ignore[assignment]
    authors: Authors | None = impls.get("authors")  # type: ignore[assignment]

    rows = []
    for bs, (warm, rep) in plan.items():
        crops = tu.seeded_crops(bs, seed=bs)
        row: dict = {"stage": "network", "batch": bs}
        calls = {"handzoo": lambda c=crops: model({"img": c})}
        if authors is not None:
            calls["authors"] = lambda c=crops: authors.forward(c)
            with torch.inference_mode():
                a, o = authors.forward(crops), model({"img": crops})
            row["max_abs_diff_vertices_m"] = float((a["mano_mesh_cam"] - o["vertices"]).abs().max())
        times = time_interleaved(calls, warm, rep)
        for name in ("authors", "handzoo"):
            row[name] = summary(times[name], bs) if name in calls else "not measured"
        if authors is not None:
            _speedups(row)
        print(json.dumps(row), flush=True)
        rows.append(row)

    image, box = tu.seeded_image(), tu.PIPELINE_BOXES[0]
    warm, rep = plan[1]
    row = {"stage": "pipeline (image + box -> outputs)", "batch": 1}
    calls = {"handzoo": lambda: model(image, boxes=[box])}
    if authors is not None:
        calls["authors"] = lambda: authors.pipeline(image, box)
    times = time_interleaved(calls, warm, rep)
    for name in ("authors", "handzoo"):
        row[name] = summary(times[name], 1) if name in calls else "not measured"
    if authors is not None:
        _speedups(row)
    print(json.dumps(row), flush=True)
    rows.append(row)

    result = {
        "benchmark": "Hand4Whole hand (Pose2Pose, ResNet-50, MANO stand-in), CPU, fp32, inference_mode",
        "command": "OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_hand4whole.py "
        "--authors-dir <patched Pose2Pose copy> --authors-path <torchgeometry>",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
            "load_average_start": [round(v, 2) for v in load_start],
            "load_average_end": [round(v, 2) for v in os.getloadavg()],
        },
        "authors_commit": AUTHORS_COMMIT if authors is not None else None,
        "anchor": "the authors' code on an idle 2-core machine: batch 1 104.89 ms, batch 32 4846.8 ms",
        "peak_rss_mb_both_models": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
