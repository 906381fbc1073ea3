"""FreiHAND loader on a stand-in written in the official layout."""

from __future__ import annotations

import json

import numpy as np
import pytest

from handzoo.datasets import FreiHAND, load_dataset
from handzoo.errors import AnnotationError, ConfigError, DatasetNotFoundError
from handzoo.testing.datasets import write_freihand


def test_training_values_in_handzoo_conventions(tmp_path):
    exp = write_freihand(tmp_path, n=3, split="training", versions=2)
    ds = load_dataset("freihand", root=tmp_path, split="training")
    assert len(ds) == 3 and ds.protocol == "freihand"
    for i, e in enumerate(exp):
        s = ds[i]
        np.testing.assert_array_equal(s.image, e["images"][0])
        np.testing.assert_allclose(s.K, e["K"], rtol=1e-6)
        np.testing.assert_allclose(s.joints3d, e["joints3d"], atol=1e-6)
        np.testing.assert_allclose(s.joints2d, e["joints2d"], atol=1e-3)
        np.testing.assert_allclose(s.vertices, e["vertices"], atol=1e-6)
        np.testing.assert_allclose(s.mano["global_orient"][0], e["global_orient"], atol=1e-6)
        np.testing.assert_allclose(s.mano["hand_pose"][0], e["hand_pose"], atol=1e-6)
        np.testing.assert_allclose(s.mano["betas"][0], e["betas"], atol=1e-6)
        np.testing.assert_allclose(s.meta["mano_uv_root"], e["uv_root"])
        assert s.meta["mano_flat_hand_mean"] is False
        assert s.meta["scale"] == pytest.approx(e["scale"])
        np.testing.assert_array_equal(s.mask, e["mask"])
        assert s.side.tolist() == [0] and s.hand_valid.all() and s.joints_valid.all()
        box = s.bbox[0]
        assert box[0] <= e["joints2d"][0, :, 0].min() + 1e-3 and box[2] >= e["joints2d"][0, :, 0].max() - 1e-3
        assert s.image.dtype == np.uint8 and s.K.dtype == np.float32 and s.joints3d.dtype == np.float32
    # all versions: the official numbering id + v * n
    every = FreiHAND(tmp_path, split="train", version="all", with_vertices=False)
    assert len(every) == 12
    np.testing.assert_array_equal(every[3 + 1].image, exp[1]["images"][1])
    assert every[4].meta["version"] == "hom" and every[4].vertices is None
    with pytest.raises(DatasetNotFoundError, match="image missing"):
        every[7]  # version 2 images were not written


def test_evaluation_without_and_with_annotations(tmp_path):
    write_freihand(tmp_path, n=2, split="evaluation")
    for f in ("xyz", "mano", "verts"):
        (tmp_path / f"evaluation_{f}.json").unlink()
    ds = FreiHAND(tmp_path)  # the default split
    s = ds[0]
    assert s.joints3d is None and s.mask is None and np.isnan(s.bbox).all() and not s.joints_valid.any()
    assert "scale" in s.meta
    write_freihand(tmp_path, n=2, split="evaluation")
    assert FreiHAND(tmp_path)[1].joints3d.shape == (1, 21, 3)


def test_missing_and_malformed(tmp_path, monkeypatch):
    monkeypatch.delenv("HANDZOO_DATA", raising=False)
    with pytest.raises(DatasetNotFoundError, match="HANDZOO_DATA"):
        FreiHAND()
    with pytest.raises(DatasetNotFoundError, match="freihand"):
        FreiHAND(tmp_path / "nowhere")
    write_freihand(tmp_path, n=2, split="training")
    (tmp_path / "training_mano.json").unlink()
    with pytest.raises(DatasetNotFoundError) as info:
        FreiHAND(tmp_path, split="training")
    assert "training_mano.json" in str(info.value) and "lmb.informatik" in str(info.value)
    write_freihand(tmp_path, n=2, split="training")
    (tmp_path / "training_xyz.json").write_text(json.dumps([[[0.0, 0.0, 1.0]] * 21]))  # 1 entry for 2 samples
    with pytest.raises(AnnotationError, match="training_xyz.json"):
        FreiHAND(tmp_path, split="training")
    (tmp_path / "training_xyz.json").write_text("[[1, 2")
    with pytest.raises(AnnotationError, match="malformed JSON"):
        FreiHAND(tmp_path, split="training")
    with pytest.raises(ConfigError):
        FreiHAND(tmp_path, split="validation")
    with pytest.raises(ConfigError):
        FreiHAND(tmp_path, split="evaluation", version="hom")


def test_root_from_environment(tmp_path, monkeypatch):
    write_freihand(tmp_path / "FreiHAND_pub_v2", n=1, split="evaluation")
    monkeypatch.setenv("HANDZOO_DATA", str(tmp_path))
    ds = load_dataset("freihand")
    assert ds.root == tmp_path / "FreiHAND_pub_v2" and len(ds) == 1
    with pytest.raises(IndexError):
        ds[1]
    assert ds[-1].meta["id"] == 0
