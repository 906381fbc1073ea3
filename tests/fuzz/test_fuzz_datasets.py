"""Fuzzing dataset annotations: mutated annotation and image files through the loaders.

Each stand-in dataset (``handzoo.testing.datasets``) is written once; an example overwrites one of
its files with mutated bytes, opens the dataset and reads every sample, then restores the file. The
contract: a :class:`~handzoo.errors.HandzooError` (a ``DatasetError`` naming the file), or samples
that are sound (RGB uint8 image, finite K with positive focal lengths, joints of the right shape,
a mask of the image's size).
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import numpy as np
from fuzz_profiles import fuzz_settings, handzoo_or_result, mutated
from hypothesis import given
from hypothesis import strategies as st

from handzoo.datasets import load_dataset
from handzoo.datasets.base import read_image
from handzoo.testing.datasets import write_freihand, write_ho3d, write_interhand, write_rhd

_DIR = Path(tempfile.mkdtemp(prefix="handzoo-fuzz-data-"))
write_freihand(_DIR / "FreiHAND", n=2, split="training")
write_rhd(_DIR / "RHD", split="evaluation", n=2)
write_interhand(_DIR / "InterHand", split="test")
write_ho3d(_DIR / "HO3D", version="v3", split="train")


def _files(root: Path, *patterns: str) -> list[Path]:
    return sorted({p for pat in patterns for p in root.rglob(pat) if p.is_file()})


_FREIHAND = _files(_DIR / "FreiHAND", "training_*.json")
_RHD = _files(_DIR / "RHD", "*.pickle")
_INTERHAND = _files(_DIR / "InterHand", "*.json")
_HO3D = _files(_DIR / "HO3D", "*.pkl", "*.txt")[:3]
_IMAGES = _files(_DIR / "FreiHAND", "*.jpg")[:1] + _files(_DIR / "RHD", "*.png")[:2]


@contextlib.contextmanager
def _replaced(path: Path, data: bytes):
    original = path.read_bytes()
    path.write_bytes(data)
    try:
        yield
    finally:
        path.write_bytes(original)


def _check_sample(s) -> None:
    assert s.image.dtype == np.uint8 and s.image.ndim == 3 and s.image.shape[2] == 3
    K = np.asarray(s.K, dtype=np.float64)
    assert K.shape == (3, 3) and np.isfinite(K).all() and K[0, 0] > 0 and K[1, 1] > 0
    if s.joints3d is not None:
        assert s.joints3d.shape[1:] == (21, 3)
    if s.mask is not None:
        assert s.mask.shape[:2] == s.image.shape[:2]


def _read_all(name: str, root: Path, **kw) -> int:
    ds = load_dataset(name, root=root, **kw)
    for i in range(len(ds)):
        _check_sample(ds[i])
    return len(ds)


def _fuzz(reader: str, path: Path, data: bytes, name: str, root: Path, **kw) -> None:
    with _replaced(path, data):
        handzoo_or_result(reader, _read_all, name, root, **kw)


def _case(paths: list[Path]):
    return st.sampled_from(paths).flatmap(lambda p: st.tuples(st.just(p), mutated(p.read_bytes(), max_edits=6)))


@fuzz_settings(examples=40, long_examples=1500)
@given(_case(_FREIHAND))
def test_mutated_freihand_annotations(case):
    path, data = case
    _fuzz("dataset:freihand", path, data, "freihand", _DIR / "FreiHAND", split="training")


@fuzz_settings(examples=40, long_examples=1500)
@given(_case(_RHD))
def test_mutated_rhd_pickle(case):
    path, data = case
    _fuzz("dataset:rhd", path, data, "rhd", _DIR / "RHD", split="evaluation")


@fuzz_settings(examples=30, long_examples=1000)
@given(_case(_INTERHAND))
def test_mutated_interhand_json(case):
    path, data = case
    _fuzz("dataset:interhand", path, data, "interhand", _DIR / "InterHand", split="test")


@fuzz_settings(examples=30, long_examples=1000)
@given(_case(_HO3D))
def test_mutated_ho3d_meta(case):
    path, data = case
    _fuzz("dataset:ho3d", path, data, "ho3d-v3", _DIR / "HO3D", split="train")


@fuzz_settings(examples=40, long_examples=1500)
@given(_case(_IMAGES))
def test_mutated_image_files(case):
    path, data = case

    def read() -> None:
        img = read_image(path, "fuzz")
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3

    with _replaced(path, data):
        handzoo_or_result("dataset:image", read)


@fuzz_settings(examples=30, long_examples=1000)
@given(st.binary(max_size=64))
def test_random_bytes_as_freihand_K(data):
    _fuzz(
        "dataset:freihand-K",
        _DIR / "FreiHAND" / "training_K.json",
        data,
        "freihand",
        _DIR / "FreiHAND",
        split="training",
    )
