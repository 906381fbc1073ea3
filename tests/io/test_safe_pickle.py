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
