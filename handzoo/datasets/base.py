"""What every dataset loader shares: roots, file checks, safe readers, and Sample assembly."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from handzoo.catalogue.datasets import DATA_ENV, locate_root
from handzoo.errors import AnnotationError, DatasetError, DatasetNotFoundError
from handzoo.geometry.joint_orders import convert_joints
from handzoo.interfaces import Dataset
from handzoo.io.safe_pickle import safe_load
from handzoo.types import Sample

__all__ = [
    "DATA_ENV",
    "HandDataset",
    "resolve_root",
    "require",
    "read_json",
    "read_yaml",
    "read_image",
    "read_mask",
    "safe_pickle_load",
    "project",
    "tight_boxes",
    "make_sample",
]


def resolve_root(
    root: str | os.PathLike | None,
    dataset: str,
    folder_names: Sequence[str],
    url: str,
    env_vars: Sequence[str] = (),
) -> Path:
    """Find a dataset's folder: the ``root`` argument, then ``env_vars``, then ``$HANDZOO_DATA/<name>``.

    Args:
        root: explicit folder (wins when given).
        dataset: display name for messages.
        folder_names: the folder names the dataset itself uses (tried in order under
            ``$HANDZOO_DATA``).
        url: where to get the data.
        env_vars: dataset-specific variables (e.g. DexYCB's ``DEX_YCB_DIR``).

    Raises:
        DatasetNotFoundError: listing every place looked at.
    """
    return locate_root(root, dataset, folder_names, url, env_vars)


def require(root: Path, rel_paths: Iterable[str | Path], dataset: str, url: str) -> None:
    """Raise one :class:`DatasetNotFoundError` listing every missing path under ``root``."""
    missing = [str(r) for r in rel_paths if not (root / r).exists()]
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        raise DatasetNotFoundError(
            f"{dataset} at {root} is incomplete: missing {shown}",
            hint=f"download the missing parts from {url} and keep the official folder layout",
        )


def read_json(path: Path, dataset: str, url: str = "") -> Any:
    """Load a JSON file; missing -> DatasetNotFoundError, malformed -> AnnotationError."""
    if not path.is_file():
        raise DatasetNotFoundError(
            f"{dataset}: annotation file missing: {path}", hint=f"get it from {url}" if url else None
        )
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AnnotationError(
            f"{dataset}: malformed JSON in {path}: {exc}", hint="re-download the annotation file"
        ) from exc


def read_yaml(path: Path, dataset: str, url: str = "") -> Any:
    """Load a YAML file (safe loader); missing -> DatasetNotFoundError, malformed -> AnnotationError."""
    import yaml

    if not path.is_file():
        raise DatasetNotFoundError(f"{dataset}: file missing: {path}", hint=f"get it from {url}" if url else None)
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise AnnotationError(f"{dataset}: malformed YAML in {path}: {exc}") from exc


def read_image(path: Path, dataset: str, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """Read an image file as RGB uint8 (or the raw array for other ``flags``).

    Raises:
        DatasetNotFoundError: missing file. DatasetError: undecodable file.
    """
    try:
        is_file = path.is_file()
    except OSError:  # a symlink loop, a name too long, ...
        is_file = False
    if not is_file:
        raise DatasetNotFoundError(
            f"{dataset}: image missing or not a regular file: {path}", hint="check the dataset download is complete"
        )
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise DatasetError(
            f"{dataset}: cannot read image {path}: {exc.strerror or exc}", hint="check the file"
        ) from exc
    if data.size == 0:
        raise DatasetError(f"{dataset}: image file is empty (0 bytes): {path}", hint="re-download this file")
    try:
        img = cv2.imdecode(data, flags | cv2.IMREAD_IGNORE_ORIENTATION)
    except cv2.error:
        img = None
    if img is None:
        raise DatasetError(f"{dataset}: cannot decode image {path} (corrupt file?)", hint="re-download this file")
    if img.ndim == 3 and img.shape[2] == 3 and flags == cv2.IMREAD_COLOR:
        img = img[:, :, ::-1]
    return np.ascontiguousarray(img)


def read_mask(path: Path, dataset: str, threshold: int = 128) -> np.ndarray:
    """Read a mask image as uint8 0/255 (any non-background channel value >= ``threshold``)."""
    m = read_image(path, dataset, flags=cv2.IMREAD_UNCHANGED)
    if m.ndim == 3:
        m = m.max(axis=2)
    return np.where(m >= threshold, 255, 0).astype(np.uint8)


def safe_pickle_load(path: Path, dataset: str) -> Any:
    """Load an annotation pickle with :mod:`handzoo.io.safe_pickle`, allowing only numpy classes.

    Raises:
        DatasetNotFoundError: missing file. AnnotationError: refused or malformed content.
    """
    if not path.is_file():
        raise DatasetNotFoundError(f"{dataset}: annotation file missing: {path}", hint="check the dataset download")
    return safe_load(path, f"{dataset} annotation", error=AnnotationError, hint="re-download the file", record=())


def check_intrinsics(K: Any, dataset: str, where: str | Path, sample: Any) -> np.ndarray:
    """A dataset's (3, 3) pinhole ``K`` as float64, validated (finite, positive focal lengths).

    Args:
        K: the intrinsics as read from the annotation.
        dataset: dataset name for the message.
        where: the annotation file the intrinsics come from.
        sample: the sample's id or index (named in the message).

    Raises:
        AnnotationError: not a (3, 3) numeric matrix, non-finite entries, or ``K[0, 0]``/``K[1, 1]``
            not positive, naming the file and the sample.
    """
    try:
        arr = np.asarray(K, dtype=np.float64).reshape(3, 3)
    except (TypeError, ValueError, OverflowError) as exc:
        raise AnnotationError(
            f"{dataset}: intrinsics K of sample {sample} in {where} is not a 3x3 numeric matrix", hint="re-download it"
        ) from exc
    if not np.isfinite(arr).all():
        raise AnnotationError(
            f"{dataset}: intrinsics K of sample {sample} in {where} hold NaN or infinite values",
            hint="re-download the annotation file",
        )
    if not (arr[0, 0] > 0 and arr[1, 1] > 0):
        raise AnnotationError(
            f"{dataset}: intrinsics K of sample {sample} in {where} have focal lengths "
            f"{arr[0, 0]:g}, {arr[1, 1]:g} (must be positive)",
            hint="re-download the annotation file",
        )
    return arr


def project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pinhole projection of (..., N, 3) camera points with (3, 3) ``K`` -> (..., N, 2)."""
    uvw = points @ np.asarray(K, dtype=np.float64).T
    z = uvw[..., 2:3]
    z = np.where(np.abs(z) < 1e-12, 1e-12, z)
    return uvw[..., :2] / z


def tight_boxes(points2d: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Tight ``xyxy`` boxes (N, 4) of (N, J, 2) points over valid joints (NaN when none)."""
    p = np.asarray(points2d, dtype=np.float64)
    v = np.ones(p.shape[:2], bool) if valid is None else np.asarray(valid, bool)
    v = v & np.all(np.isfinite(p), -1)
    out = np.full((p.shape[0], 4), np.nan)
    for i in range(p.shape[0]):
        if v[i].any():
            q = p[i][v[i]]
            out[i] = [q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max()]
    return out


def make_sample(
    image: np.ndarray,
    K: np.ndarray,
    side: Sequence[int] | np.ndarray,
    joints3d: np.ndarray | None = None,
    joints2d: np.ndarray | None = None,
    joints_valid: np.ndarray | None = None,
    hand_valid: Sequence[bool] | np.ndarray | None = None,
    bbox: np.ndarray | None = None,
    vertices: np.ndarray | None = None,
    mano: dict[str, np.ndarray] | None = None,
    mask: np.ndarray | None = None,
    meta: dict[str, Any] | None = None,
    order: str = "handzoo21",
) -> Sample:
    """Assemble a :class:`Sample` with handzoo dtypes, reordering joints from ``order``.

    ``joints2d`` defaults to the projection of ``joints3d``; ``bbox`` to the tight box of the
    valid 2D joints; ``joints_valid`` to all True when joints are given (all False otherwise) and
    ``hand_valid`` to all True.
    """
    side_arr = np.asarray(side, dtype=np.int64).reshape(-1)
    n = side_arr.shape[0]
    K = np.asarray(K, dtype=np.float32).reshape(3, 3)
    j3 = None
    if joints3d is not None:
        j3 = np.asarray(joints3d, dtype=np.float64).reshape(n, 21, 3)
        j3 = convert_joints(j3, order, "handzoo21")
    j2 = None
    if joints2d is not None:
        j2 = convert_joints(np.asarray(joints2d, dtype=np.float64).reshape(n, 21, 2), order, "handzoo21")
    elif j3 is not None:
        j2 = project(j3, K)
    has_joints = j3 is not None or j2 is not None
    jv = np.full((n, 21), has_joints) if joints_valid is None else np.asarray(joints_valid, bool).reshape(n, 21)
    if joints_valid is not None:
        jv = convert_joints(jv[..., None], order, "handzoo21")[..., 0]
    hv = np.ones(n, bool) if hand_valid is None else np.asarray(hand_valid, bool).reshape(n)
    if bbox is None:
        bbox = tight_boxes(j2, jv) if j2 is not None else np.full((n, 4), np.nan)
    return Sample(
        image=image,
        K=K,
        side=side_arr,
        bbox=np.asarray(bbox, dtype=np.float32).reshape(n, 4),
        hand_valid=hv,
        joints3d=None if j3 is None else j3.astype(np.float32),
        joints2d=None if j2 is None else j2.astype(np.float32),
        joints_valid=jv,
        vertices=None if vertices is None else np.asarray(vertices, dtype=np.float32),
        mano=None if mano is None else {k: np.asarray(v, dtype=np.float32) for k, v in mano.items()},
        mask=mask,
        meta=meta or {},
    )


class HandDataset(Dataset):
    """Common behaviour of handzoo's loaders: index checks, iteration, a readable repr.

    Subclasses implement ``__len__`` and ``_load(index)``.
    """

    name = ""
    protocol = ""
    url = ""

    def _load(self, index: int) -> Sample:
        raise NotImplementedError

    def __getitem__(self, index: int) -> Sample:
        n = len(self)
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"{type(self).__name__} indices must be integers, got {type(index).__name__}")
        i = int(index) + n if index < 0 else int(index)
        if not 0 <= i < n:
            raise IndexError(f"{self.name} index {index} out of range for {n} samples")
        return self._load(i)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self._load(i)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(split={self.split!r}, root={str(self.root)!r}, samples={len(self)})"
