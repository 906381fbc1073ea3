"""DexYCB (Chao et al., CVPR 2021): the NVlabs layout and HandOccNet's preprocessed s0 JSONs.

NVlabs layout (``DEX_YCB_DIR``)::

    <root>/calibration/intrinsics/<serial>_640x480.yml      color: fx, fy, ppx, ppy
    <root>/calibration/mano_<calib>/mano.yml                betas
    <root>/<subject>/<sequence>/meta.yml                    num_frames, mano_sides, mano_calib
    <root>/<subject>/<sequence>/<serial>/color_%06d.jpg
    <root>/<subject>/<sequence>/<serial>/labels_%06d.npz    joint_3d (1,21,3) m, joint_2d, pose_m (1,51)

Setups s0-s3 and splits train/val/test select subjects, cameras and sequences exactly as
``dex_ycb_toolkit/dex_ycb.py``; sample ``i`` is the toolkit's ``image_id`` ``i`` (the order is
subject, sequence, camera, frame). Frames without a hand (all joints -1) are kept with
``hand_valid = False`` (the toolkit's evaluation skips them). ``pose_m`` holds MANO's 45 PCA
coefficients (``flat_hand_mean=False``), kept raw in ``meta['mano_pca']``.

HandOccNet's preprocessed JSONs (``source='handoccnet'``, used by H2ONet)::

    <root>/annotations/DEX_YCB_s0_{train,test}_data.json    COCO-style images + annotations

with ``joints_coord_cam`` (21, 3) m, ``joints_img``, ``cam_param`` {focal, princpt},
``mano_param`` {pose 48 axis-angle relative to the mean pose, shape 10}, ``hand_type``; image
``file_name`` relative to ``<root>``. Joints are in the DexYCB order (= handzoo21).
"""

from __future__ import annotations

import os
import re
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
    read_yaml,
    require,
    resolve_root,
)
from handzoo.errors import AnnotationError, ConfigError, DatasetNotFoundError
from handzoo.types import Sample, side_code

__all__ = ["DexYCB", "DEXYCB_SERIALS", "dexycb_split_indices", "SPECS"]

URL = "https://dex-ycb.github.io/"
HANDOCCNET_URL = "https://github.com/namepllet/HandOccNet (DEX_YCB_s0_{train,test}_data.json)"
DEXYCB_SERIALS = (
    "836212060125",
    "839512060362",
    "840412060917",
    "841412060263",
    "932122060857",
    "932122060861",
    "932122061900",
    "932122062010",
)
_SUBJECT_RE = re.compile(r"^\d{8}-")
_SPLIT_RE = re.compile(r"^(s[0-3])_(train|val|test)$")
_FOLDERS = ("DexYCB", "dex-ycb", "DEX_YCB", "dexycb")

#: by annotation source: the toolkit's own files, or HandOccNet's s0 JSONs (used by H2ONet)
SPECS = {
    "toolkit": register_dataset(
        DatasetSpec(
            "dexycb",
            protocols=("dexycb",),
            source=URL,
            folders=_FOLDERS,
            env_vars=("DEX_YCB_DIR",),
            splits=tuple(f"s{k}_{s}" for k in range(4) for s in ("test", "val", "train")),
            split_aliases={"test": "s0_test", "val": "s0_val", "train": "s0_train"},
            title="DexYCB",
        )
    ),
    "handoccnet": register_dataset(
        DatasetSpec(
            "dexycb-handoccnet",
            protocols=("dexycb-handoccnet",),
            source=f"{URL} + HandOccNet's DEX_YCB_s0_test_data.json ({HANDOCCNET_URL})",
            loader="dexycb",
            options={"source": "handoccnet"},
            folders=(*_FOLDERS, "dexycb_handoccnet"),
            env_vars=("DEX_YCB_DIR",),
            splits=("s0_test", "s0_train"),
            split_aliases={"test": "s0_test", "train": "s0_train"},
            title="DexYCB (HandOccNet's s0 files)",
            results_as="dexycb",
        )
    ),
}


