"""The chumpy-free, allow-list MANO reader."""

from __future__ import annotations

import importlib.util
import os
import pickle
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from handzoo.errors import AssetError
from handzoo.handmodels.mano_reader import MANO_URL, find_mano_file, load_mano, read_mano_pickle
from handzoo.testing.mano import mano_standin_arrays, write_mano_standin

FAKE_CHUMPY = {
    "__init__.py": "from .ch import Ch\n",
    "ch.py": textwrap.dedent(
        """
        class Ch(object):
            # mimics chumpy: the state is the instance dict without the weakref caches
            def __init__(self, x):
                self.x = x
                self._dirty_vars = set(['x'])
                self._itr = None
                self._depends_on_deps = {}
                self._make_dense = False
                self._make_sparse = False
        """
    ),
    "reordering.py": textwrap.dedent(
        """
        from .ch import Ch

        class Select(Ch):
            def __init__(self, a, idxs, preferred_shape):
                self.a, self.idxs, self.preferred_shape = a, idxs, preferred_shape
                self._dirty_vars = set()

        class transpose(Ch):
            def __init__(self, a, axes):
                self.a, self.axes = a, axes

        class Reshape(Ch):
            def __init__(self, a, newshape):
                self.a, self.newshape = a, newshape

        class Concatenate(Ch):
            def __init__(self, parts, axis):
                self.dterms = ['m%d' % i for i in range(len(parts))]
                for name, part in zip(self.dterms, parts):
                    setattr(self, name, part)
                self.axis = axis
        """
    ),
}


def _write_with_fake_chumpy(tmp_path: Path, make_obj, protocol: int) -> Path:
    """Pickle objects built with a throw-away 'chumpy' package, then make chumpy unimportable."""
    pkg_root = tmp_path / "fake_site"
    (pkg_root / "chumpy").mkdir(parents=True)
    for name, text in FAKE_CHUMPY.items():
        (pkg_root / "chumpy" / name).write_text(text)
    sys.path.insert(0, str(pkg_root))
    try:
        import chumpy  # noqa: F401  (the fake one)
        import chumpy.reordering as reordering
        from chumpy.ch import Ch

        obj = make_obj(Ch, reordering)
        path = tmp_path / "MANO_RIGHT.pkl"
        with open(path, "wb") as fh:
            pickle.dump(obj, fh, protocol=protocol)
    finally:
        sys.path.remove(str(pkg_root))
        for mod in [m for m in sys.modules if m == "chumpy" or m.startswith("chumpy.")]:
            del sys.modules[mod]
    return path


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_chumpy_objects_load_without_chumpy(tmp_path, protocol):
    arrays = mano_standin_arrays(3)

    def make(Ch, reordering):
        d = dict(arrays)
        d["shapedirs"] = Ch(arrays["shapedirs"])
        d["v_template"] = Ch(arrays["v_template"])
        flat = Ch(arrays["weights"].ravel())
        d["weights"] = reordering.Reshape(flat, arrays["weights"].shape)
        d["posedirs"] = reordering.transpose(Ch(arrays["posedirs"].transpose(2, 1, 0)), (2, 1, 0))
        idx = np.arange(45 * 45)[::-1].copy()
        d["hands_components"] = reordering.Select(Ch(arrays["hands_components"].ravel()[idx]), idx, (45, 45))
        d["hands_mean"] = reordering.Concatenate([Ch(arrays["hands_mean"][:20]), Ch(arrays["hands_mean"][20:])], 0)
        return d

    path = _write_with_fake_chumpy(tmp_path, make, protocol)
    assert importlib.util.find_spec("chumpy") is None
    loaded = read_mano_pickle(path)
    for key in ("shapedirs", "v_template", "weights", "posedirs", "hands_components", "hands_mean"):
        assert isinstance(loaded[key], np.ndarray), key
        assert np.array_equal(loaded[key], arrays[key]), key
    assert np.array_equal(loaded["J_regressor"], arrays["J_regressor"].toarray())
    assert "chumpy" not in sys.modules
    data = load_mano("right", path)
    assert data.num_vertices == 778 and data.parents[0] == -1 and data.faces.dtype == np.int64


