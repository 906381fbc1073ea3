"""Read pickles of numpy arrays (MANO, dataset annotations, authors' templates) without running code.

``pickle.load`` can call any function a file names. The files handzoo reads only need numpy
arrays, plain containers and, in MANO's and some authors' files, objects of libraries that are
not installed (``chumpy``, which does not install on Python 3.11 / numpy 2) or need not be
(``scipy.sparse``). :class:`SafeUnpickler` resolves only an allow-list of globals:

* numpy's array, scalar and dtype reconstruction;
* ``_codecs.encode`` for latin-1 byte strings (how Python 3 writes ``bytes`` in protocol 2);
* ``collections.OrderedDict`` and the builtins ``set``, ``frozenset``, ``slice``, ``complex``,
  ``object``;
* classes of the *recorded* modules (``chumpy``, ``scipy.sparse`` by default) become inert
  :class:`PickledObject` records whose state is kept as data and never executed;
  :func:`to_array` / :func:`plain` evaluate them (chumpy's simple reorderings, sparse matrices).

Any other global is refused with an error that says ``refusing global <module>.<name>``.

Example::

    from handzoo.io.safe_pickle import plain, safe_load
    arrays = plain(safe_load("MANO_RIGHT.pkl", "MANO file"))
"""

from __future__ import annotations

import importlib
import io
import os
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import IO, Any

import numpy as np

from handzoo.errors import AssetError, HandzooError

__all__ = [
    "RECORDED_MODULES",
    "PickledObject",
    "SafeUnpickler",
    "loads",
    "safe_load",
    "to_array",
    "plain",
    "sparse_entries",
]

RECORDED_MODULES: tuple[str, ...] = ("chumpy", "scipy.sparse")

_NUMPY_FUNCS = frozenset({"_reconstruct", "scalar", "_frombuffer"})
#: largest item size (bytes) of a dtype read from a pickle
MAX_ITEMSIZE = 1 << 16
_NUMPY_HOMES = ("numpy._core.multiarray", "numpy.core.multiarray", "numpy._core.numeric", "numpy.core.numeric")
_BUILTINS: dict[str, Any] = {
    "set": set,
    "frozenset": frozenset,
    "object": object,
    "slice": slice,
    "complex": complex,
}


class PickledObject:
    """An object from a pickle kept as its class name and state, never instantiated for real.

    Attributes:
        module: the pickled class's module (``chumpy.ch``, ``scipy.sparse._csc``, ...).
        name: the pickled class's name.
        args: constructor arguments recorded by the pickle, if any.
        state: what the pickle passed to ``__setstate__`` (usually a dict of arrays).
    """

    module = ""
    name = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"PickledObject({self.module}.{self.name})"


def _record_class(module: str, name: str) -> type[PickledObject]:
    return type(name, (PickledObject,), {"module": module, "name": name})


def _numpy_global(name: str) -> Any:
    for home in _NUMPY_HOMES:
        try:
            mod = importlib.import_module(home)
        except ModuleNotFoundError:  # numpy 1 has no numpy._core, numpy 2 warns on numpy.core
            continue
        if hasattr(mod, name):
            return getattr(mod, name)
    raise pickle.UnpicklingError(f"numpy has no {name}")


def _reconstructor(cls: Any, base: Any = None, state: Any = None) -> PickledObject:
    # copyreg._reconstructor (protocol 0/1 pickles), limited to recorded classes
    if isinstance(cls, type) and issubclass(cls, PickledObject):
        return cls.__new__(cls)
    raise pickle.UnpicklingError(f"refusing to reconstruct {cls!r}")


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    # _codecs.encode as protocol-2 pickles written by Python 3 use it for bytes objects
    if not isinstance(text, str) or encoding.lower().replace("-", "").replace("_", "") not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError("refusing _codecs.encode: only latin-1 byte strings are allowed")
    return text.encode("latin1")


class _GuardedArray(np.ndarray):
    """An array under construction by the unpickler: its state is checked before numpy sees it.

    numpy's ``ndarray.__setstate__`` builds an object-dtype array from raw bytes when told to, which
    turns file bytes into object pointers (a two-byte edit of any array pickle crashes the process).
    :func:`_unguard` turns these back into plain ``ndarray`` after loading.
    """

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError("malformed array state")
        dtype, data = _canonical_dtype(state[-3]), state[-1]
        if _has_objects(dtype) and (dtype.kind != "O" or not isinstance(data, list)):
            raise pickle.UnpicklingError("refusing an object array built from raw bytes")
        super().__setstate__((*state[:-3], dtype, *state[-2:]))


