"""Hostile or broken dataset files: every failure is a DatasetError naming the file (and sample)."""

from __future__ import annotations

import json
import os
import pickle

import cv2
import numpy as np
import pytest

from handzoo.datasets import load_dataset
from handzoo.datasets.base import check_intrinsics, read_image
from handzoo.errors import AnnotationError, DatasetError, DatasetNotFoundError, HandzooError, InputError
from handzoo.query import make_query
from handzoo.testing.datasets import write_freihand, write_interhand, write_rhd


@pytest.mark.parametrize("bad", [0.0, -500.0, float("inf"), float("nan")])
def test_freihand_zero_or_infinite_focal_is_refused_naming_file_and_sample(tmp_path, bad: float) -> None:
    write_freihand(tmp_path, n=3, split="training")
    path = tmp_path / "training_K.json"
    K = json.loads(path.read_text())
    K[2][1][1] = bad
    path.write_text(json.dumps(K).replace("Infinity", "1e999"))
    with pytest.raises(AnnotationError, match=r"FreiHAND: intrinsics K of sample 2 in .*training_K\.json"):
        load_dataset("freihand", root=tmp_path, split="training")


@pytest.mark.parametrize("K", [np.zeros((3, 3)), np.full((3, 3), np.inf), [[1, 2], [3, 4]], "abc"])
def test_check_intrinsics_refuses(K) -> None:
    with pytest.raises(AnnotationError, match="sample 7 in f.json"):
        check_intrinsics(K, "X", "f.json", 7)


def test_rhd_zero_K_is_refused(tmp_path) -> None:
    write_rhd(tmp_path, split="evaluation", n=1)
    path = tmp_path / "evaluation" / "anno_evaluation.pickle"
    with open(path, "rb") as fh:
        anno = pickle.load(fh)
    first = sorted(anno)[0]
    anno[first]["K"] = np.zeros((3, 3))
    with open(path, "wb") as fh:
        pickle.dump(anno, fh)
    with pytest.raises(AnnotationError, match="intrinsics K of sample"):
        load_dataset("rhd", root=tmp_path, split="evaluation")[0]


def test_rhd_mask_of_another_size_is_refused(tmp_path) -> None:
    write_rhd(tmp_path, split="evaluation", n=1)
    mask = sorted((tmp_path / "evaluation" / "mask").iterdir())[0]
    cv2.imwrite(str(mask), np.full((5, 7), 20, np.uint8))
    with pytest.raises(AnnotationError, match=r"mask .* is 7x5 but its image is 32x32"):
        load_dataset("rhd", root=tmp_path, split="evaluation")[0]
    s = load_dataset("rhd", root=tmp_path, split="evaluation", with_mask=False)[0]
    assert s.mask is None


def test_zero_byte_image_is_a_dataset_error(tmp_path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match="empty"):
        read_image(tmp_path / "a.jpg", "X")
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8\xff")
    with pytest.raises(DatasetError, match="cannot decode"):
        read_image(tmp_path / "b.jpg", "X")


def test_zero_byte_image_in_freihand(tmp_path) -> None:
    write_freihand(tmp_path, n=2, split="training")
    img = sorted((tmp_path / "training" / "rgb").iterdir())[0]
    img.write_bytes(b"")
    with pytest.raises(DatasetError, match="empty"):
        load_dataset("freihand", root=tmp_path, split="training")[0]


def test_symlink_loop_as_an_image(tmp_path) -> None:
    loop = tmp_path / "loop.jpg"
    os.symlink(loop, loop)
    with pytest.raises(DatasetNotFoundError, match="loop.jpg"):
        read_image(loop, "X")
    with pytest.raises(InputError, match="loop.jpg"):
        make_query(str(loop))


def test_zero_byte_image_as_a_query(tmp_path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        make_query(tmp_path / "a.jpg")


def test_interhand_zero_focal_is_refused(tmp_path) -> None:
    write_interhand(tmp_path, split="test")
    cam_path = next(tmp_path.rglob("*_camera.json"))
    cams = json.loads(cam_path.read_text())
    for cp in cams.values():
        for cam in cp["focal"]:
            cp["focal"][cam] = [0.0, 0.0]
    cam_path.write_text(json.dumps(cams))
    with pytest.raises(HandzooError, match="focal lengths 0, 0"):
        load_dataset("interhand", root=tmp_path, split="test")[0]


@pytest.mark.parametrize("split", ["training", "evaluation"])
def test_ragged_freihand_vertices(tmp_path, split: str) -> None:
    """Ragged <split>_verts.json (evaluation_verts.json for the test split) raised a bare ValueError."""
    write_freihand(tmp_path, n=2, split=split)
    path = tmp_path / f"{split}_verts.json"
    verts = json.loads(path.read_text())
    verts[1] = verts[1][:5] + [[1.0, 2.0]]
    path.write_text(json.dumps(verts))
    with pytest.raises(AnnotationError, match=f"{split}_verts.json is not a regular numeric array"):
        load_dataset("freihand", root=tmp_path, split=split)[0]


def test_symlink_loop_image_does_not_crash_the_bench(tmp_path, capsys) -> None:
    from handzoo.bench import cli

    write_rhd(tmp_path / "RHD", split="evaluation", n=2)
    img = tmp_path / "RHD" / "evaluation" / "color" / "00001.png"
    img.unlink()
    os.symlink(img, img)
    args = ["--datasets", "rhd", "--models", "mean-hand", "--data-root", f"rhd={tmp_path / 'RHD'}", "--no-progress"]
    rc = cli.main([*args, "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert rc in (0, 1) and "Traceback" not in captured.err
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert not doc["results"] and "00001.png" in json.dumps(doc["skipped"])