@pytest.mark.parametrize("fmt", ["csr", "coo"])
def test_other_sparse_formats(tmp_path, fmt):
    d = mano_standin_arrays(4)
    dense = d["J_regressor"].toarray()
    d["J_regressor"] = d["J_regressor"].asformat(fmt)
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps(d, protocol=2))
    assert np.array_equal(read_mano_pickle(path)["J_regressor"], dense)


def test_malicious_pickle_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    path = tmp_path / "MANO_RIGHT.pkl"
    path.write_bytes(pickle.dumps({"v_template": Evil()}, protocol=2))
    with pytest.raises(AssetError, match="not allowed"):
        read_mano_pickle(path)
    assert not (tmp_path / "pwned").exists()


def test_corrupt_and_wrong_content(tmp_path):
    bad = tmp_path / "MANO_RIGHT.pkl"
    bad.write_bytes(b"not a pickle at all")
    with pytest.raises(AssetError):
        load_mano("right", tmp_path)
    bad.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(AssetError, match="dict"):
        load_mano("right", tmp_path)
    d = mano_standin_arrays(0)
    del d["weights"]
    bad.write_bytes(pickle.dumps(d, protocol=2))
    with pytest.raises(AssetError, match="weights"):
        load_mano("right", tmp_path)
    d = mano_standin_arrays(0)
    d["weights"] = d["weights"][:, :15]
    bad.write_bytes(pickle.dumps(d, protocol=2))
    with pytest.raises(AssetError, match="weights"):
        load_mano("right", tmp_path)


def test_missing_files_say_where_to_get_them(tmp_path, monkeypatch):
    monkeypatch.delenv("HANDZOO_MANO_DIR", raising=False)
    with pytest.raises(AssetError) as info:
        find_mano_file("right")
    text = str(info.value)
    assert MANO_URL in text and "MANO_RIGHT.pkl" in text and "MANO_LEFT.pkl" in text and "HANDZOO_MANO_DIR" in text
    with pytest.raises(AssetError, match="MANO_LEFT.pkl not found"):
        find_mano_file("left", tmp_path)
    with pytest.raises(FileNotFoundError):  # AssetError is also a FileNotFoundError
        find_mano_file("left", tmp_path)


def test_env_var_and_models_subfolder(tmp_path, monkeypatch):
    write_mano_standin(tmp_path / "dl" / "models")
    monkeypatch.setenv("HANDZOO_MANO_DIR", str(tmp_path / "dl"))
    assert find_mano_file("right") == tmp_path / "dl" / "models" / "MANO_RIGHT.pkl"
    assert load_mano("left").side == "left"


def test_left_shapedirs_fix(mano_dir, tmp_path):
    right = load_mano("right", mano_dir)
    fixed = load_mano("left", mano_dir)
    raw = load_mano("left", mano_dir, fix_left_shapedirs=False)
    assert np.array_equal(raw.shapedirs[:, 0], right.shapedirs[:, 0])
    assert np.array_equal(fixed.shapedirs[:, 0], -right.shapedirs[:, 0])
    assert np.array_equal(fixed.shapedirs[:, 1:], raw.shapedirs[:, 1:])
    assert fixed.meta.get("fixed_left_shapedirs") is True
    # an already-correct left file is left alone
    good = write_mano_standin(tmp_path / "good", left_bug=False)
    assert np.array_equal(
        load_mano("left", good).shapedirs, load_mano("left", good, fix_left_shapedirs=False).shapedirs
    )
    # without the right file next to it: a warning, no change
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "MANO_LEFT.pkl").write_bytes((mano_dir / "MANO_LEFT.pkl").read_bytes())
    with pytest.warns(UserWarning, match="MANO_RIGHT"):
        data = load_mano("left", alone)
    assert np.array_equal(data.shapedirs, raw.shapedirs)
