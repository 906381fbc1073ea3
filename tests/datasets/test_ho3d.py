"""HO-3D v2/v3 loader: OpenGL -> OpenCV, HO-3D joint order, pickles read safely."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from handzoo.datasets import HO3D, load_dataset
from handzoo.errors import AnnotationError, DatasetNotFoundError
from handzoo.testing.datasets import write_ho3d


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_train_split(tmp_path, version):
    exp = write_ho3d(tmp_path, version=version, split="train")
    ds = load_dataset(f"ho3d_{version}", root=tmp_path, split="train")
    assert len(ds) == 3 and ds.protocol == f"ho3d-{version}"
    for i, e in enumerate(exp):
        s = ds[i]
        np.testing.assert_array_equal(s.image, e["image"])
        np.testing.assert_allclose(s.K, e["K"], rtol=1e-6)
        assert s.hand_valid.tolist() == e["hand_valid"]
        assert s.meta["sequence"] == e["sequence"] and s.meta["frame"] == e["frame"]
        if e["joints3d"] is None:
            assert np.isnan(s.joints3d).all() and not s.joints_valid.any()
            continue
        np.testing.assert_allclose(s.joints3d, e["joints3d"], atol=1e-6)
        assert (s.joints3d[..., 2] > 0).all()  # OpenCV: in front of the camera
        np.testing.assert_allclose(s.joints2d, e["joints2d"], atol=1e-3)
        np.testing.assert_allclose(s.mano["hand_pose"][0], e["hand_pose"], atol=1e-6)
        np.testing.assert_allclose(s.meta["joints_opengl"], e["joints_opengl"])


def test_evaluation_split(tmp_path):
    exp = write_ho3d(tmp_path, version="v3", split="evaluation")
    ds = HO3D(tmp_path, split="evaluation", version="v3")
    s = ds[0]
    assert s.joints3d is None and not s.joints_valid.any()
    np.testing.assert_allclose(s.bbox[0], exp[0]["bbox"])
    np.testing.assert_allclose(s.meta["root_joint"], exp[0]["root_joint"], atol=1e-6)


def test_unsafe_pickle_is_refused(tmp_path):
    write_ho3d(tmp_path, version="v3", split="train")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (tmp_path / "train/ABF10/meta/0000.pkl").write_bytes(pickle.dumps({"camMat": Evil()}))
    with pytest.raises(AnnotationError, match="refusing"):
        HO3D(tmp_path, split="train")[0]
    (tmp_path / "train/ABF10/meta/0001.pkl").write_bytes(b"\x80\x02}q\x00(X")
    with pytest.raises(AnnotationError, match="0001.pkl"):
        HO3D(tmp_path, split="train")[1]


def test_missing_parts(tmp_path):
    write_ho3d(tmp_path, version="v3", split="train")
    (tmp_path / "train.txt").write_text("ABF10/0000\nGHOST1/0000\n")
    with pytest.raises(DatasetNotFoundError, match="GHOST1"):
        HO3D(tmp_path, split="train")
    (tmp_path / "train.txt").write_text("ABF10/0000\nnot-a-line\n")
    with pytest.raises(AnnotationError, match="line 2"):
        HO3D(tmp_path, split="train")
