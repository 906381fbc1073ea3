"""InterHand2.6M v1.0 (Moon et al., ECCV 2020), 5 fps annotation files.

::

    <root>/images/<split>/<file_name>                         Capture*/<seq>/cam*/image*.jpg
    <root>/annotations/<split>/InterHand2.6M_<split>_data.json       COCO-style images + annotations
    <root>/annotations/<split>/InterHand2.6M_<split>_camera.json     capture -> campos/camrot/focal/princpt
    <root>/annotations/<split>/InterHand2.6M_<split>_joint_3d.json   capture -> frame -> world_coord (42, 3) mm
    <root>/annotations/<split>/InterHand2.6M_<split>_MANO_NeuralAnnot.json   (optional) world-frame MANO

42 joints: right hand 0-20 then left hand 21-41, each tip-to-base per finger with the wrist last
(roots 20 and 41). World millimetres go to the camera frame by ``camrot @ (X - campos)``, then to
metres. As in the InterNet code, a hand whose root is invalid has all its joints invalid, and the
sample order is the single-hand annotations followed by the interacting ones. Each sample yields
its annotated hands (right, left, or both for ``interacting``); the raw 42-joint arrays and
everything the official evaluation needs are in ``meta``. MANO root rotations are re-expressed in
the camera frame; the translation needs the MANO model and stays in ``meta['mano_world']``.
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
    project,
    read_image,
    read_json,
    require,
    resolve_root,
)
from handzoo.datasets.ho3d import rotate_global_orient
from handzoo.errors import AnnotationError, ConfigError
from handzoo.geometry.joint_orders import INTERHAND_LEFT_ROOT, INTERHAND_RIGHT_ROOT
from handzoo.types import LEFT, RIGHT, Sample

__all__ = ["InterHand26M", "SPEC"]

URL = "https://mks0601.github.io/InterHand2.6M/"
_SPLITS = ("train", "val", "test")
_HAND_TYPES = ("right", "left", "interacting")

SPEC = register_dataset(
    DatasetSpec(
        "interhand26m",
        protocols=("interhand",),
        source=f"{URL} (v1.0 5 fps)",
        folders=("InterHand2.6M", "InterHand2.6M_5fps_batch1"),
        splits=_SPLITS,
        aliases=("interhand",),
        title="InterHand2.6M",
    )
)


class InterHand26M(HandDataset):
    """InterHand2.6M loader.

    Args:
        root: dataset folder (default ``$HANDZOO_DATA/InterHand2.6M``).
        split: ``train``, ``val`` or ``test``.
        hands: ``all``, ``single`` (right or left sequences) or ``interacting``.
        with_mano: read ``*_MANO_NeuralAnnot.json`` when present.
    """

    name = "interhand26m"
    protocol = "interhand"
    url = URL

    def __init__(
        self, root: str | os.PathLike | None = None, split: str = "test", hands: str = "all", with_mano: bool = True
    ) -> None:
        split = SPEC.official_split(split)
        if hands not in ("all", "single", "interacting"):
            raise ConfigError(f"unknown hands filter {hands!r}", hint="use all, single or interacting")
        self.split = split
        self.hands = hands
        self.root = resolve_root(root, SPEC.display, SPEC.folder_names, URL)
        adir = Path("annotations") / split
        pre = f"InterHand2.6M_{split}"
        require(
            self.root,
            [
                adir / f"{pre}_data.json",
                adir / f"{pre}_camera.json",
                adir / f"{pre}_joint_3d.json",
                Path("images") / split,
            ],
            "InterHand2.6M",
            URL,
        )
        data = read_json(self.root / adir / f"{pre}_data.json", "InterHand2.6M", URL)
        self._cameras = read_json(self.root / adir / f"{pre}_camera.json", "InterHand2.6M", URL)
        self._joints = read_json(self.root / adir / f"{pre}_joint_3d.json", "InterHand2.6M", URL)
        mano_path = self.root / adir / f"{pre}_MANO_NeuralAnnot.json"
        self._mano = read_json(mano_path, "InterHand2.6M", URL) if with_mano and mano_path.exists() else None
        self._data_path = self.root / adir / f"{pre}_data.json"
        try:
            images = {int(im["id"]): im for im in data["images"]}
            anns = list(data["annotations"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AnnotationError(f"InterHand2.6M: {self._data_path} is not COCO-style: {exc}") from exc
        single, inter = [], []
        for a in anns:
            ht = a.get("hand_type")
            if ht not in _HAND_TYPES:
                raise AnnotationError(
                    f"InterHand2.6M: annotation {a.get('id')} in {self._data_path} has hand_type {ht!r}"
                )
            (inter if ht == "interacting" else single).append(a)
        chosen = {"all": single + inter, "single": single, "interacting": inter}[hands]
        self._images = images
        self._anns = chosen

    def __len__(self) -> int:
        return len(self._anns)

    def _load(self, index: int) -> Sample:
        ann = self._anns[index]
        try:
            img = self._images[int(ann["image_id"])]
            capture, cam, frame = str(img["capture"]), str(img["camera"]), str(img["frame_idx"])
            cp = self._cameras[capture]
            campos = np.asarray(cp["campos"][cam], dtype=np.float64).reshape(3)
            camrot = np.asarray(cp["camrot"][cam], dtype=np.float64).reshape(3, 3)
            focal = np.asarray(cp["focal"][cam], dtype=np.float64).reshape(2)
            princpt = np.asarray(cp["princpt"][cam], dtype=np.float64).reshape(2)
            world = np.asarray(self._joints[capture][frame]["world_coord"], dtype=np.float64).reshape(42, 3)
            jvalid = np.asarray(ann["joint_valid"], dtype=np.float64).reshape(42)
            hand_type = ann["hand_type"]
            hand_type_valid = bool(np.asarray(ann.get("hand_type_valid", 1)).reshape(-1)[0])
            bbox_xywh = np.asarray(ann["bbox"], dtype=np.float64).reshape(4)
            file_name = img["file_name"]
        except (KeyError, TypeError, ValueError) as exc:
            raise AnnotationError(
                f"InterHand2.6M: malformed annotation {ann.get('id')} (sample {index}): {exc}"
            ) from exc
        cam_mm = (world - campos) @ camrot.T
        jvalid[:21] *= jvalid[INTERHAND_RIGHT_ROOT]
        jvalid[21:] *= jvalid[INTERHAND_LEFT_ROOT]
        K = check_intrinsics(
            [[focal[0], 0, princpt[0]], [0, focal[1], princpt[1]], [0, 0, 1]],
            "InterHand2.6M",
            f"camera {cam} of capture {capture} in the camera JSON",
            index,
        )
        path = self.root / "images" / self.split / file_name
        image = read_image(path, "InterHand2.6M")
        sides = {"right": [RIGHT], "left": [LEFT], "interacting": [RIGHT, LEFT]}[hand_type]
        sl = {RIGHT: slice(0, 21), LEFT: slice(21, 42)}
        j3 = np.stack([cam_mm[sl[s]] for s in sides]) / 1000.0
        jv = np.stack([jvalid[sl[s]] > 0 for s in sides])
        j2 = project(j3, K)
        roots = {RIGHT: INTERHAND_RIGHT_ROOT, LEFT: INTERHAND_LEFT_ROOT}
        hv = [bool(jvalid[roots[s]] > 0) for s in sides]
        bbox = np.zeros((len(sides), 4))
        for i in range(len(sides)):
            m = jv[i]
            if m.any():
                q = j2[i][m]
                bbox[i] = [q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max()]
            else:
                bbox[i] = [bbox_xywh[0], bbox_xywh[1], bbox_xywh[0] + bbox_xywh[2], bbox_xywh[1] + bbox_xywh[3]]
        meta: dict[str, Any] = {
            "image_id": int(ann["image_id"]),
            "annotation_id": ann.get("id"),
            "image_path": str(path),
            "file_name": file_name,
            "capture": int(capture),
            "cam": int(cam),
            "frame": int(frame),
            "seq_name": img.get("seq_name"),
            "hand_type": hand_type,
            "hand_type_valid": hand_type_valid,
            "interacting": hand_type == "interacting",
            "joints_cam_mm": cam_mm.astype(np.float32),
            "joint_valid": jvalid.astype(bool),
            "abs_depth": {
                "right": float(cam_mm[INTERHAND_RIGHT_ROOT, 2]),
                "left": float(cam_mm[INTERHAND_LEFT_ROOT, 2]),
            },
            "bbox_xywh": bbox_xywh.astype(np.float32),
            "focal": focal.astype(np.float32),
            "princpt": princpt.astype(np.float32),
            "camrot": camrot.astype(np.float32),
            "campos": campos.astype(np.float32),
            "dataset": "interhand26m",
        }
        mano = self._mano_params(capture, frame, sides, camrot, meta)
        return make_sample(
            image,
            K,
            sides,
            joints3d=j3,
            joints2d=j2,
            joints_valid=jv,
            hand_valid=hv,
            bbox=bbox,
            mano=mano,
            meta=meta,
            order="interhand",
        )

    def _mano_params(self, capture: str, frame: str, sides: list[int], camrot: np.ndarray, meta: dict) -> dict | None:
        if self._mano is None:
            return None
        try:
            per = self._mano[capture][frame]
        except KeyError:
            return None
        names = {RIGHT: "right", LEFT: "left"}
        params = [per.get(names[s]) for s in sides]
        if any(p is None for p in params):
            meta["mano_world"] = {names[s]: p for s, p in zip(sides, params)}
            return None
        try:
            pose = np.stack([np.asarray(p["pose"], dtype=np.float64).reshape(48) for p in params])
            betas = np.stack([np.asarray(p["shape"], dtype=np.float64).reshape(10) for p in params])
            meta["mano_world"] = {
                names[s]: {
                    "pose": pose[i],
                    "shape": betas[i],
                    "trans": np.asarray(params[i]["trans"], dtype=np.float64).reshape(3),
                }
                for i, s in enumerate(sides)
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise AnnotationError(
                f"InterHand2.6M: malformed MANO parameters for capture {capture} frame {frame}: {exc}"
            ) from exc
        meta["mano_flat_hand_mean"] = False
        go = np.stack([rotate_global_orient(pose[i, :3], camrot) for i in range(len(sides))])
        return {"global_orient": go, "hand_pose": pose[:, 3:], "betas": betas}
