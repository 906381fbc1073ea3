"""RHD: pickled annotations (left then right hand), segmentation, depth."""

from __future__ import annotations

import numpy as np
import pytest

from handzoo.datasets import RHD, load_dataset
from handzoo.errors import DatasetNotFoundError
from handzoo.testing.datasets import write_rhd


def test_values(tmp_path):
    exp = write_rhd(tmp_path, split="evaluation", n=2)
    ds = load_dataset("rhd", root=tmp_path, split="evaluation", with_depth=True)
    assert len(ds) == 2 and ds.protocol == "rhd"
    for i, e in enumerate(exp):
        s = ds[i]
        np.testing.assert_array_equal(s.image, e["image"])
        np.testing.assert_allclose(s.K, e["K"], rtol=1e-6)
        assert s.side.tolist() == e["side"]
        np.testing.assert_allclose(s.joints3d, e["joints3d"], atol=1e-6)
        np.testing.assert_allclose(s.joints2d, e["joints2d"], atol=1e-4)
        np.testing.assert_array_equal(s.meta["visible"], e["visible"])
        assert s.hand_valid.tolist() == e["hand_valid"] and s.joints_valid.all()
        np.testing.assert_array_equal(s.mask, e["mask"])
        assert s.meta["dominant"] == e["dominant"]
        np.testing.assert_allclose(s.meta["depth"], e["depth"], atol=1e-5)


def test_missing(tmp_path):
    write_rhd(tmp_path, split="evaluation", n=1)
    with pytest.raises(DatasetNotFoundError, match="anno_training.pickle"):
        RHD(tmp_path, split="training")
    (tmp_path / "evaluation/color/00000.png").unlink()
    with pytest.raises(DatasetNotFoundError, match="00000.png"):
        RHD(tmp_path)[0]