class _DtypeRecord:
    """A pickled ``numpy.dtype`` kept as data: numpy's own ``dtype.__setstate__`` trusts sizes and
    flags from the file (a mutated HO-3D annotation crashed the process there). Only plain dtypes
    (a type code and a byte order) are rebuilt; structured, subarray and datetime dtypes are refused."""

    def __init__(self, obj: Any = None, align: Any = False, copy: Any = True) -> None:
        if not isinstance(obj, (str, bytes)):
            raise pickle.UnpicklingError("malformed dtype")
        try:
            self.dtype = np.dtype(obj.decode("latin1") if isinstance(obj, bytes) else obj)
        except (TypeError, ValueError) as exc:
            raise pickle.UnpicklingError(f"malformed dtype: {exc}") from None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) < 8:
            raise pickle.UnpicklingError("malformed dtype state")
        order, sub, names = state[1], state[2], state[3]
        if sub is not None or names is not None or self.dtype.fields:
            raise pickle.UnpicklingError("structured or subarray dtypes are not read from pickles")
        if order in ("<", ">") and self.dtype.byteorder != "|":
            self.dtype = self.dtype.newbyteorder(order)
        elif order not in ("<", ">", "|", "="):
            raise pickle.UnpicklingError("malformed dtype byte order")
        if self.dtype.kind in "mM":
            raise pickle.UnpicklingError("datetime dtypes are not read from pickles")


def _has_objects(dtype: np.dtype) -> bool:
    if dtype.kind == "O":
        return True
    if dtype.subdtype is not None:
        return _has_objects(dtype.subdtype[0])
    return bool(dtype.fields) and any(_has_objects(f[0]) for f in dtype.fields.values())


def _canonical_dtype(dtype: Any) -> np.dtype:
    """The same dtype rebuilt from its description: pickled dtype flags (which tell numpy whether
    items are object pointers) are file data and are never trusted."""
    if isinstance(dtype, _DtypeRecord):
        dtype = dtype.dtype
    if not isinstance(dtype, np.dtype):
        raise pickle.UnpicklingError("malformed array state (no dtype)")
    try:
        if dtype.subdtype is not None:
            base, shape = dtype.subdtype
            out = np.dtype((_canonical_dtype(base), shape))
        elif dtype.fields:
            out = np.dtype(dtype.descr)
        else:
            out = np.dtype(dtype.str)
    except (TypeError, ValueError) as exc:
        raise pickle.UnpicklingError(f"malformed dtype: {exc}") from None
    if out.itemsize > MAX_ITEMSIZE:
        # numpy allocates a scalar of this size before checking the file's bytes (a mutated
        # 'f8' -> 'V2000000000' asked for gigabytes): no annotation needs such items
        raise pickle.UnpicklingError(f"refusing a dtype of {out.itemsize} bytes per item (at most {MAX_ITEMSIZE})")
    return out


def _safe_reconstruct(cls: Any, shape: Any, dtype: Any) -> np.ndarray:
    # numpy's _reconstruct(ndarray, (0,), b'b'), made to build a _GuardedArray
    if not (isinstance(cls, type) and issubclass(cls, np.ndarray)):
        raise pickle.UnpicklingError(f"refusing to reconstruct {cls!r}")
    # the shape and dtype given here are placeholders (the state sets them): never allocate from them
    return np.ndarray.__new__(_GuardedArray, (0,), np.int8)


def _safe_scalar(dtype: Any, obj: Any = None) -> Any:
    dtype = _canonical_dtype(dtype)
    if _has_objects(dtype) and isinstance(obj, (bytes, bytearray, str)):
        raise pickle.UnpicklingError("refusing an object scalar built from raw bytes")
    if obj is None:
        return _numpy_global("scalar")(dtype)
    return _numpy_global("scalar")(dtype, obj)


def _safe_frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    dtype = _canonical_dtype(dtype)
    if _has_objects(dtype):
        raise pickle.UnpicklingError("refusing an object array built from a buffer")
    return _numpy_global("_frombuffer")(buf, dtype, shape, order)


_SAFE_NUMPY = {"_reconstruct": _safe_reconstruct, "scalar": _safe_scalar, "_frombuffer": _safe_frombuffer}


