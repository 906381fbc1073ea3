"""CPU latency (batch 1) and throughput (batch 32) of H2ONet SF and MF: handzoo vs the authors.

Both implementations get the same deterministic weights (the test suite's rule), the same mesh
hierarchy (the stand-in template of the tests, the real one's vertex counts) and the same inputs;
network forward only (128x128 crops in), fp32, ``torch.inference_mode``, eval mode. The two
implementations run in turns (interleaved), so background load hits both alike. The open-hand
variants (1609 vertices, handzoo's own hierarchy) are timed too; the authors have no such model.

The authors' code is optional: pass ``--authors-dir`` pointing at a checkout of
hxwork/H2ONet_Pytorch (commit aee644e). It is imported in-process with small shims for what it
needs but cannot have here (pytorch3d's 6D conversion, a manopth layer with stand-in arrays, and
spiral indices from handzoo's OpenMesh-order implementation instead of OpenMesh); its network
code runs unmodified. Without it the authors' columns read "not measured".

    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/bench_h2onet.py \
        --authors-dir /tmp/h2onet_authors
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests" / "plugins" / "h2onet"
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(TESTS)]

from h2o_helpers import FIXTURES, deterministic_state, standin_finger_vertex_ids, standin_j_regressor  # noqa: E402
from handzoo_h2onet.assets import joint_regressor_from_j16, load_mesh_hierarchy  # noqa: E402
from handzoo_h2onet.convert import convert_state_dict, to_authors_state_dict  # noqa: E402
from handzoo_h2onet.model import H2ONetMF, H2ONetSF  # noqa: E402


def ours(kind: str) -> torch.nn.Module:
    """handzoo's model with the deterministic weights."""
    import tempfile

    from handzoo.testing import write_mano_standin

    cls = H2ONetSF if kind == "sf" else H2ONetMF
    jreg = joint_regressor_from_j16(standin_j_regressor())
    mano_dir = write_mano_standin(Path(tempfile.mkdtemp()) / "mano")  # MANO-format random arrays
    hand = {"type": "mano", "mano_dir": mano_dir, "joint_regressor": jreg}  # the regressor is a hand-model option
    m = cls(template_dir=FIXTURES / "template", hand_model=hand)
    shapes = {k: tuple(v.shape) for k, v in to_authors_state_dict(m.state_dict()).items()}
    state = deterministic_state(shapes, ("mano_joint_reg",))
    state["mano_joint_reg"] = torch.from_numpy(jreg)  # the authors' model starts from the same regressor
    m.load_state_dict(convert_state_dict(state, "h2onet-dexycb" if kind == "mf" else "h2onet-sf-dexycb"))
    return m.eval()


def _install_shims(authors_dir: Path) -> None:
    """Import-time stand-ins for pytorch3d, manopth's MANO pickle and OpenMesh spirals."""
    import pickle

    mesh = load_mesh_hierarchy(FIXTURES / "template")
    p3d = types.ModuleType("pytorch3d")
    p3dt = types.ModuleType("pytorch3d.transforms")
    from handzoo.geometry.rotations import axis_angle_to_matrix, rot6d_to_matrix

    p3dt.rotation_6d_to_matrix = rot6d_to_matrix
    p3dt.axis_angle_to_matrix = axis_angle_to_matrix
    p3d.transforms = p3dt
    sys.modules.update({"pytorch3d": p3d, "pytorch3d.transforms": p3dt})

    class ManoLayer(torch.nn.Module):
        def __init__(self, **_: object) -> None:
            super().__init__()
            self.register_buffer("th_J_regressor", torch.from_numpy(standin_j_regressor()).float())
            self.register_buffer("th_faces", torch.from_numpy(mesh.faces[0]))

    ml = types.ModuleType("common.utils.manopth.manopth.manolayer")
    ml.ManoLayer = ManoLayer
    sys.modules["common.utils.manopth.manopth.manolayer"] = ml
    with open(FIXTURES / "template" / "transform.pkl", "rb") as f:  # the repo's own stand-in fixture
        tmp = pickle.load(f)

    def spiral_transform(*_: object, **__: object):
        def sparse(m):
            c = m.tocoo()
            return torch.sparse_coo_tensor(np.array([c.row, c.col], dtype=np.int64), torch.from_numpy(c.data), c.shape)

        spirals = [torch.from_numpy(s) for s in mesh.spirals]
        return spirals, None, [sparse(u) for u in tmp["up_transform"]], tmp

    rd = types.ModuleType("model.modules.utils.read")
    rd.spiral_tramsform = spiral_transform
    sys.modules["model.modules.utils.read"] = rd
    sys.path.insert(0, str(authors_dir))
    torch.Tensor.cuda = lambda self, *a, **k: self  # their offset branch calls .cuda()
    import model.modules.models.modules as mm
    import occ_label_preparation.seg as seg

    for name, ids in standin_finger_vertex_ids().items():
        setattr(seg, f"{name}_verts_idx", ids)
        setattr(mm, f"{name}_verts_idx", ids)


