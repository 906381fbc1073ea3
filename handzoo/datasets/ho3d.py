"""HO-3D v2 / v3 (Hampali et al., CVPR 2020) in the official layout.

::

    <root>/train.txt, <root>/evaluation.txt        lines "<sequence>/<frame id>"
    <root>/<split>/<sequence>/rgb/<id>.png (v2) | .jpg (v3)
    <root>/<split>/<sequence>/meta/<id>.pkl        pickled dict of numpy arrays

Training meta: ``handJoints3D`` (21, 3) in HO-3D's joint order (MANO's 16 + tips), ``handPose``
(48), ``handBeta`` (10), ``handTrans`` (3), ``camMat`` (3, 3) — all in the **OpenGL** camera
frame (hand along -z), converted here to OpenCV with ``diag(1, -1, -1)``. Evaluation meta has only
the root joint (``handJoints3D`` (3,)) and ``handBoundingBox`` (x0, y0, x1, y1). Frames without
hand annotation (``None``) are kept with ``hand_valid = False``. Pickles are read with an
unpickler that only admits numpy classes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from handzoo.catalogue.datasets import DatasetSpec, register_dataset
from handzoo.datasets.base import (
    HandDataset,
    check_intrinsics,
    make_sample,
    read_image,
    require,
    resolve_root,
    safe_pickle_load,
)
from handzoo.errors import AnnotationError, ConfigError
from handzoo.geometry.frames import OPENGL_TO_OPENCV
from handzoo.types import RIGHT, Sample

__all__ = ["HO3D", "HO3D_SIZES", "SPECS"]

URL = "https://www.tugraz.at/institute/icg/research/team-lepetit/research-projects/hand-object-3d-pose-annotation/"
HO3D_SIZES = {("v2", "train"): 66034, ("v2", "evaluation"): 11524, ("v3", "train"): 78297, ("v3", "evaluation"): 20137}
#: one spec per version: ``ho3d-v2`` and ``ho3d-v3`` are scored by different protocols
SPECS = {
    version: register_dataset(
        DatasetSpec(
            f"ho3d-{version}",
            protocols=(f"ho3d-{version}",),
            source=f"{URL} (HO-3D {version})",
            loader="ho3d",
            options={"version": version},
            folders=(f"HO3D_{version}", f"HO-3D_{version}", f"ho3d_{version}"),
            splits=("evaluation", "train"),
            split_aliases={"test": "evaluation", "eval": "evaluation", "training": "train"},
            title=f"HO-3D {version}",
        )
    )
    for version in ("v2", "v3")
}


def _rodrigues(r: np.ndarray) -> np.ndarray:
    theta = float(np.linalg.norm(r))
    if theta < 1e-12:
        return np.eye(3)
    k = r / theta
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(theta) * kx + (1 - np.cos(theta)) * kx @ kx


def _axis_angle(R: np.ndarray) -> np.ndarray:
    cos = np.clip((np.trace(R) - 1) / 2, -1.0, 1.0)
    theta = float(np.arccos(cos))
    if theta < 1e-8:
        return np.zeros(3)
    if np.pi - theta < 1e-6:
        # axis from the symmetric part near 180 degrees
        M = (R + np.eye(3)) / 2
        k = np.sqrt(np.clip(np.diag(M), 0, None))
        i = int(np.argmax(k))
        k = M[i] / max(k[i], 1e-12)
        return k / np.linalg.norm(k) * theta
    w = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]]) / (2 * np.sin(theta))
    return w * theta


def rotate_global_orient(global_orient: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Axis-angle of ``R @ rodrigues(global_orient)`` (re-express a root rotation in another frame)."""
    return _axis_angle(np.asarray(R, dtype=np.float64) @ _rodrigues(np.asarray(global_orient, dtype=np.float64)))