def _unguard(obj: Any, seen: dict[int, Any] | None = None) -> Any:
    """``obj`` with every :class:`_GuardedArray` inside (containers, records) as a plain ndarray."""
    seen = {} if seen is None else seen
    key = id(obj)
    if key in seen:
        return seen[key]
    if isinstance(obj, _DtypeRecord):
        return obj.dtype
    if isinstance(obj, np.ndarray):
        out = obj.view(np.ndarray) if type(obj) is not np.ndarray else obj
        seen[key] = out
        if out.dtype.hasobject:
            flat = out.reshape(-1)
            for i in range(flat.size):
                flat[i] = _unguard(flat[i], seen)
        return out
    if isinstance(obj, dict):
        seen[key] = obj
        for k in list(obj):
            obj[k] = _unguard(obj[k], seen)
        return obj
    if isinstance(obj, list):
        seen[key] = obj
        obj[:] = [_unguard(v, seen) for v in obj]
        return obj
    if isinstance(obj, tuple):
        out = tuple(_unguard(v, seen) for v in obj)
        seen[key] = out
        return out
    if isinstance(obj, PickledObject):
        seen[key] = obj
        if isinstance(getattr(obj, "args", None), tuple):
            obj.args = tuple(_unguard(v, seen) for v in obj.args)
        if hasattr(obj, "state"):
            obj.state = _unguard(obj.state, seen)
        return obj
    return obj


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that resolves only numpy, a few plain builtins and inert records (see module doc).

    Args:
        file: a binary file object.
        record: module prefixes whose classes become :class:`PickledObject` records; ``()`` refuses them.
        what: what the file is, for the refusal message.
    """

    def __init__(self, file: IO[bytes], *, record: tuple[str, ...] = RECORDED_MODULES, what: str = "this file") -> None:
        super().__init__(file, encoding="latin1")  # Python 2 pickles hold str as latin-1 bytes
        self._record = tuple(record)
        self._what = what

    def find_class(self, module: str, name: str) -> Any:
        if module == "numpy" and name == "ndarray":
            return np.ndarray
        if module.startswith("numpy") and name == "dtype":
            return _DtypeRecord
        if module.startswith("numpy") and name in _NUMPY_FUNCS:
            _numpy_global(name)  # numpy has it
            return _SAFE_NUMPY[name]
        if module in ("builtins", "__builtin__") and name in _BUILTINS:
            return _BUILTINS[name]
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        if module in ("copyreg", "copy_reg") and name == "_reconstructor":
            return _reconstructor
        if any(module == m or module.startswith(m + ".") for m in self._record):
            return _record_class(module, name)
        raise pickle.UnpicklingError(f"refusing global {module}.{name}: it is not allowed in {self._what}")


def loads(data: bytes, *, record: tuple[str, ...] = RECORDED_MODULES, what: str = "this file") -> Any:
    """Unpickle bytes with :class:`SafeUnpickler`.

    Raises:
        pickle.UnpicklingError: a global outside the allow-list; other exceptions for malformed data.
    """
    try:
        return _unguard(SafeUnpickler(io.BytesIO(data), record=record, what=what).load())
    except RecursionError:
        raise pickle.UnpicklingError("nested too deeply") from None


def safe_load(
    path: str | os.PathLike[str],
    what: str,
    *,
    error: type[HandzooError] = AssetError,
    hint: str | None = None,
    record: tuple[str, ...] = RECORDED_MODULES,
) -> Any:
    """Unpickle the file ``path`` with :class:`SafeUnpickler`.

    Args:
        path: the pickle file.
        what: a short description used in error messages (``"MANO file"``).
        error: the :class:`~handzoo.errors.HandzooError` subclass raised on failure.
        hint: what the user should do when the file cannot be read.
        record: module prefixes whose classes become inert records (``()`` refuses them).

    Raises:
        error: the file is missing or unreadable, refers to a global outside the allow-list
            (``refusing global ...``), or is truncated / not a pickle.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}", hint=hint) from None
    try:
        return loads(data, record=record, what=what)
    except Exception as exc:  # noqa: BLE001 - truncated or garbage data raises many types
        raise error(f"{what} {path} is not a readable pickle: {exc}", hint=hint) from None


def _value(x: Any) -> np.ndarray:
    return _evaluate(x, "pickled value") if isinstance(x, PickledObject) else np.asarray(x)


