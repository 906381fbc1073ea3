"""Read the user's official MANO pickles without chumpy and without executing the pickle.

The official ``MANO_RIGHT.pkl`` / ``MANO_LEFT.pkl`` (mano_v1_2) hold numpy arrays, a scipy sparse
``J_regressor`` and chumpy ``Ch`` objects (chumpy does not install on Python 3.11 / numpy 2).
:class:`SafeManoUnpickler` resolves only an allow-list of globals: numpy's array reconstruction,
stand-ins for chumpy classes (whose pickled state holds the array, or the operands of a simple
reordering) and for scipy sparse matrices (rebuilt densely from ``data/indices/indptr``). Any
other global is refused, so a tampered file cannot run code.

MANO is licensed by the MPI for non-commercial research: handzoo never ships or uploads MANO or
anything derived from it; users download it themselves (:data:`MANO_URL`).
"""

from __future__ import annotations

import importlib
import io
import os
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from handzoo.errors import AssetError
from handzoo.handmodels.data import HandModelData

__all__ = [
    "MANO_URL",
    "MANO_ENV",
    "MANO_TIP_IDS",
    "SMPLX_MANO_TIP_IDS",
    "SafeManoUnpickler",
    "read_mano_pickle",
    "find_mano_file",
    "load_mano",
]

MANO_URL = "https://mano.is.tue.mpg.de"
MANO_ENV = "HANDZOO_MANO_DIR"
_FILENAMES = {"right": "MANO_RIGHT.pkl", "left": "MANO_LEFT.pkl"}

# Fingertip vertices (thumb, index, middle, ring, pinky) used by manopth and most hand methods
# (SMHR, H2ONet, Hand4Whole...). MANO_LEFT's vertex order differs at the middle tip: 445.
MANO_TIP_IDS: dict[str, tuple[int, int, int, int, int]] = {
    "right": (745, 317, 444, 556, 673),
    "left": (745, 317, 445, 556, 673),
}
# smplx's VERTEX_IDS['mano'] (thumb, index, middle, ring, pinky), for code that follows smplx.
SMPLX_MANO_TIP_IDS: tuple[int, int, int, int, int] = (744, 320, 443, 554, 671)


class _Stub:
    """Stand-in for a class of an uninstalled library; keeps the pickled state."""

    _module = ""
    _name = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args
        self._state: Any = None

    def __setstate__(self, state: Any) -> None:
        self._state = state