class HO3D(HandDataset):
    """HO-3D loader.

    Args:
        root: dataset folder (default ``$HANDZOO_DATA/HO3D_v3`` or ``HO3D_v2`` by ``version``).
        split: ``train`` or ``evaluation``.
        version: ``v2`` or ``v3`` (dataset and protocol ``ho3d-v2`` / ``ho3d-v3``).
    """

    name = "ho3d"
    url = URL

    def __init__(self, root: str | os.PathLike | None = None, split: str = "evaluation", version: str = "v3") -> None:
        if version not in ("v2", "v3"):
            raise ConfigError(f"unknown HO-3D version {version!r}", hint="use 'v2' or 'v3'")
        spec = SPECS[version]
        self.version = version
        self.split = spec.official_split(split)
        self.protocol = spec.protocols[0]
        self.root = resolve_root(root, spec.display, spec.folder_names, URL)
        list_file = f"{self.split}.txt"
        require(self.root, [list_file, self.split], f"HO-3D {version}", URL)
        lines = (self.root / list_file).read_text(encoding="utf-8").split()
        self._items: list[tuple[str, str]] = []
        for k, line in enumerate(lines):
            parts = line.strip().split("/")
            if len(parts) != 2 or not all(parts):
                raise AnnotationError(
                    f"HO-3D: line {k + 1} of {self.root / list_file} is not '<sequence>/<frame>': {line!r}"
                )
            self._items.append((parts[0], parts[1]))
        seqs = sorted({s for s, _ in self._items})
        require(self.root, [f"{self.split}/{s}" for s in seqs], f"HO-3D {version}", URL)
        self._ext = ".jpg" if version == "v3" else ".png"

    def __len__(self) -> int:
        return len(self._items)

    def image_path(self, index: int) -> Path:
        """Path of the RGB image of sample ``index``."""
        seq, fid = self._items[index]
        p = self.root / self.split / seq / "rgb" / f"{fid}{self._ext}"
        if not p.exists():  # some copies mix formats; accept either
            alt = p.with_suffix(".png" if self._ext == ".jpg" else ".jpg")
            if alt.exists():
                return alt
        return p

    def _load(self, index: int) -> Sample:
        seq, fid = self._items[index]
        meta_path = self.root / self.split / seq / "meta" / f"{fid}.pkl"
        anno = safe_pickle_load(meta_path, "HO-3D")
        if not isinstance(anno, dict):
            raise AnnotationError(f"HO-3D: {meta_path} does not hold a dict (sample {seq}/{fid})")
        path = self.image_path(index)
        image = read_image(path, "HO-3D")
        meta: dict[str, Any] = {
            "sequence": seq,
            "frame": fid,
            "index": index,
            "image_path": str(path),
            "object": anno.get("objName"),
            "dataset": f"ho3d_{self.version}",
        }
        try:
            K = check_intrinsics(anno["camMat"], "HO-3D", meta_path, f"{seq}/{fid}")
            joints = anno.get("handJoints3D")
            if self.split == "evaluation":
                return self._evaluation_sample(image, K, anno, joints, meta)
            if joints is None:
                meta["joints_opengl"] = None
                nan = np.full((1, 21, 3), np.nan)
                return make_sample(
                    image,
                    K,
                    [RIGHT],
                    joints3d=nan,
                    joints_valid=np.zeros((1, 21), bool),
                    hand_valid=[False],
                    bbox=np.full((1, 4), np.nan),
                    meta=meta,
                    order="ho3d",
                )
            gl = np.asarray(joints, dtype=np.float64).reshape(21, 3)
            meta["joints_opengl"] = gl.copy()
            mano = None
            if anno.get("handPose") is not None:
                pose = np.asarray(anno["handPose"], dtype=np.float64).reshape(48)
                mano = {
                    "global_orient": rotate_global_orient(pose[:3], OPENGL_TO_OPENCV)[None],
                    "hand_pose": pose[None, 3:],
                    "betas": np.asarray(anno["handBeta"], dtype=np.float64).reshape(1, 10),
                }
                meta["mano_opengl"] = {
                    "pose": pose,
                    "betas": np.asarray(anno["handBeta"], dtype=np.float64).reshape(10),
                    "trans": np.asarray(anno["handTrans"], dtype=np.float64).reshape(3),
                }
                meta["mano_flat_hand_mean"] = True
            cv = gl @ OPENGL_TO_OPENCV.T
            return make_sample(image, K, [RIGHT], joints3d=cv[None], mano=mano, meta=meta, order="ho3d")
        except (KeyError, ValueError, TypeError) as exc:
            raise AnnotationError(f"HO-3D: malformed annotation {meta_path} (sample {seq}/{fid}): {exc}") from exc

    def _evaluation_sample(self, image, K, anno, root, meta) -> Sample:
        bb = anno.get("handBoundingBox")
        bbox = np.full((1, 4), np.nan) if bb is None else np.asarray(bb, dtype=np.float64).reshape(1, 4)
        if root is not None:
            r = np.asarray(root, dtype=np.float64).reshape(-1)[:3]
            meta["root_joint_opengl"] = r.copy()
            meta["root_joint"] = (OPENGL_TO_OPENCV @ r).astype(np.float32)
        return make_sample(
            image, K, [RIGHT], hand_valid=[bb is not None], joints_valid=np.zeros((1, 21), bool), bbox=bbox, meta=meta
        )
