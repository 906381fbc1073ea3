"""Random stand-ins for MANO files (never the real MANO) and helpers shared by the tests."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from handzoo.handmodels.data import MANO_PARENTS

V, J, K, F = 778, 16, 10, 1538


def _f32(a: np.ndarray) -> np.ndarray:
    # values exactly representable in float32, so float64 comparisons with smplx (which casts
    # every array to float32 first) are exact up to arithmetic
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def random_mano_arrays(seed: int = 0, side: str = "right") -> dict:
    """Arrays in the layout of MANO_{RIGHT,LEFT}.pkl, filled with plausible random numbers."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    v_template = rng.normal(size=(V, 3)) * 0.04
    if side == "left":
        v_template[:, 0] *= -1
    jreg = np.zeros((J, V))
    for j in range(J):
        idx = rng.choice(V, size=12, replace=False)
        w = rng.random(12)
        jreg[j, idx] = w / w.sum()
    weights = rng.random((V, J)) ** 4
    weights /= weights.sum(1, keepdims=True)
    q, _ = np.linalg.qr(rng.normal(size=(45, 45)))
    kintree = np.array([[4294967295, *MANO_PARENTS[1:]], list(range(J))], dtype=np.int64)
    return {
        "v_template": _f32(v_template),
        "shapedirs": _f32(rng.normal(size=(V, 3, K)) * 0.005),
        "posedirs": _f32(rng.normal(size=(V, 3, 9 * (J - 1))) * 0.002),
        "J_regressor": sp.csc_matrix(_f32(jreg)),
        "weights": _f32(weights),
        "kintree_table": kintree,
        "f": rng.integers(0, V, size=(F, 3)).astype(np.uint32),
        "hands_components": _f32(q),
        "hands_mean": _f32(rng.normal(size=45) * 0.2),
        "J": _f32(jreg @ v_template),
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }


def write_mano_dir(root: Path, seed: int = 0, left_bug: bool = True) -> Path:
    """Write MANO_RIGHT.pkl and MANO_LEFT.pkl stand-ins; the left one reproduces the official
    shapedirs bug (x component identical to the right hand's) when ``left_bug``."""
    root.mkdir(parents=True, exist_ok=True)
    right = random_mano_arrays(seed, "right")
    left = random_mano_arrays(seed + 1, "left")
    left["shapedirs"] = right["shapedirs"].copy()
    if not left_bug:
        left["shapedirs"][:, 0] *= -1
    for name, d in (("MANO_RIGHT.pkl", right), ("MANO_LEFT.pkl", left)):
        with open(root / name, "wb") as fh:
            pickle.dump(d, fh, protocol=2)
    return root


@pytest.fixture(scope="session")
def mano_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only folder with random MANO_RIGHT.pkl / MANO_LEFT.pkl stand-ins (left has the bug)."""
    return write_mano_dir(tmp_path_factory.mktemp("mano"))
