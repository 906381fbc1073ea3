"""FreiHAND (Zimmermann et al., ICCV 2019) in its official layout.

::

    <root>/training_{K,xyz,mano,scale,verts}.json      32560 entries each
    <root>/training/rgb/%08d.jpg                        130240 = 4 versions x 32560
    <root>/training/mask/%08d.jpg                       32560
    <root>/evaluation_{K,scale}.json (+ _xyz, _verts, _mano once the eval annotations are added)
    <root>/evaluation/rgb/%08d.jpg                      3960

Joints are FreiHAND-ordered (= handzoo21), metres, OpenCV camera frame; all hands are right hands.
A MANO entry is 61 numbers: pose 48 (global 3 + hand 45, relative to MANO's mean pose, i.e.
``flat_hand_mean=False``), shape 10, the 2D root (middle MCP, joint 9) ``uv_root`` 2 and a scale
1 (``focal / z_root``). ``scale.json`` holds the metric length of bone 9-10 (a GT hint the
official ``pred.py`` passes to predictors).

Folders written by ``handzoo data synth`` add ``<split>_handzoo.json`` (hand sides, extra hands,
MANO translations); it is read when present.
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
    read_json,
    read_mask,
    require,
    resolve_root,
)
from handzoo.errors import AnnotationError, ConfigError, DatasetNotFoundError
from handzoo.types import RIGHT, Sample, side_code

__all__ = ["FreiHAND", "FREIHAND_SIZES", "FREIHAND_VERSIONS", "SPEC"]

URL = "https://lmb.informatik.uni-freiburg.de/projects/freihand/"
FREIHAND_SIZES = {"training": 32560, "evaluation": 3960}
FREIHAND_VERSIONS = ("gs", "hom", "sample", "auto")
SIDECAR = "{split}_handzoo.json"

SPEC = register_dataset(
    DatasetSpec(
        "freihand",
        protocols=("freihand",),
        source=URL,
        folders=("FreiHAND", "FreiHAND_pub_v2"),
        splits=("evaluation", "training"),
        split_aliases={"test": "evaluation", "eval": "evaluation", "train": "training"},
        title="FreiHAND",
    )
)


class FreiHAND(HandDataset):
    """FreiHAND loader.

    Args:
        root: dataset folder (default ``$HANDZOO_DATA/FreiHAND`` or ``.../FreiHAND_pub_v2``).
        split: ``training`` (``train``) or ``evaluation`` (``test``).
        version: training image version ``gs``, ``hom``, ``sample``, ``auto`` or ``all`` (the
            4 x 32560 sequence of the official numbering); evaluation has only ``gs``.
        with_vertices: read ``*_verts.json`` (large for training) on first use.
        with_mask: read the masks when they exist.
    """

    name = "freihand"
    protocol = "freihand"
    url = URL

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        split: str = "evaluation",
        version: str = "gs",
        with_vertices: bool = True,
        with_mask: bool = True,
    ) -> None:
        self.split = SPEC.official_split(split)
        if version != "all" and version not in FREIHAND_VERSIONS:
            raise ConfigError(
                f"unknown FreiHAND version {version!r}", hint=f"one of {', '.join(FREIHAND_VERSIONS)} or 'all'"
            )
        if self.split == "evaluation" and version != "gs":
            raise ConfigError("the FreiHAND evaluation split has only the 'gs' version")
        self.version = version
        self.root = resolve_root(root, SPEC.display, SPEC.folder_names, SPEC.url)
        s = self.split
        require(self.root, [f"{s}_K.json", f"{s}/rgb"], "FreiHAND", URL)
        if s == "training":
            require(self.root, [f"{s}_xyz.json", f"{s}_mano.json"], "FreiHAND", URL)
        self._K = self._array(f"{s}_K.json", (3, 3))
        _check_all_intrinsics(self._K, self.root / f"{s}_K.json")
        self.num_unique = len(self._K)
        self._xyz = self._array(f"{s}_xyz.json", (21, 3), optional=True)
        self._mano = self._array(f"{s}_mano.json", (61,), optional=True)
        scale_path = self.root / f"{s}_scale.json"
        self._scale = self._array(f"{s}_scale.json", (), optional=True) if scale_path.exists() else None
        self.with_vertices = with_vertices and (self.root / f"{s}_verts.json").exists()
        self._verts: np.ndarray | None = None
        self.with_mask = with_mask
        self._mask_dir = next((d for d in (self.root / s / "mask", self.root / s / "segmap") if d.is_dir()), None)
        self._extra = self._read_sidecar()
        n_versions = len(FREIHAND_VERSIONS) if version == "all" else 1
        self._len = self.num_unique * n_versions
        self._version_index = 0 if version == "all" else FREIHAND_VERSIONS.index(version)

    # ------------------------------------------------------------------ reading

    def _array(self, fname: str, shape: tuple[int, ...], optional: bool = False) -> np.ndarray | None:
        path = self.root / fname
        if optional and not path.exists():
            return None
        data = read_json(path, "FreiHAND", URL)
        try:
            arr = np.asarray(data, dtype=np.float64)
        except (ValueError, TypeError) as exc:
            raise AnnotationError(f"FreiHAND: {path} is not a regular numeric array: {exc}") from exc
        n = getattr(self, "num_unique", None) or (len(data) if isinstance(data, list) else 0)
        arr = arr.reshape(arr.shape[0], -1) if arr.ndim > 1 and shape == (61,) else arr
        want = (n, *shape)
        if arr.shape != want:
            raise AnnotationError(
                f"FreiHAND: {path} has shape {arr.shape}, expected {want}",
                hint="all annotation files of a split must list the same samples",
            )
        return arr

    def _read_sidecar(self) -> dict[str, Any] | None:
        path = self.root / SIDECAR.format(split=self.split)
        if not path.exists():
            return None
        data = read_json(path, "FreiHAND")
        hands = data.get("hands") if isinstance(data, dict) else None
        if not isinstance(hands, list) or len(hands) != self.num_unique:
            raise AnnotationError(f"FreiHAND: {path} must hold a 'hands' list with {self.num_unique} entries")
        return data

    def _vertices(self) -> np.ndarray | None:
        if not self.with_vertices:
            return None
        if self._verts is None:
            path = self.root / f"{self.split}_verts.json"
            data = read_json(path, "FreiHAND", URL)
            try:
                arr = np.asarray(data, dtype=np.float32)
            except (TypeError, ValueError, OverflowError) as exc:
                raise AnnotationError(
                    f"FreiHAND: {path} is not a regular numeric array (ragged or non-numeric vertices)",
                    hint="re-download the annotation file",
                ) from exc
            if arr.ndim != 3 or arr.shape[0] != self.num_unique or arr.shape[2] != 3:
                raise AnnotationError(f"FreiHAND: {path} has shape {arr.shape}, expected ({self.num_unique}, V, 3)")
            self._verts = arr
        return self._verts

    def __len__(self) -> int:
        return self._len

    def image_path(self, index: int) -> Path:
        """Path of the RGB image of sample ``index`` (official numbering across versions)."""
        uid = index % self.num_unique
        v = index // self.num_unique if self.version == "all" else self._version_index
        return self.root / self.split / "rgb" / f"{uid + v * self.num_unique:08d}.jpg"

    def _load(self, index: int) -> Sample:
        uid = index % self.num_unique
        path = self.image_path(index)
        image = read_image(path, "FreiHAND")
        K = self._K[uid]
        meta: dict[str, Any] = {"id": uid, "index": index, "image_path": str(path), "dataset": "freihand"}
        if self.split == "training" or self.version == "all":
            meta["version"] = FREIHAND_VERSIONS[
                index // self.num_unique if self.version == "all" else self._version_index
            ]
        if self._scale is not None:
            meta["scale"] = float(self._scale[uid])
        mask = None
        if self.with_mask and self._mask_dir is not None:
            mp = next(
                (p for p in (self._mask_dir / f"{uid:08d}.jpg", self._mask_dir / f"{uid:08d}.png") if p.exists()), None
            )
            if mp is None:
                raise DatasetNotFoundError(f"FreiHAND: mask missing for sample {uid} in {self._mask_dir}")
            mask = read_mask(mp, "FreiHAND")
        joints = None if self._xyz is None else self._xyz[uid][None]
        verts = self._vertices()
        vertices = None if verts is None else verts[uid][None]
        mano = None
        if self._mano is not None:
            theta = self._mano[uid]
            mano = {"global_orient": theta[None, :3], "hand_pose": theta[None, 3:48], "betas": theta[None, 48:58]}
            meta.update(mano_uv_root=theta[58:60].copy(), mano_scale=float(theta[60]), mano_flat_hand_mean=False)
        side = [RIGHT]
        if self._extra is not None:
            side, joints, vertices, mano = self._with_extra(uid, joints, vertices, mano, meta)
        if joints is None:
            return make_sample(image, K, side, bbox=np.full((len(side), 4), np.nan), mask=mask, meta=meta)
        return make_sample(image, K, side, joints3d=joints, vertices=vertices, mano=mano, mask=mask, meta=meta)

    def _with_extra(self, uid: int, joints, vertices, mano, meta):
        """Merge the handzoo sidecar (sides, extra hands, translations) into the official entries."""
        rec = self._extra["hands"][uid]
        try:
            sides = [side_code(h["side"]) for h in rec]
            meta["mano_flat_hand_mean"] = bool(self._extra.get("mano_flat_hand_mean", False))
            meta["hand_model"] = self._extra.get("hand_model")
            if len(rec) > 1:
                joints = np.concatenate([joints, np.asarray([h["xyz"] for h in rec[1:]], dtype=np.float64)], 0)
                if vertices is not None:
                    vertices = np.concatenate(
                        [vertices, np.asarray([h["verts"] for h in rec[1:]], dtype=np.float32)], 0
                    )
                if mano is not None:
                    extra = np.asarray([h["mano"] for h in rec[1:]], dtype=np.float64)
                    mano = {
                        "global_orient": np.concatenate([mano["global_orient"], extra[:, :3]]),
                        "hand_pose": np.concatenate([mano["hand_pose"], extra[:, 3:48]]),
                        "betas": np.concatenate([mano["betas"], extra[:, 48:58]]),
                    }
            if mano is not None and all("transl" in h for h in rec):
                mano["transl"] = np.asarray([h["transl"] for h in rec], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise AnnotationError(
                f"FreiHAND: malformed hand record for sample {uid} in the handzoo sidecar: {exc}"
            ) from exc
        return sides, joints, vertices, mano


def _check_all_intrinsics(K: np.ndarray, path: Path) -> None:
    """Every (3, 3) K finite with positive focal lengths; else AnnotationError naming file and sample."""
    bad = ~np.isfinite(K).all(axis=(1, 2)) | ~(K[:, 0, 0] > 0) | ~(K[:, 1, 1] > 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        check_intrinsics(K[i], "FreiHAND", path, i)
