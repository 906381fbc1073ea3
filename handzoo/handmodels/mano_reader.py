"""Read the user's official MANO pickles without chumpy and without executing the pickle.

The official ``MANO_RIGHT.pkl`` / ``MANO_LEFT.pkl`` (mano_v1_2) hold numpy arrays, a scipy sparse
``J_regressor`` and chumpy ``Ch`` objects (chumpy does not install on Python 3.11 / numpy 2).
:mod:`handzoo.io.safe_pickle` resolves only an allow-list of globals: numpy's array reconstruction,
inert records of chumpy objects (whose pickled state holds the array, or the operands of a simple
reordering) and of scipy sparse matrices (rebuilt densely from ``data/indices/indptr``). Any
other global is refused, so a tampered file cannot run code.

MANO is licensed by the MPI for non-commercial research: handzoo never ships or uploads MANO or
anything derived from it; users download it themselves (:data:`MANO_URL`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from handzoo.catalogue.hand_models import MANO_ENV, MANO_URL
from handzoo.errors import AssetError
from handzoo.handmodels.data import HandModelData
from handzoo.io.safe_pickle import plain, safe_load

__all__ = [
    "MANO_URL",
    "MANO_ENV",
    "MANO_TIP_IDS",
    "SMPLX_MANO_TIP_IDS",
    "read_mano_pickle",
    "find_mano_file",
    "load_mano",
]

_FILENAMES = {"right": "MANO_RIGHT.pkl", "left": "MANO_LEFT.pkl"}

# Fingertip vertices (thumb, index, middle, ring, pinky) used by manopth and most hand methods
# (SMHR, H2ONet, Hand4Whole...). MANO_LEFT's vertex order differs at the middle tip: 445.
MANO_TIP_IDS: dict[str, tuple[int, int, int, int, int]] = {
    "right": (745, 317, 444, 556, 673),
    "left": (745, 317, 445, 556, 673),
}
# smplx's VERTEX_IDS['mano'] (thumb, index, middle, ring, pinky), for code that follows smplx.
SMPLX_MANO_TIP_IDS: tuple[int, int, int, int, int] = (744, 320, 443, 554, 671)


def read_mano_pickle(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a MANO-format pickle into a dict of plain numpy arrays (and strings).

    Raises:
        AssetError: if the file is missing, not a pickle, or uses a global outside the allow-list.
    """
    hint = f"download the official models again from {MANO_URL} (mano_v1_2.zip, folder models/)"
    obj = safe_load(path, "MANO file", hint=hint)
    if not isinstance(obj, dict):
        raise AssetError(f"{path} does not contain a MANO model dict (got {type(obj).__name__})")
    return plain(obj, f"MANO file {path}")


def _missing_hint(filename: str) -> str:
    return (
        f"register and download MANO at {MANO_URL} (Downloads -> 'Models & Code', mano_v1_2.zip); copy "
        f"{_FILENAMES['right']} and {_FILENAMES['left']} from mano_v1_2/models/ into a folder and set "
        f"{MANO_ENV}=<folder> or pass mano_dir=<folder> (CLI: --mano-dir). Expected file: {filename}"
    )


def find_mano_file(side: str, mano_dir: str | os.PathLike[str] | None = None) -> Path:
    """Locate ``MANO_RIGHT.pkl`` / ``MANO_LEFT.pkl`` in ``mano_dir`` or ``$HANDZOO_MANO_DIR``.

    ``mano_dir`` may also be the path of the pickle itself.

    Raises:
        AssetError: naming the download page, the expected file names and where to put them.
    """
    if side not in _FILENAMES:
        raise AssetError(f"side must be 'right' or 'left', got {side!r}")
    filename = _FILENAMES[side]
    root = mano_dir if mano_dir is not None else os.environ.get(MANO_ENV)
    if not root:
        raise AssetError(f"MANO model files are not configured ({MANO_ENV} is not set)", hint=_missing_hint(filename))
    root = Path(root).expanduser()
    if root.is_file():
        return root
    for candidate in (root / filename, root / "models" / filename, root / "mano" / filename):
        if candidate.is_file():
            return candidate
    raise AssetError(f"{filename} not found in {root}", hint=_missing_hint(filename))


def _arrays_to_data(d: dict[str, Any], side: str, source: Path) -> HandModelData:
    missing = [k for k in ("v_template", "shapedirs", "J_regressor", "weights", "kintree_table", "f") if k not in d]
    if missing:
        raise AssetError(f"{source} lacks MANO arrays {missing}", hint=f"is it a MANO model file from {MANO_URL}?")
    kintree = np.asarray(d["kintree_table"]).astype(np.int64)
    parents = kintree[0].copy()
    parents[0] = -1
    num_pose = 3 * (len(parents) - 1)
    components = np.asarray(d.get("hands_components", np.eye(num_pose)), dtype=np.float64)
    posedirs = d.get("posedirs")
    data = HandModelData(
        name="mano",
        side=side,
        v_template=np.asarray(d["v_template"], dtype=np.float64),
        shapedirs=np.asarray(d["shapedirs"], dtype=np.float64),
        posedirs=None if posedirs is None else np.asarray(posedirs, dtype=np.float64),
        J_regressor=np.asarray(d["J_regressor"], dtype=np.float64),
        weights=np.asarray(d["weights"], dtype=np.float64),
        parents=parents,
        faces=np.asarray(d["f"]).astype(np.int64),
        hands_components=components,
        hands_mean=np.asarray(d.get("hands_mean", np.zeros(num_pose)), dtype=np.float64).reshape(-1),
        tip_vertex_ids=MANO_TIP_IDS[side],
        meta={"source": str(source)},
    )
    return data.validate()


def load_mano(
    side: str = "right", mano_dir: str | os.PathLike[str] | None = None, fix_left_shapedirs: bool = True
) -> HandModelData:
    """Load the user's MANO model for one side.

    Args:
        side: ``'right'`` or ``'left'``.
        mano_dir: folder holding ``MANO_RIGHT.pkl`` / ``MANO_LEFT.pkl`` (or ``models/`` below it),
            or the pickle itself; defaults to ``$HANDZOO_MANO_DIR``.
        fix_left_shapedirs: the official ``MANO_LEFT.pkl`` has the x component of its shape blend
            shapes equal to the right hand's instead of mirrored (smplx issue #48; smplx itself does
            not correct it, the methods built on it - Hand4Whole, InterHand2.6M, HaMeR - negate
            ``shapedirs[:, 0, :]`` when it is within 1 of the right hand's). With True (default)
            handzoo applies the same check and fix when ``MANO_RIGHT.pkl`` sits next to the left
            file, and warns if it cannot check.

    Returns:
        The model arrays (float64), tip ids :data:`MANO_TIP_IDS`.
    """
    path = find_mano_file(side, mano_dir)
    data = _arrays_to_data(read_mano_pickle(path), side, path)
    if side == "left" and fix_left_shapedirs:
        right_path = path.with_name(_FILENAMES["right"])
        if right_path.is_file():
            right = read_mano_pickle(right_path)
            right_sd = np.asarray(right.get("shapedirs"), dtype=np.float64)
            if right_sd.shape == data.shapedirs.shape and np.abs(data.shapedirs[:, 0] - right_sd[:, 0]).sum() < 1:
                data.shapedirs[:, 0, :] *= -1
                data.meta["fixed_left_shapedirs"] = True
        else:
            warnings.warn(
                f"cannot check MANO_LEFT's shapedirs bug: {right_path} not found; using the file as is",
                stacklevel=2,
            )
    return data
