"""The one safe unpickler: numpy and inert records only, globals refused, sparse matrices rebuilt."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from handzoo.errors import AnnotationError, AssetError
from handzoo.io import safe_pickle as S


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_plain_numpy_and_containers_round_trip():
    data = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": [1, 2.5, "x"], "c": (np.int64(3), {1, 2})}
    for protocol in (0, 2, 4, 5):
        out = S.loads(pickle.dumps(data, protocol=protocol))
        assert np.array_equal(out["a"], data["a"]) and out["a"].dtype == np.float32
        assert out["b"] == data["b"] and out["c"][1] == {1, 2}


def test_globals_are_refused(tmp_path):
    with pytest.raises(pickle.UnpicklingError, match="refusing global builtins.print: it is not allowed in x"):
        S.loads(pickle.dumps({"k": _Evil()}), what="x")
    p = tmp_path / "f.pkl"
    p.write_bytes(pickle.dumps([_Evil()]))
    with pytest.raises(AnnotationError, match="refusing"):
        S.safe_load(p, "annotation", error=AnnotationError)
    with pytest.raises(AssetError, match="cannot read"):
        S.safe_load(tmp_path / "missing.pkl", "template")


def test_sparse_records_and_refusal_without_records():
    m = sp.random(5, 7, density=0.4, format="csc", random_state=0)
    obj = S.loads(pickle.dumps({"m": m}, protocol=2))["m"]
    assert isinstance(obj, S.PickledObject)
    assert np.array_equal(S.to_array(obj, "m"), m.toarray())
    rows, cols, vals, shape = S.sparse_entries(obj, "m")
    coo = m.tocoo()
    assert shape == (5, 7) and np.array_equal(rows, coo.row) and np.array_equal(cols, coo.col)
    assert np.array_equal(vals, coo.data)
    assert np.array_equal(S.plain({b"m": obj})["m"], m.toarray())
    with pytest.raises(pickle.UnpicklingError, match="refusing global scipy.sparse"):
        S.loads(pickle.dumps(m, protocol=2), record=())
    with pytest.raises(AssetError, match="expected an array"):
        S.to_array([1, 2], "list")


def test_object_array_from_raw_bytes_is_refused_not_a_segfault() -> None:
    """Two bytes changed in any array pickle ('i8' -> 'O8') made numpy read file bytes as object
    pointers: the process crashed (found by tests/fuzz/test_fuzz_datasets.py on a HO-3D meta file)."""
    import pickle

    from handzoo.io.safe_pickle import loads

    data = pickle.dumps(np.array([1, 2, 3], dtype=np.int64), protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="object array built from raw bytes"):
        loads(data.replace(b"i8", b"O8"))
    # pickled dtype flags are not trusted: the array comes back with numpy's own dtype
    out = loads(pickle.dumps({"a": np.arange(6.0).reshape(2, 3), "o": np.array([1, "x"], dtype=object)}))
    assert type(out["a"]) is np.ndarray and out["a"].dtype == np.float64 and out["a"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert type(out["o"]) is np.ndarray and out["o"].tolist() == [1, "x"]
    big = np.arange(4, dtype=">i4")
    assert loads(pickle.dumps(big, protocol=2)).tolist() == [0, 1, 2, 3]
    with pytest.raises(pickle.UnpicklingError, match="datetime"):
        loads(pickle.dumps(np.array(["2024-01-02T03:04"], dtype="M8[m]")))
    # structured dtypes would go through numpy's dtype.__setstate__, which trusts sizes from the file
    with pytest.raises(pickle.UnpicklingError, match="structured"):
        loads(pickle.dumps(np.zeros(2, dtype=[("x", "<f4"), ("y", "<i2", (3,))]), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="malformed dtype state"):
        loads(pickle.dumps(np.eye(3), protocol=2).replace(b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t", b"t"))


def test_reconstruct_shape_is_never_allocated() -> None:
    """A mutated placeholder shape in _reconstruct allocated it (a memory bomb / hang)."""
    import pickle

    from handzoo.io.safe_pickle import loads

    data = pickle.dumps(np.arange(3.0), protocol=2)
    i = data.index(b"K\x00\x85")  # _reconstruct's placeholder shape (0,)
    bomb = data[:i] + b"J\xff\xff\xff\x7f" + data[i + 2 :]  # (2**31 - 1,) int8 placeholder
    assert loads(bomb).tolist() == [0.0, 1.0, 2.0]


def test_huge_item_dtype_is_refused_before_numpy_allocates_it() -> None:
    """A mutated dtype string X made numpy allocate a scalar of that size
    (found by the long fuzz run of the RHD annotation pickle: the process was killed for memory)."""
    import resource

    from handzoo.io.safe_pickle import MAX_ITEMSIZE, loads

    data = pickle.dumps({"k": np.float64(1.5), "a": np.arange(3.0)}, protocol=2)
    assert loads(data)["k"] == 1.5
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, hard))  # a regression fails with MemoryError, not the OOM killer
    try:
        for code in (b"V2000000000", b"S2000000000", b"V" + str(MAX_ITEMSIZE + 1).encode()):
            bomb = data.replace(b"X\x02\x00\x00\x00f8", b"X" + len(code).to_bytes(4, "little") + code)
            assert bomb != data
            with pytest.raises(pickle.UnpicklingError, match="bytes per item"):
                loads(bomb)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