class _ChumpyStub(_Stub):
    def to_array(self) -> np.ndarray:
        state = self._state if isinstance(self._state, dict) else {}
        name = self._name

        def arr(key: str) -> np.ndarray:
            return _to_array(state[key])

        try:
            if name in ("Select",):
                out = arr("a").ravel()[np.asarray(state["idxs"])]
                return out.reshape(state["preferred_shape"]) if "preferred_shape" in state else out
            if name in ("Reshape",):
                return arr("a").reshape(state["newshape"])
            if name == "transpose":
                return np.transpose(arr("a"), axes=state.get("axes"))
            if name == "Concatenate":
                return np.concatenate([arr(k) for k in state["dterms"]], axis=state["axis"])
            if name == "AtleastNd":
                return {1: np.atleast_1d, 2: np.atleast_2d, 3: np.atleast_3d}[state["ndims"]](arr("x"))
            if name == "Tile":
                return np.tile(arr("a"), state["reps"])
            if name == "Repeat":
                return np.repeat(arr("a"), state["repeats"], state.get("axis"))
            if "x" in state:  # Ch and any plain-valued subclass
                return _to_array(state["x"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AssetError(f"cannot evaluate chumpy object {self._module}.{name}: {exc}") from exc
        raise AssetError(
            f"unsupported chumpy object {self._module}.{name} in the MANO file",
            hint="re-save the file with plain numpy arrays, or report the class to handzoo",
        )


class _SparseStub(_Stub):
    def to_array(self) -> np.ndarray:
        st = self._state if isinstance(self._state, dict) else {}
        shape = tuple(st.get("_shape", st.get("shape", ())))
        fmt = self._name[:3]
        try:
            dense = np.zeros(shape, dtype=np.float64)
            data = np.asarray(st["data"], dtype=np.float64)
            if fmt in ("csc", "csr"):
                indices, indptr = np.asarray(st["indices"]), np.asarray(st["indptr"])
                major = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
                rows, cols = (indices, major) if fmt == "csc" else (major, indices)
            elif fmt == "coo":  # scipy >= 1.13 stores 'coords', older versions 'row'/'col'
                rows, cols = (st["coords"][0], st["coords"][1]) if "coords" in st else (st["row"], st["col"])
                rows, cols = np.asarray(rows), np.asarray(cols)
            else:
                raise KeyError(fmt)
            np.add.at(dense, (rows, cols), data)
        except (KeyError, ValueError, IndexError) as exc:
            raise AssetError(f"cannot rebuild sparse matrix {self._module}.{self._name}: {exc}") from exc
        return dense


def _make_stub(base: type[_Stub], module: str, name: str) -> type[_Stub]:
    return type(name, (base,), {"_module": module, "_name": name})


def _to_array(x: Any) -> np.ndarray:
    if isinstance(x, (_ChumpyStub, _SparseStub)):
        return x.to_array()
    return np.asarray(x)


def _numpy_global(name: str) -> Any:
    for mod in ("numpy._core.multiarray", "numpy.core.multiarray", "numpy._core.numeric", "numpy.core.numeric"):
        try:
            m = importlib.import_module(mod)
        except ImportError:
            continue
        if hasattr(m, name):
            return getattr(m, name)
    raise pickle.UnpicklingError(f"numpy has no {name}")


def _safe_reconstructor(cls: Any, base: Any, state: Any) -> Any:
    # copyreg._reconstructor, limited to our stand-ins (protocol 0/1 pickles of chumpy objects)
    if isinstance(cls, type) and issubclass(cls, _Stub):
        return cls.__new__(cls)
    raise pickle.UnpicklingError(f"refusing to reconstruct {cls!r}")


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    # _codecs.encode as used by protocol-2 pickles written by Python 3 for bytes objects
    if not isinstance(text, str) or encoding.lower().replace("-", "") not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError("only latin-1 byte strings are allowed")
    return text.encode("latin1")


class SafeManoUnpickler(pickle.Unpickler):
    """An unpickler that resolves only numpy arrays, chumpy/scipy-sparse stand-ins and plain builtins."""

    _NUMPY = {
        ("numpy", "ndarray"): lambda: np.ndarray,
        ("numpy", "dtype"): lambda: np.dtype,
    }
    _NUMPY_FUNCS = {"_reconstruct", "scalar", "_frombuffer"}
    _BUILTINS = {"set": set, "frozenset": frozenset, "object": object, "slice": slice, "complex": complex}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._NUMPY:
            return self._NUMPY[(module, name)]()
        if module.startswith("numpy") and name in self._NUMPY_FUNCS:
            return _numpy_global(name)
        if module.startswith("numpy") and name == "dtype":
            return np.dtype
        if module in ("builtins", "__builtin__") and name in self._BUILTINS:
            return self._BUILTINS[name]
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        if module in ("copyreg", "copy_reg") and name == "_reconstructor":
            return _safe_reconstructor
        if module == "chumpy" or module.startswith("chumpy."):
            return _make_stub(_ChumpyStub, module, name)
        if module.startswith("scipy.sparse") and name.endswith(("_matrix", "_array")):
            return _make_stub(_SparseStub, module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a MANO file")


def _plain(obj: Any) -> Any:
    if isinstance(obj, (_ChumpyStub, _SparseStub)):
        return obj.to_array()
    if isinstance(obj, dict):
        return {k.decode("latin1") if isinstance(k, bytes) else k: _plain(v) for k, v in obj.items()}
    return obj


def read_mano_pickle(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a MANO-format pickle into a dict of plain numpy arrays (and strings).

    Raises:
        AssetError: if the file is missing, not a pickle, or uses a global outside the allow-list.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AssetError(f"cannot read MANO file {path}: {exc.strerror or exc}") from exc
    try:
        obj = SafeManoUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError, IndexError, KeyError) as exc:
        raise AssetError(
            f"{path} is not a readable MANO pickle: {exc}",
            hint=f"download the official models again from {MANO_URL} (mano_v1_2.zip, folder models/)",
        ) from exc
    if not isinstance(obj, dict):
        raise AssetError(f"{path} does not contain a MANO model dict (got {type(obj).__name__})")
    return _plain(obj)


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