def _chumpy_array(obj: PickledObject, what: str) -> np.ndarray:
    state = obj.state if isinstance(obj.state, dict) else {}
    name = obj.name

    def arr(key: str) -> np.ndarray:
        return _value(state[key])

    try:
        if name == "Select":
            out = arr("a").ravel()[np.asarray(state["idxs"])]
            return out.reshape(state["preferred_shape"]) if "preferred_shape" in state else out
        if name == "Reshape":
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
            return _value(state["x"])
    except (KeyError, TypeError, ValueError) as exc:
        raise AssetError(f"{what}: cannot evaluate chumpy object {obj.module}.{name}: {exc}") from None
    raise AssetError(
        f"{what}: unsupported chumpy object {obj.module}.{name}",
        hint="re-save the file with plain numpy arrays, or report the class to handzoo",
    )


def _sparse_coo(obj: PickledObject, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    st = obj.state if isinstance(obj.state, dict) else {}
    fmt = obj.name.lower()[:3]
    shape = tuple(int(s) for s in st.get("_shape", st.get("shape", ())))
    if len(shape) != 2:
        raise AssetError(f"{what}: sparse matrix {obj.module}.{obj.name} without a 2-D shape")
    try:
        data = np.asarray(st["data"])
        if fmt in ("csc", "csr"):
            indices, indptr = np.asarray(st["indices"]), np.asarray(st["indptr"])
            major = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
            rows, cols = (indices, major) if fmt == "csc" else (major, indices)
        elif fmt == "coo":  # scipy >= 1.13 stores 'coords', older versions 'row'/'col'
            rows, cols = (st["coords"][0], st["coords"][1]) if "coords" in st else (st["row"], st["col"])
            rows, cols = np.asarray(rows), np.asarray(cols)
        else:
            raise KeyError(f"format {obj.name}")
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise AssetError(f"{what}: cannot rebuild sparse matrix {obj.module}.{obj.name}: {exc}") from None
    return rows, cols, data, (shape[0], shape[1])


def _evaluate(obj: PickledObject, what: str) -> np.ndarray:
    if obj.module == "chumpy" or obj.module.startswith("chumpy."):
        return _chumpy_array(obj, what)
    if obj.module.startswith("scipy.sparse"):
        rows, cols, data, shape = _sparse_coo(obj, what)
        dense = np.zeros(shape, dtype=np.float64)
        try:
            np.add.at(dense, (rows, cols), data)
        except (IndexError, ValueError) as exc:
            raise AssetError(f"{what}: malformed sparse matrix {obj.module}.{obj.name}: {exc}") from None
        return dense
    raise AssetError(f"{what}: expected an array, found {obj!r}")


def to_array(obj: Any, what: str) -> np.ndarray:
    """Turn an unpickled numpy array or a chumpy / scipy-sparse record into a dense array.

    Sparse matrices become float64; chumpy's ``Ch`` and its simple reorderings (``Select``,
    ``Reshape``, ``transpose``, ``Concatenate``, ``AtleastNd``, ``Tile``, ``Repeat``) are evaluated.

    Raises:
        AssetError: for anything else, or a record whose state cannot be evaluated.
    """
    if isinstance(obj, np.ndarray):
        return obj
    if isinstance(obj, PickledObject):
        return _evaluate(obj, what)
    raise AssetError(f"{what}: expected an array, found {type(obj).__name__}")


def plain(obj: Any, what: str = "pickled value") -> Any:
    """Replace every record in a dict/list tree by its array and decode byte-string dict keys."""
    if isinstance(obj, PickledObject):
        return _evaluate(obj, what)
    if isinstance(obj, dict):
        return {k.decode("latin1") if isinstance(k, bytes) else k: plain(v, what) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain(v, what) for v in obj]
    return obj


def sparse_entries(obj: Any, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """``(rows, cols, values, shape)`` of a sparse matrix record (or dense array).

    For CSC/CSR records the order is scipy's ``tocoo()`` of the stored matrix (column-major for
    CSC, the stored values); otherwise the row-major non-zeros of the dense matrix.

    Raises:
        AssetError: for anything else.
    """
    if (
        isinstance(obj, PickledObject)
        and obj.module.startswith("scipy.sparse")
        and obj.name.lower()[:3] in ("csc", "csr")
    ):
        return _sparse_coo(obj, what)
    dense = to_array(obj, what)
    r, c = np.nonzero(dense)
    return r, c, dense[r, c], (int(dense.shape[0]), int(dense.shape[1]))
