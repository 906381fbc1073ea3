"""CPU ms/image of SMHR, handzoo vs the authors, at 224 (single-hand model) and 384 (multi-hand).

Both implementations get the same deterministic weights (the test suite's rule, per authors'
key), the same random MANO stand-in (MANO's array layout; no MANO data) and the same inputs.
Rows, for input 224 and 384, batch 1, 8 and 32 (``--batches``):

* ``network``: the normalised square input in; the hands decoded at the centres out: heatmap,
  5x5 max-pool suppression, top-K (K = 1 at 224, 4 at 384), the parameters at the centres, MANO
  vertices and joints in the virtual camera, 2D joints, and (photometric heads) the SH-shaded
  vertex colours. The authors: their ``PoseResNet`` forward and the body of their ``demo.py``
  loop (``_nms``, ``_topk``, ``_tranpose_and_gather_feat``, ``ManoRender.Split_coeff``, both
  ``ManoLayer`` sides, ``get_Landmarks``, ``Illumination``); handzoo: ``SMHR.forward``.
* ``pipeline`` (batch 1): an RGB image in, as their demo (BGR, pad, ``cv2.resize``, normalise,
  network, decode) vs ``model(image)`` (which also maps everything to the input image and
  builds a ``HandOutput``).

fp32, eval mode, no autograd, the two implementations timed alternately: batch 1 median of
``--repeats`` (10) after 2 warm-ups, larger batches median of ``max(2, repeats // 3)`` after 1.
``max_abs_diff_vertices_m`` compares the two implementations' vertices on the same input.

The authors' code is optional: ``--authors-dir`` is a copy of zijinxuxu/SMHR (63c4196); this
script stands in for ``pytorch3d`` (only their renderer uses it; nothing is rendered here) and
builds their ResNet-18 branch without downloading ImageNet weights. Without it the authors'
columns read "not measured".

    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE nice -n 5 .venv/bin/python benchmarks/bench_smhr.py \\
        --authors-dir /path/to/SMHR
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
import types
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests" / "plugins" / "smhr"
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(TESTS)]

import smhr_testutils as tu  # noqa: E402
from handzoo_smhr.convert import convert_state_dict  # noqa: E402
from handzoo_smhr.model import SMHR  # noqa: E402
from handzoo_smhr.preprocess import prepare_images  # noqa: E402

AUTHORS_COMMIT = "63c4196"
CONFIGS = {224: ("freihand", 1, False), 384: ("multihand", 4, True)}  # size -> (variant, K, pick_hand)


def ours(size: int, mano_dir: Path) -> SMHR:
    """handzoo's model on the MANO stand-in with the deterministic weights."""
    variant, k, _ = CONFIGS[size]
    model = SMHR(heads=list(tu.HEADS[variant]), hand_model="mano", mano_dir=mano_dir, input_size=size, max_hands=k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = tu.authors_state_dict(tu.read_key_shapes(variant))
        model.load_state_dict(convert_state_dict(state, f"smhr-{variant}"), strict=True)
    return model.eval()


class _Anything:
    def __init__(self, *args: object, **kwargs: object) -> None:
        pass


def _stub_pytorch3d() -> None:
    for name in (
        "pytorch3d",
        "pytorch3d.renderer",
        "pytorch3d.renderer.blending",
        "pytorch3d.structures",
        "pytorch3d.renderer.mesh",
        "pytorch3d.renderer.mesh.textures",
    ):
        mod = types.ModuleType(name)
        mod.__getattr__ = lambda attr: _Anything  # type: ignore[method-assign]
        sys.modules.setdefault(name, mod)


class Authors:
    """The authors' network, MANO layers and demo steps, imported from ``authors_dir``."""

    def __init__(self, authors_dir: Path, size: int, mano_dir: Path) -> None:
        _stub_pytorch3d()
        sys.path[:0] = [str(authors_dir), str(authors_dir / "lib")]
        import lib.models.networks.resnet as rn
        import lib.models.networks.resnet_csp as rc
        from lib.models.hand3d.Mano_model import ManoModel
        from lib.models.hand3d.Mano_render import ManoRender
        from lib.models.networks.manolayer import ManoLayer
        from lib.models.utils import _sigmoid, _tranpose_and_gather_feat

        r18 = rn.resnet18
        rc.resnet18 = lambda pretrained=True, **kw: r18(pretrained=False, **kw)
        variant, self.k, pick = CONFIGS[size]
        heads = {"hm": 1, "params": 122, "texture": 778 * 3, "light": 27}
        if pick:
            heads["handmap"] = 2
        opt = SimpleNamespace(
            batch_size=1, gpus=[-1], iterations=False, arch="csp_50", heads=heads, heatmaps=False, input_res=size,
            default_resolution=size, down_ratio=4, using_pca=False, task="artificial", pick_hand=pick,
            photometric_loss=True,
        )  # fmt: skip
        block, layers = rc.resnet_spec[50]
        net = rc.PoseResNet(block, layers, heads, head_conv=256, opt=opt)
        net.load_state_dict(tu.authors_state_dict(tu.read_key_shapes(variant)), strict=True)
        self.net = net.eval()
        r = ManoRender.__new__(ManoRender)
        torch.nn.Module.__init__(r)
        r.opt, r.input_res, r.f, r.cx, r.cy = opt, size, 512, size / 2, size / 2
        r.K = torch.tensor([[[512.0, 0.0, size / 2], [0.0, 512.0, size / 2], [0.0, 0.0, 1.0]]])
        r.mano_layer_left = ManoLayer(str(mano_dir / "MANO_LEFT.pkl"), center_idx=None, use_pca=False)
        r.mano_layer_right = ManoLayer(str(mano_dir / "MANO_RIGHT.pkl"), center_idx=None, use_pca=False)
        r.set_Illu_consts()
        faces = r.mano_layer_right.faces
        holder = SimpleNamespace(v_template=np.zeros((778, 3)), faces=faces)
        holder.adj_faces = ManoModel.get_adj_face(holder, faces)
        r.MANO_R = holder
        self.render, self.opt, self.rc = r, opt, rc
        self.sigmoid, self.gather = _sigmoid, _tranpose_and_gather_feat

    @staticmethod
    def preprocess(rgb: np.ndarray, size: int) -> torch.Tensor:
        """Their demo's input steps from an RGB array (``cv2.imread`` gives BGR)."""
        import cv2

        image = np.ascontiguousarray(rgb[..., ::-1])
        h, w, _ = image.shape
        image = np.pad(image, ((max(h, w) - h, 0), (0, max(h, w) - w), (0, 0)), mode="constant")
        image = cv2.resize(image, (size, size))
        mean = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(1, 1, 3)
        std = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(1, 1, 3)
        return torch.from_numpy((image.astype(np.float32) / 255.0 - mean) / std).permute(2, 0, 1).unsqueeze(0)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Network + their demo's decoding for a batch; returns the chosen vertices (B*K, 778, 3)."""
        r, rc = self.render, self.rc
        out = self.net(x)[0][0]
        hms = rc._nms(self.sigmoid(out["hm"]).clone(), 5)
        _, ind, _, _ = rc._topk(hms[:, :1], self.k)
        params = self.gather(out["params"], ind)
        b, c = params.shape[:2]
        go_l, p_l, b_l, t_l, go_r, p_r, b_r, t_r = r.Split_coeff(params.view(-1, params.size(2)), ind.view(-1))
        v_l, j_l = r.mano_layer_left(go_l, p_l, b_l, t_l, side="left")
        v_r, j_r = r.mano_layer_right(go_r, p_r, b_r, t_r, side="right")
        if self.opt.pick_hand:
            hl = self.gather(self.sigmoid(out["handmap"]), ind).reshape(-1, 2)
            handness = (hl[:, 0] <= hl[:, 1]).float()  # their loop, for every hand of the batch
        else:
            handness = torch.ones(b * c)
        verts = torch.where(handness.view(-1, 1, 1) == 0, v_l, v_r)
        joints = torch.where(handness.view(-1, 1, 1) == 0, j_l, j_r)
        r.get_Landmarks(joints)
        r.gamma = self.gather(out["light"], ind)
        albedo = self.gather(out["texture"], ind).view(-1, 778, 3) + torch.tensor([0.45, 0.35, 0.3])
        r.Illumination(albedo, verts)
        return verts


def _authors_pipeline(authors: Authors, img: np.ndarray, size: int) -> torch.Tensor:
    return authors(authors.preprocess(img, size))


def _time(fn: Callable[[], object], warmup: int, repeats: int) -> list[tuple[float, float]]:
    """``(wall ms, process CPU ms)`` of ``repeats`` calls after ``warmup`` ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        out.append(((time.perf_counter() - t0) * 1000.0, (time.process_time() - c0) * 1000.0))
    return out


def _stats(samples: list[tuple[float, float]], batch: int) -> dict[str, float]:
    times = [w for w, _ in samples]
    med = statistics.median(times)
    return {
        "median_ms_per_batch": round(med, 2),
        "ms_per_image": round(med / batch, 2),
        "images_per_s": round(1000.0 * batch / med, 2),
        "min_ms": round(min(times), 2),
        "max_ms": round(max(times), 2),
        "median_cpu_ms_per_image": round(statistics.median(c for _, c in samples) / batch, 2),
        "repeats": len(times),
    }


def _speedups(row: dict) -> None:
    """Wall-clock and CPU-time (steadier on a shared machine) ratios, authors / handzoo."""
    a, h = row["authors"], row["handzoo"]
    row["speedup"] = round(a["median_ms_per_batch"] / h["median_ms_per_batch"], 2)
    row["speedup_cpu_time"] = round(a["median_cpu_ms_per_image"] / h["median_cpu_ms_per_image"], 2)


def _interleaved(fns: dict[str, Callable[[], object]], warmup: int, repeats: int) -> dict[str, list]:
    """Each call ``repeats`` times in turns (the order alternating every round)."""
    times: dict[str, list] = {k: [] for k in fns}
    for fn in fns.values():
        _time(fn, warmup, 0)
    for i in range(repeats):
        for k in list(fns) if i % 2 == 0 else list(fns)[::-1]:
            times[k] += _time(fns[k], 0, 1)
    return times


def _argv_without_paths() -> list[str]:
    """This run's arguments, the local paths replaced by what they are."""
    out, hide = [], {"--authors-dir": "<copy of zijinxuxu/SMHR>", "--out": "<file>"}
    for i, a in enumerate(sys.argv[1:]):
        prev = sys.argv[i] if i else ""
        out.append(hide.get(prev, a) if prev in hide else a)
    return out


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        mano_dir = tu.write_mano_standin(Path(tmp) / "mano")
        for size in args.sizes:
            model = ours(size, mano_dir)
            authors = Authors(Path(args.authors_dir), size, mano_dir) if args.authors_dir else None
            spec = tu.IMAGE_MULTIHAND if size == 384 else tu.IMAGE_FREIHAND
            images = [tu.seeded_image(**{**spec, "seed": spec["seed"] + i}) for i in range(max(args.batches))]
            for batch in args.batches:
                x, _ = prepare_images(images[:batch], size)
                warm, rep = (2, args.repeats) if batch == 1 else (1, max(2, args.repeats // 3))
                fns: dict[str, Callable[[], object]] = {"handzoo": partial(model, {"img": x})}
                if authors is not None:
                    fns["authors"] = partial(authors, x)
                with torch.inference_mode():
                    times = _interleaved(fns, warm, rep)
                    row = {"stage": "network", "size": size, "batch": batch}
                    if authors is not None:
                        ref = authors(x)
                        mine = model({"img": x})["vertices"].reshape(ref.shape)
                        row["max_abs_diff_vertices_m"] = float((mine - ref).abs().max())
                row.update({k: _stats(v, batch) for k, v in times.items()})
                if authors is not None:
                    _speedups(row)
                rows.append(row)
                print(json.dumps(row), flush=True)
            # the whole pipeline, one image in
            img = images[0]
            fns = {"handzoo": partial(model, img)}
            if authors is not None:
                fns["authors"] = partial(_authors_pipeline, authors, img, size)
            with torch.inference_mode():
                times = _interleaved(fns, 2, args.repeats)
            row = {"stage": "pipeline", "size": size, "batch": 1, **{k: _stats(v, 1) for k, v in times.items()}}
            if authors is not None:
                _speedups(row)
            rows.append(row)
            print(json.dumps(row), flush=True)
            model = authors = None
    return {
        "benchmark": "SMHR (ResNet-50 + CSP neck, MANO stand-in), CPU, fp32, inference_mode",
        "command": "OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE nice -n 5 python benchmarks/bench_smhr.py "
        + " ".join(_argv_without_paths()),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": torch.get_num_threads(),
            "torch": torch.__version__,
            "threads": args.threads,
            "load_average_start": [round(v, 2) for v in load_start],
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        },
        "authors_commit": AUTHORS_COMMIT if args.authors_dir else "not measured",
        "anchor": "authors' code on this kind of machine (2 threads, idle): 402 ms/image at 224, 1095 ms at 384 (batch 1)",
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authors-dir", default=None, help="copy of zijinxuxu/SMHR (63c4196)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 384])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "smhr_cpu.json"))
    parser.add_argument("--json", action="store_true", help="print the result JSON to stdout")
    args = parser.parse_args()
    result = run(args)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    if args.json:
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
