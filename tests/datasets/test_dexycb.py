"""DexYCB: the toolkit's splits and sample order, and HandOccNet's preprocessed JSON."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from handzoo.datasets import DexYCB, load_dataset
from handzoo.datasets.dexycb import dexycb_split_indices
from handzoo.errors import ConfigError, DatasetNotFoundError
from handzoo.testing.datasets import write_dexycb, write_dexycb_handoccnet


@pytest.fixture(scope="module")
def dex_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("dexycb")
    return root, write_dexycb(root)


def test_toolkit_s0_test_order_and_values(dex_root, monkeypatch):
    root, exp = dex_root
    monkeypatch.setenv("DEX_YCB_DIR", str(root))
    ds = load_dataset("dexycb", split="s0_test")
    assert ds.root == root and ds.protocol == "dexycb"
    assert len(ds) == len(exp) == 8 * 2 + 8 * 1
    for i, e in enumerate(exp):
        s = ds[i]
        assert s.meta["image_id"] == i
        assert (s.meta["sequence"], s.meta["serial"], s.meta["frame"]) == (e["sequence"], e["serial"], e["frame"])
        np.testing.assert_array_equal(s.image, e["image"])
        np.testing.assert_allclose(s.K, e["K"], rtol=1e-6)
        assert s.side.tolist() == e["side"] and s.hand_valid.tolist() == e["hand_valid"]
        np.testing.assert_allclose(s.meta["mano_pca"], e["mano_pca"])
        np.testing.assert_allclose(s.meta["mano_betas"], e["mano_betas"])
        if e["joints3d"] is None:
            assert not s.joints_valid.any() and s.meta["joints_mm"] is None
        else:
            np.testing.assert_allclose(s.joints3d, e["joints3d"], atol=1e-6)
            np.testing.assert_allclose(s.joints2d, e["joints2d"], atol=1e-4)
            np.testing.assert_allclose(s.meta["joints_mm"], e["joints3d"][0] * 1000, atol=1e-3)


def test_other_splits_select_by_the_toolkit_tables(dex_root):
    root, _ = dex_root
    assert len(DexYCB(root, split="s0_train")) == 0  # the populated sequences are test sequences
    assert len(DexYCB(root, split="s2_test")) == 2 + 1  # camera 7 only
    assert len(DexYCB(root, split="s1_test")) == 0
    subj, cams, seqs = dexycb_split_indices("s3", "test")
    assert seqs == [i for i in range(100) if i // 5 in (7, 11, 15)] and len(subj) == 10 and len(cams) == 8


def test_toolkit_incomplete(tmp_path, dex_root):
    root, _ = dex_root
    part = tmp_path / "dex"
    shutil.copytree(root / "calibration", part / "calibration")
    with pytest.raises(DatasetNotFoundError, match="10 subject folders"):
        DexYCB(part)
    with pytest.raises(ConfigError):
        DexYCB(root, split="s4_test")
    with pytest.raises(ConfigError):
        DexYCB(root, split="s0_val", source="handoccnet")


def test_handoccnet_json(tmp_path):
    exp = write_dexycb_handoccnet(tmp_path, split="test")
    ds = load_dataset("dexycb_handoccnet", root=tmp_path, split="s0_test")
    assert ds.protocol == "dexycb-handoccnet" and len(ds) == 2
    for i, e in enumerate(exp):
        s = ds[i]
        np.testing.assert_array_equal(s.image, e["image"])
        np.testing.assert_allclose(s.K, e["K"], rtol=1e-6)
        assert s.side.tolist() == e["side"] and s.meta["image_id"] == e["image_id"]
        np.testing.assert_allclose(s.joints3d, e["joints3d"], atol=1e-6)
        np.testing.assert_allclose(s.joints2d, e["joints2d"], atol=1e-4)
        np.testing.assert_allclose(s.mano["hand_pose"][0], e["pose"][3:], atol=1e-6)
        np.testing.assert_allclose(s.mano["betas"][0], e["shape"], atol=1e-6)
        np.testing.assert_allclose(s.meta["root_joint"], e["joints3d"][0, 0], atol=1e-6)
    with pytest.raises(DatasetNotFoundError, match="HandOccNet"):
        DexYCB(tmp_path, split="s0_train", source="handoccnet")
