"""Golden fixtures: inputs (npz) and the outputs of the official scripts on them (json).

The fixtures were produced by running each official evaluation code, outside this repository,
on the stored inputs; each golden file records how (``provenance``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

FIXTURES = Path(__file__).parent / "fixtures"
GL = np.array([1.0, -1.0, -1.0])  # OpenCV <-> OpenGL


def load_inputs(name: str) -> dict[str, np.ndarray]:
    """An input npz as float64 arrays (int64 arrays kept)."""
    with np.load(FIXTURES / f"{name}_inputs.npz") as z:
        return {k: (z[k] if z[k].dtype == np.int64 else z[k].astype(np.float64)) for k in z.files}


def load_golden(name: str) -> dict[str, Any]:
    """A golden output json."""
    return json.loads((FIXTURES / f"{name}_golden.json").read_text())


def write_json(path: Path, obj: Any) -> Path:
    """Write ``obj`` (arrays allowed) as JSON; float64 reprs round-trip exactly."""
    path.write_text(json.dumps(obj, default=lambda a: a.tolist()))
    return path


def write_fh_files(d: Path, gx: np.ndarray, gv: np.ndarray, px: np.ndarray, pv: np.ndarray) -> Path:
    """FreiHAND/HO-3D layout: evaluation_xyz.json, evaluation_verts.json and pred.json in ``d``."""
    d.mkdir(parents=True, exist_ok=True)
    write_json(d / "evaluation_xyz.json", gx)
    write_json(d / "evaluation_verts.json", gv)
    return write_json(d / "pred.json", [px.tolist(), pv.tolist()])


def write_joint_txt(path: Path, ids: np.ndarray, joints: np.ndarray, extra: bool = True, seed: int = 7) -> Path:
    """DexYCB toolkit layout; like the golden run: an unknown id added, lines shuffled."""
    lines = [f"{int(i)}," + ",".join(repr(float(x)) for x in j.reshape(-1)) for i, j in zip(ids, joints)]
    if extra:
        lines.append("99999," + ",".join(["1.5"] * 63))
        order = np.random.default_rng(seed).permutation(len(lines))
        lines = [lines[k] for k in order]
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_close(ours: float, official: float, what: str) -> None:
    """Equal to 1e-9 relative (1e-12 absolute near zero); NaN only equals NaN."""
    if np.isnan(official):
        assert np.isnan(ours), what
        return
    assert abs(ours - official) <= max(1e-9 * abs(official), 1e-12), f"{what}: {ours!r} != {official!r}"