def dexycb_split_indices(setup: str, split: str) -> tuple[list[int], list[int], list[int]]:
    """Subject, camera and sequence indices of a toolkit split (``dex_ycb.py``'s table)."""
    all_subj, all_cam, all_seq = list(range(10)), list(range(8)), list(range(100))
    table = {
        ("s0", "train"): (all_subj, all_cam, [i for i in all_seq if i % 5 != 4]),
        ("s0", "val"): ([0, 1], all_cam, [i for i in all_seq if i % 5 == 4]),
        ("s0", "test"): (list(range(2, 10)), all_cam, [i for i in all_seq if i % 5 == 4]),
        ("s1", "train"): ([0, 1, 2, 3, 4, 5, 9], all_cam, all_seq),
        ("s1", "val"): ([6], all_cam, all_seq),
        ("s1", "test"): ([7, 8], all_cam, all_seq),
        ("s2", "train"): (all_subj, [0, 1, 2, 3, 4, 5], all_seq),
        ("s2", "val"): (all_subj, [6], all_seq),
        ("s2", "test"): (all_subj, [7], all_seq),
        ("s3", "train"): (all_subj, all_cam, [i for i in all_seq if i // 5 not in (3, 7, 11, 15, 19)]),
        ("s3", "val"): (all_subj, all_cam, [i for i in all_seq if i // 5 in (3, 19)]),
        ("s3", "test"): (all_subj, all_cam, [i for i in all_seq if i // 5 in (7, 11, 15)]),
    }
    return table[(setup, split)]


class DexYCB(HandDataset):
    """DexYCB loader.

    Args:
        root: dataset folder (``root`` argument, else ``$DEX_YCB_DIR``, else
            ``$HANDZOO_DATA/DexYCB``).
        split: ``s0_train`` ... ``s3_test`` (toolkit), or ``s0_train`` / ``s0_test`` with
            ``source='handoccnet'``.
        source: ``toolkit`` (NVlabs layout) or ``handoccnet`` (preprocessed JSONs).
    """

    name = "dexycb"
    url = URL

    def __init__(self, root: str | os.PathLike | None = None, split: str = "s0_test", source: str = "toolkit") -> None:
        m = _SPLIT_RE.match(split)
        if m is None:
            raise ConfigError(f"unknown DexYCB split {split!r}", hint="use s<0-3>_<train|val|test>, e.g. 's0_test'")
        if source not in ("toolkit", "handoccnet"):
            raise ConfigError(f"unknown DexYCB source {source!r}", hint="use 'toolkit' or 'handoccnet'")
        self.setup, self.subset = m.group(1), m.group(2)
        self.split = split
        self.source = source
        self.protocol = "dexycb" if source == "toolkit" else "dexycb-handoccnet"
        spec = SPECS[source]
        self.root = resolve_root(root, "DexYCB", spec.folder_names, URL, env_vars=spec.env_vars)
        if source == "handoccnet":
            self._init_handoccnet()
        else:
            self._init_toolkit()

    # ---------------------------------------------------------------- toolkit layout

    def _init_toolkit(self) -> None:
        subj_idx, cam_idx, seq_idx = dexycb_split_indices(self.setup, self.subset)
        require(self.root, ["calibration/intrinsics"], "DexYCB", URL)
        subjects = sorted(p.name for p in self.root.iterdir() if p.is_dir() and _SUBJECT_RE.match(p.name))
        if len(subjects) != 10:
            raise DatasetNotFoundError(
                f"DexYCB at {self.root}: expected 10 subject folders (<date>-subject-NN), found {len(subjects)}",
                hint=f"extract all ten subject archives from {URL} into the same folder",
            )
        self._serials = [DEXYCB_SERIALS[c] for c in cam_idx]
        self._K: list[np.ndarray] = []
        for s in self._serials:
            path = self.root / "calibration" / "intrinsics" / f"{s}_640x480.yml"
            intr = read_yaml(path, "DexYCB", URL)
            try:
                c = intr["color"]
                k = [[c["fx"], 0, c["ppx"]], [0, c["fy"], c["ppy"]], [0, 0, 1]]
                self._K.append(check_intrinsics(k, "DexYCB", path, f"camera {s}"))
            except (KeyError, TypeError) as exc:
                raise AnnotationError(f"DexYCB: {path} lacks color fx/fy/ppx/ppy: {exc}") from exc
        self._sequences: list[str] = []
        self._sides: list[int] = []
        self._betas: list[np.ndarray] = []
        mapping = []
        for si in subj_idx:
            subj = subjects[si]
            seqs = sorted(p.name for p in (self.root / subj).iterdir() if p.is_dir())
            if len(seqs) != 100:
                raise DatasetNotFoundError(
                    f"DexYCB: {self.root / subj} has {len(seqs)} sequence folders, expected 100",
                    hint=f"re-extract {subj} from {URL}",
                )
            for qi in seq_idx:
                seq = f"{subj}/{seqs[qi]}"
                meta_path = self.root / seq / "meta.yml"
                meta = read_yaml(meta_path, "DexYCB", URL)
                try:
                    n_frames = int(meta["num_frames"])
                    side = side_code(meta["mano_sides"][0])
                    calib = meta["mano_calib"][0]
                except (KeyError, TypeError, ValueError, IndexError) as exc:
                    raise AnnotationError(f"DexYCB: {meta_path} lacks num_frames/mano_sides/mano_calib: {exc}") from exc
                mano_path = self.root / "calibration" / f"mano_{calib}" / "mano.yml"
                betas = read_yaml(mano_path, "DexYCB", URL)
                try:
                    self._betas.append(np.asarray(betas["betas"], dtype=np.float64).reshape(10))
                except (KeyError, TypeError, ValueError) as exc:
                    raise AnnotationError(f"DexYCB: {mano_path} lacks 10 betas: {exc}") from exc
                s_id = len(self._sequences)
                self._sequences.append(seq)
                self._sides.append(side)
                # camera-major then frame, as the toolkit's meshgrid
                c = np.repeat(np.arange(len(self._serials)), n_frames)
                f = np.tile(np.arange(n_frames), len(self._serials))
                mapping.append(np.stack([np.full_like(c, s_id), c, f], 1))
        self._mapping = np.concatenate(mapping) if mapping else np.zeros((0, 3), np.int64)

    # ---------------------------------------------------------------- HandOccNet JSONs

    def _init_handoccnet(self) -> None:
        if self.setup != "s0" or self.subset not in ("train", "test"):
            raise ConfigError(f"HandOccNet's DexYCB files exist for s0_train and s0_test only, not {self.split!r}")
        path = self.root / "annotations" / f"DEX_YCB_s0_{self.subset}_data.json"
        if not path.exists():
            raise DatasetNotFoundError(f"DexYCB: {path} not found", hint=f"generate it with {HANDOCCNET_URL}")
        db = read_json(path, "DexYCB")
        try:
            images = {int(im["id"]): im for im in db["images"]}
            self._anns = list(db["annotations"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AnnotationError(
                f"DexYCB: {path} is not a COCO-style file with images and annotations: {exc}"
            ) from exc
        self._images = images
        self._json_path = path

    def __len__(self) -> int:
        return len(self._anns) if self.source == "handoccnet" else len(self._mapping)

    def _load(self, index: int) -> Sample:
        return self._load_handoccnet(index) if self.source == "handoccnet" else self._load_toolkit(index)

    def _load_toolkit(self, index: int) -> Sample:
        s, c, f = (int(v) for v in self._mapping[index])
        d = self.root / self._sequences[s] / self._serials[c]
        color = d / f"color_{f:06d}.jpg"
        label_path = d / f"labels_{f:06d}.npz"
        if not label_path.exists():
            raise DatasetNotFoundError(f"DexYCB: label file missing: {label_path}")
        try:
            with np.load(label_path, allow_pickle=False) as lab:
                j3 = np.asarray(lab["joint_3d"], dtype=np.float64).reshape(21, 3)
                j2 = np.asarray(lab["joint_2d"], dtype=np.float64).reshape(21, 2)
                pose_m = np.asarray(lab["pose_m"], dtype=np.float64).reshape(51)
        except (KeyError, ValueError, OSError) as exc:
            raise AnnotationError(f"DexYCB: malformed label file {label_path} (sample {index}): {exc}") from exc
        image = read_image(color, "DexYCB")
        valid = not np.all(j3 == -1)
        side = self._sides[s]
        meta: dict[str, Any] = {
            "image_id": index,
            "image_path": str(color),
            "sequence": self._sequences[s],
            "serial": self._serials[c],
            "frame": f,
            "joints_mm": j3 * 1000.0 if valid else None,
            "mano_pca": pose_m[:48].copy(),
            "mano_trans": pose_m[48:].copy(),
            "mano_betas": self._betas[s].copy(),
            "mano_flat_hand_mean": False,
            "dataset": "dexycb",
        }
        if not valid:
            nan = np.full((1, 21, 3), np.nan)
            return make_sample(
                image,
                self._K[c],
                [side],
                joints3d=nan,
                joints2d=np.full((1, 21, 2), np.nan),
                joints_valid=np.zeros((1, 21), bool),
                hand_valid=[False],
                bbox=np.full((1, 4), np.nan),
                meta=meta,
            )
        return make_sample(image, self._K[c], [side], joints3d=j3[None], joints2d=j2[None], meta=meta, order="dexycb")

    def _load_handoccnet(self, index: int) -> Sample:
        ann = self._anns[index]
        try:
            img = self._images[int(ann["image_id"])]
            j3 = np.asarray(ann["joints_coord_cam"], dtype=np.float64).reshape(21, 3)
            j2 = np.asarray(ann["joints_img"], dtype=np.float64).reshape(21, 2)
            cam = ann["cam_param"]
            (fx, fy), (cx, cy) = cam["focal"], cam["princpt"]
            K = check_intrinsics([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], "DexYCB", self._json_path, index)
            side = side_code(ann["hand_type"])
            mp = ann.get("mano_param")
            mano = None
            if mp is not None:
                pose = np.asarray(mp["pose"], dtype=np.float64).reshape(48)
                mano = {
                    "global_orient": pose[None, :3],
                    "hand_pose": pose[None, 3:],
                    "betas": np.asarray(mp["shape"], dtype=np.float64).reshape(1, 10),
                }
            file_name = img["file_name"]
        except (KeyError, TypeError, ValueError) as exc:
            raise AnnotationError(f"DexYCB: malformed annotation {index} in {self._json_path}: {exc}") from exc
        path = self.root / file_name
        image = read_image(path, "DexYCB")
        meta = {
            "image_id": int(ann["image_id"]),
            "annotation_id": ann.get("id"),
            "image_path": str(path),
            "file_name": file_name,
            "root_joint": j3[0].astype(np.float32),
            "mano_flat_hand_mean": False,
            "dataset": SPECS["handoccnet"].name,
        }
        return make_sample(image, K, [side], joints3d=j3[None], joints2d=j2[None], mano=mano, meta=meta, order="dexycb")

    def image_path(self, index: int) -> Path:
        """Path of the colour image of sample ``index``."""
        if self.source == "handoccnet":
            return self.root / self._images[int(self._anns[index]["image_id"])]["file_name"]
        s, c, f = (int(v) for v in self._mapping[index])
        return self.root / self._sequences[s] / self._serials[c] / f"color_{f:06d}.jpg"
