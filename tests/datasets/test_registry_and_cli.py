"""Dataset registration, load_dataset names, and ``handzoo data synth``."""

from __future__ import annotations

import numpy as np
import pytest

from handzoo.cli import main
from handzoo.datasets import DATASET_CLASSES, SyntheticHands, list_datasets, load_dataset
from handzoo.errors import RegistryError


def test_registered_in_the_registry():
    from handzoo.registry import DATASETS

    for name, cls in DATASET_CLASSES.items():
        assert DATASETS.get(name) is cls
    assert {"ho3d-v2", "dexycb-handoccnet", "synthetic"} <= set(list_datasets())
    with pytest.raises(RegistryError, match="did you mean freihand"):
        load_dataset("freihnd")


def test_data_synth_writes_a_freihand_folder(tmp_path, capsys):
    out = tmp_path / "syn"
    assert (
        main(
            [
                "data",
                "synth",
                "--out",
                str(out),
                "--n",
                "3",
                "--seed",
                "4",
                "--two-hand-prob",
                "0.5",
                "--image-size",
                "64",
            ]
        )
        == 0
    )
    assert "wrote 3 images" in capsys.readouterr().out
    for f in (
        "training_K.json",
        "training_xyz.json",
        "training_mano.json",
        "training_verts.json",
        "training_scale.json",
    ):
        assert (out / f).is_file()
    assert len(list((out / "training" / "rgb").glob("*.jpg"))) == 3
    disk = load_dataset("freihand", root=out, split="training")
    gen = SyntheticHands(split="x", n=3, seed=4, two_hand_prob=0.5, image_size=64)
    for i in range(3):
        a, b = disk[i], gen[i]
        assert a.side.tolist() == b.side.tolist()
        np.testing.assert_allclose(a.joints3d, b.joints3d, atol=1e-6)
        np.testing.assert_allclose(a.vertices, b.vertices, atol=1e-6)
        np.testing.assert_allclose(a.mano["transl"], b.mano["transl"], atol=1e-6)
        np.testing.assert_allclose(a.mano["hand_pose"], b.mano["hand_pose"], atol=1e-6)
        np.testing.assert_array_equal(a.mask, b.mask)
        assert np.abs(a.image.astype(int) - b.image).mean() < 6  # JPEG
        assert a.meta["mano_flat_hand_mean"] is True and a.meta["hand_model"] == "openhand"
        # FreiHAND's own MANO record: uv_root is joint 9's projection, scale = focal / z9
        uvw = b.K @ b.joints3d[0, 9]
        np.testing.assert_allclose(a.meta["mano_uv_root"], uvw[:2] / uvw[2], atol=1e-3)
    again = SyntheticHands(root=out)
    assert len(again) == 3 and again.split == "training"


def test_data_synth_errors(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("hi")
    assert main(["data", "synth", "--out", str(tmp_path / "x"), "--n", "1"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["data", "synth", "--out", str(tmp_path / "y"), "--n", "0"]) == 2
    assert main(["data"]) == 2


def test_data_preview_draws_any_dataset(tmp_path, capsys):
    from handzoo.testing.datasets import write_rhd

    write_rhd(tmp_path / "rhd", n=2)
    out = tmp_path / "grid.png"
    args = ["data", "preview", "rhd", "--root", str(tmp_path / "rhd"), "--n", "3", "--cols", "2", "--size", "64"]
    assert main([*args, "--mask", "--boxes", "--out", str(out)]) == 0
    import cv2

    img = cv2.imread(str(out))
    assert img.shape == (64 + 2 * 4, 2 * 64 + 3 * 4, 3)
    assert "wrote 2 samples" in capsys.readouterr().out
    assert main(["data", "preview", "rhd", "--root", str(tmp_path / "rhd"), "--start", "5", "--out", str(out)]) == 2


def test_dataset_protocols_exist():
    from handzoo.protocols import get_protocol

    for cls in DATASET_CLASSES.values():
        names = {cls.protocol} if cls.protocol else set()
        if cls.__name__ == "HO3D":
            names = {"ho3d-v2", "ho3d-v3"}
        if cls.__name__ == "DexYCB":
            names = {"dexycb", "dexycb-handoccnet"}
        for name in names - {"rhd"}:  # RHD has no official evaluation script
            assert get_protocol(name).name
