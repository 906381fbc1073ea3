"""MANO-format stand-ins: random arrays in the layout of ``MANO_{RIGHT,LEFT}.pkl``, never MANO itself.

MANO's files may not be shipped or downloaded in tests. These stand-ins have the official keys,
shapes and types (a scipy sparse ``J_regressor``, a ``kintree_table`` with ``2**32 - 1`` as the
root's parent, ``uint32`` faces) filled with plausible random numbers, so that code reading MANO
(:func:`handzoo.handmodels.load_mano`, a plugin's MANO-derived buffers) can be tested end to end::

    from handzoo.testing import write_mano_standin
    mano_dir = write_mano_standin(tmp_path / "mano")   # MANO_RIGHT.pkl + MANO_LEFT.pkl
    model = handzoo.handmodels.hand_model("mano", side="right", mano_dir=mano_dir)
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from handzoo.handmodels.data import MANO_PARENTS

__all__ = ["mano_standin_arrays", "write_mano_standin"]

V, J, K, F = 778, 16, 10, 1538


def _f32(a: np.ndarray) -> np.ndarray:
    # values exactly representable in float32, so float64 comparisons with libraries that cast
    # every array to float32 first (smplx) are exact up to arithmetic
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def mano_standin_arrays(seed: int = 0, side: str = "right") -> dict[str, Any]:
    """Arrays in the layout of ``MANO_{RIGHT,LEFT}.pkl``, filled with plausible random numbers.

    Args:
        seed: seed of the random numbers (same seed, same arrays).
        side: ``'right'`` or ``'left'`` (the left template is mirrored in x).

    Returns:
        ``v_template (778, 3)``, ``shapedirs (778, 3, 10)``, ``posedirs (778, 3, 135)``,
        ``J_regressor`` (scipy CSC, 16 x 778, rows sum to 1), ``weights (778, 16)``,
        ``kintree_table (2, 16)``, ``f (1538, 3) uint32``, ``hands_components (45, 45)``,
        ``hands_mean (45,)``, ``J (16, 3)``, ``bs_style``, ``bs_type``.
    """
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


def write_mano_standin(
    folder: str | Path,
    seed: int = 0,
    left_bug: bool = True,
    *,
    arrays: Callable[[str], dict[str, Any]] | None = None,
) -> Path:
    """Write ``MANO_RIGHT.pkl`` and ``MANO_LEFT.pkl`` stand-ins (pickle protocol 2) into ``folder``.

    Args:
        folder: created if missing.
        seed: the right hand's seed (the left hand uses ``seed + 1``).
        left_bug: reproduce the official left file's shape-blend bug (its x component equals the
            right hand's instead of being mirrored), which the MANO reader detects and fixes.
        arrays: ``side -> dict`` of your own stand-in arrays (e.g. the ones a plugin's golden
            fixtures were made with), written as they are; ``seed`` and ``left_bug`` then do nothing.

    Returns:
        ``folder``, to pass as ``mano_dir=`` or ``$HANDZOO_MANO_DIR``.
    """
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    if arrays is not None:
        right, left = arrays("right"), arrays("left")
    else:
        right = mano_standin_arrays(seed, "right")
        left = mano_standin_arrays(seed + 1, "left")
        left["shapedirs"] = right["shapedirs"].copy()
        if not left_bug:
            left["shapedirs"][:, 0] *= -1
    for name, d in (("MANO_RIGHT.pkl", right), ("MANO_LEFT.pkl", left)):
        with open(root / name, "wb") as fh:
            pickle.dump(d, fh, protocol=2)
    return root
