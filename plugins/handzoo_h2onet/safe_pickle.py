"""Read the numpy / scipy.sparse pickles H2ONet and MANO ship, without executing their code.

``pickle.load`` can run arbitrary code. These files only need numpy arrays, scipy sparse
matrices and plain containers, so the unpickler below resolves only numpy's array
reconstruction helpers; sparse matrices (and chumpy objects inside MANO files) become inert
:class:`PickledObject` records whose state is read as data. Any other global is refused.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from handzoo.errors import AssetError

__all__ = ["PickledObject", "safe_load", "as_array"]

_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how protocol-2 pickles from Python 3 store bytes
}
# Classes recorded as data, never instantiated.
_RECORDED_MODULES = ("scipy.sparse", "chumpy")


class PickledObject:
    """An object from a pickle kept as its class name and state, never instantiated for real.

    Attributes:
        module: the pickled class's module.
        name: the pickled class's name.
        state: what the pickle passed to ``__setstate__`` (usually a dict of arrays).
        args: constructor arguments recorded by the pickle, if any.
    """

    module = ""
    name = ""

    def __init__(self, *args: Any) -> None:
        self.args = args
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"PickledObject({self.module}.{self.name})"


def _record_class(module: str, name: str) -> type:
    return type(name, (PickledObject,), {"module": module, "name": name})


def _reconstructor(cls: Any, base: Any, state: Any = None) -> PickledObject:
    if not (isinstance(cls, type) and issubclass(cls, PickledObject)):
        raise pickle.UnpicklingError("copyreg._reconstructor on a class that is not allowed")
    return cls()


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        if (module, name) in {("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor")}:
            return _reconstructor
        if (module, name) in {("__builtin__", "object"), ("builtins", "object")}:
            return object
        if module.startswith(_RECORDED_MODULES):
            return _record_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")


def safe_load(path: str | Path, what: str) -> Any:
    """Unpickle ``path`` allowing only numpy arrays, plain containers and recorded objects.

    Args:
        path: the pickle file.
        what: a short description used in error messages.

    Raises:
        AssetError: when the file is missing, unreadable or contains anything else.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise AssetError(f"cannot read {what} {p}: {exc.strerror}") from None
    try:
        return _SafeUnpickler(io.BytesIO(data), encoding="latin1").load()
    except Exception as exc:  # noqa: BLE001 - any failure means a malformed or unsafe file
        raise AssetError(
            f"{what} {p} is not a plain numpy/scipy pickle ({exc})",
            hint="use the unmodified file from the authors' release",
        ) from None


def as_array(obj: Any, what: str) -> np.ndarray:
    """Turn an unpickled numpy array, scipy sparse matrix record or chumpy record into a dense array.

    Raises:
        AssetError: for anything else.
    """
    if isinstance(obj, np.ndarray):
        return obj
    if isinstance(obj, PickledObject) and obj.module.startswith("scipy.sparse"):
        return _sparse_to_dense(obj, what)
    if isinstance(obj, PickledObject) and obj.module.startswith("chumpy"):
        state = obj.state if isinstance(obj.state, dict) else {}
        if isinstance(state.get("x"), np.ndarray):
            return state["x"]
    raise AssetError(f"{what}: expected an array, found {obj!r}")


def _sparse_to_dense(obj: PickledObject, what: str) -> np.ndarray:
    st = obj.state if isinstance(obj.state, dict) else {}
    fmt = obj.name.lower()
    shape = tuple(int(s) for s in st.get("_shape", st.get("shape", ())))
    if len(shape) != 2:
        raise AssetError(f"{what}: sparse matrix without a 2-D shape")
    out = np.zeros(shape, dtype=np.asarray(st.get("data", np.zeros(0, np.float32))).dtype)
    try:
        if fmt.startswith(("csc", "csr")):
            data, indices, indptr = (np.asarray(st[k]) for k in ("data", "indices", "indptr"))
            major = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
            rows, cols = (indices, major) if fmt.startswith("csc") else (major, indices)
        elif fmt.startswith("coo"):
            data = np.asarray(st["data"])
            rows, cols = (np.asarray(st["row"]), np.asarray(st["col"])) if "row" in st else np.asarray(st["coords"])
        else:
            raise KeyError(fmt)
        np.add.at(out, (rows, cols), data)
    except (KeyError, IndexError, ValueError) as exc:
        raise AssetError(f"{what}: malformed sparse matrix ({exc})") from None
    return out


def sparse_entries(obj: Any, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """``(rows, cols, values, shape)`` of a sparse matrix record (or dense array), in COO order.

    The order equals scipy's ``tocoo()`` of the stored matrix (column-major for CSC).
    """
    if isinstance(obj, np.ndarray):
        r, c = np.nonzero(obj)
        return r, c, obj[r, c], obj.shape
    dense = as_array(obj, what)
    st = obj.state
    fmt = obj.name.lower()
    if fmt.startswith(("csc", "csr")):
        indices, indptr = np.asarray(st["indices"]), np.asarray(st["indptr"])
        major = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        rows, cols = (indices, major) if fmt.startswith("csc") else (major, indices)
        return rows, cols, np.asarray(st["data"]), dense.shape
    r, c = np.nonzero(dense)
    return r, c, dense[r, c], dense.shape
