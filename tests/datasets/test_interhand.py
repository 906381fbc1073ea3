"""InterHand2.6M: world mm -> camera metres, 42-joint layout, single/interacting order, MANO."""

from __future__ import annotations

import numpy as np
import pytest

from handzoo.datasets import InterHand26M, load_dataset
from handzoo.datasets.ho3d import rotate_global_orient
from handzoo.errors import AnnotationError, ConfigError, DatasetNotFoundError
from handzoo.testing.datasets import write_interhand


def test_values_and_order(tmp_path):
    exp = write_interhand(tmp_path, split="test")
    ds = load_dataset("interhand26m", root=tmp_path, split="test")
    assert len(ds) == 3 and ds.protocol == "interhand"
    for i, e in enumerate(exp):
        s = ds[i]
        assert s.meta["hand_type"] == e["hand_type"]
        np.testing.assert_array_equal(s.image, e["image"])
        np.testing.assert_allclose(s.K, e["K"])
        assert s.side.tolist() == e["side"]
        np.testing.assert_allclose(s.joints3d, e["joints3d"], atol=1e-5)
        np.testing.assert_allclose(s.joints2d, e["joints2d"], atol=1e-2)
        np.testing.assert_array_equal(s.joints_valid, e["joints_valid"])
        assert s.hand_valid.tolist() == e["hand_valid"]
        np.testing.assert_allclose(s.mano["hand_pose"], e["hand_pose"], atol=1e-6)
        for h in range(len(e["side"])):
            want = rotate_global_orient(e["global_orient_world"][h], e["camrot"])
            np.testing.assert_allclose(s.mano["global_orient"][h], want, atol=1e-5)
        assert s.meta["joints_cam_mm"].shape == (42, 3) and s.meta["joint_valid"].shape == (42,)
    inter = ds[2]
    assert inter.meta["interacting"] and not inter.meta["joint_valid"][21:].any()
    assert inter.hand_valid.tolist() == [True, False]
    assert len(InterHand26M(tmp_path, hands="single")) == 2
    assert len(InterHand26M(tmp_path, hands="interacting", with_mano=False)) == 1
    assert InterHand26M(tmp_path, hands="interacting", with_mano=False)[0].mano is None


def test_rotate_global_orient_composes_rotations():
    from handzoo.datasets.synth.poses import rotation_of

    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.normal(size=3), rng.normal(size=3)
        got = rotate_global_orient(a, rotation_of(b))
        np.testing.assert_allclose(rotation_of(got), rotation_of(b) @ rotation_of(a), atol=1e-9)


def test_errors(tmp_path):
    write_interhand(tmp_path, split="test")
    with pytest.raises(DatasetNotFoundError, match="InterHand2.6M_val_data.json"):
        InterHand26M(tmp_path, split="val")
    with pytest.raises(ConfigError):
        InterHand26M(tmp_path, hands="both")
    path = tmp_path / "annotations/test/InterHand2.6M_test_camera.json"
    path.write_text("{}")
    with pytest.raises(AnnotationError, match="sample 0"):
        InterHand26M(tmp_path)[0]