def authors(kind: str, authors_dir: Path) -> torch.nn.Module:
    """The authors' model with the same deterministic weights."""
    if "model.model" not in sys.modules:
        cwd = os.getcwd()
        os.chdir(authors_dir)
        try:
            _install_shims(authors_dir)
            import model.model  # noqa: F401
        finally:
            os.chdir(cwd)
    from model.model import H2ONet_MF, H2ONet_SF

    cfg = types.SimpleNamespace(model=types.SimpleNamespace(pretrain=False))
    m = H2ONet_SF(cfg) if kind == "sf" else H2ONet_MF(cfg)
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    m.load_state_dict(deterministic_state(shapes, ("mano_layer.", "mano_joint_reg")), strict=False)
    return m.eval()


def inputs(kind: str, batch: int) -> dict[str, torch.Tensor]:
    """Random crops in [0, 1]."""
    g = torch.Generator().manual_seed(batch)
    names = ["img"] if kind == "sf" else ["img_0", "img_1", "img_2"]
    return {n: torch.rand(batch, 3, 128, 128, generator=g) for n in names}


def time_models(
    models: dict[str, torch.nn.Module], batch: dict, warmup: int, repeats: int
) -> dict[str, list[tuple[float, float]]]:
    """``(wall ms, process CPU ms)`` of ``repeats`` forward passes of each model after ``warmup`` ones.

    The models take turns (ABAB..., the order alternating every round), so load from other
    processes on a shared machine hits all of them alike; the CPU time (both threads together)
    is the steadier measure of the work done when the machine is shared.
    """
    names = list(models)
    out: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    with torch.inference_mode():
        for i in range(warmup + repeats):
            for name in names if i % 2 == 0 else names[::-1]:
                t0, c0 = time.perf_counter(), time.process_time()
                models[name](batch)
                if i >= warmup:
                    out[name].append(((time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000))
    return out


def _stats(samples: list[tuple[float, float]], bs: int) -> dict[str, float | int]:
    ms = [w for w, _ in samples]
    med = statistics.median(ms)
    return {
        "median_ms_per_batch": round(med, 2),
        "ms_per_sample": round(med / bs, 2),
        "samples_per_s": round(1000 * bs / med, 2),
        "min_ms": round(min(ms), 2),
        "max_ms": round(max(ms), 2),
        "median_cpu_ms_per_sample": round(statistics.median(c for _, c in samples) / bs, 2),
        "repeats": len(ms),
    }


def openhand(kind: str) -> torch.nn.Module:
    """handzoo's open-hand variant (1609 vertices; untrained, as published)."""
    torch.manual_seed(0)
    return (H2ONetSF if kind == "sf" else H2ONetMF)(hand_model="openhand").eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--authors-dir", type=Path, default=None, help="checkout of H2ONet_Pytorch (aee644e)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "h2onet_cpu.json")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (smoke run)")
    parser.add_argument(
        "--repeats",
        type=int,
        nargs=2,
        default=(30, 7),
        metavar=("B1", "B32"),
        help="timed repeats at batch 1 and 32 (default 30 7)",
    )
    parser.add_argument("--no-openhand", action="store_true", help="skip the open-hand rows (no authors' twin)")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    load_start = os.getloadavg()
    plan = {1: (5, args.repeats[0]), 32: (1, args.repeats[1])} if not args.quick else {1: (1, 3), 32: (0, 1)}
    rows = []
    for kind in ("sf", "mf"):
        impls = {"handzoo": ours(kind)}
        if args.authors_dir is not None:
            impls["authors"] = authors(kind, args.authors_dir)
        for bs, (warm, rep) in plan.items():
            batch = inputs(kind, bs)
            row: dict = {"model": f"H2ONet-{kind.upper()}", "hand_model": "mano (stand-in hierarchy)", "batch": bs}
            if "authors" in impls:  # same outputs before timing
                with torch.inference_mode():
                    a, o = impls["authors"](batch), impls["handzoo"](batch)
                row["max_abs_diff_verts"] = float((a["pred_verts3d_w_gr"] - o["pred_verts3d_w_gr"]).abs().max())
            times = time_models(impls, batch, warm, rep)
            for name in ("authors", "handzoo"):
                row[name] = _stats(times[name], bs) if name in times else "not measured"
            if "authors" in impls:
                a, h = row["authors"], row["handzoo"]
                row["speedup"] = round(a["median_ms_per_batch"] / h["median_ms_per_batch"], 3)
                row["speedup_cpu_time"] = round(a["median_cpu_ms_per_sample"] / h["median_cpu_ms_per_sample"], 3)
            print(json.dumps(row), flush=True)
            rows.append(row)
        del impls
        if args.no_openhand:
            continue
        model = openhand(kind)
        for bs, (warm, rep) in plan.items():
            times = time_models({"handzoo": model}, inputs(kind, bs), warm, rep)
            row = {"model": f"H2ONet-{kind.upper()}", "hand_model": "openhand (1609 vertices)", "batch": bs,
                   "authors": "not applicable", "handzoo": _stats(times["handzoo"], bs)}  # fmt: skip
            print(json.dumps(row))
            rows.append(row)
    result = {
        "benchmark": "H2ONet network forward, CPU, fp32, inference_mode (MF: per 3-frame sample)",
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
                    "threads": torch.get_num_threads(), "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
                    "load_average_start": [round(v, 2) for v in load_start],
                    "load_average_end": [round(v, 2) for v in os.getloadavg()]},
        "command": "OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_h2onet.py "
        + " ".join(a if not a.startswith("/") else "<path>" for a in sys.argv[1:]),
        "authors_commit": "aee644e" if args.authors_dir else None,
        "rows": rows,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
