"""Rendered Hand Pose dataset (RHD, Zimmermann & Brox, ICCV 2017) in the official layout.

::

    <root>/<split>/anno_<split>.pickle     dict id -> {'xyz' (42,3) m, 'uv_vis' (42,3), 'K' (3,3)}
    <root>/<split>/color/%05d.png          320 x 320
    <root>/<split>/mask/%05d.png           0 background, 1 person, 2-17 left hand, 18-33 right hand
    <root>/<split>/depth/%05d.png          depth = (R * 256 + G) / (2^16 - 1) * 5 m

Joints 0-20 are the left hand, 21-41 the right hand, each wrist then tip-to-base per finger, in the
OpenCV camera frame. Every sample yields both hands (left, right); a hand is valid when at least
one of its keypoints is visible. ``joints_valid`` is all True (3D is known for every joint); the
visibility flags are ``meta['visible']``. ``meta['dominant']`` is the hand with more mask pixels
(the single hand that 2D/3D single-hand evaluations on RHD use).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
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
from handzoo.errors import AnnotationError
from handzoo.geometry.joint_orders import TO_HANDZOO21
from handzoo.types import LEFT, RIGHT, Sample

__all__ = ["RHD", "decode_rhd_depth", "SPEC"]

URL = "https://lmb.informatik.uni-freiburg.de/resources/datasets/RenderedHandposeDataset.en.html"

SPEC = register_dataset(
    DatasetSpec(
        "rhd",
        protocols=("rhd",),
        source=URL,
        folders=("RHD_published_v2", "RHD"),
        splits=("evaluation", "training"),
        split_aliases={"test": "evaluation", "eval": "evaluation", "train": "training"},
        title="RHD",
    )
)


def decode_rhd_depth(depth_png_rgb: np.ndarray) -> np.ndarray:
    """Decode an RHD depth PNG (RGB order) to metres: ``(R * 256 + G) / 65535 * 5``."""
    d = depth_png_rgb.astype(np.float64)
    return (d[..., 0] * 256.0 + d[..., 1]) / (2**16 - 1) * 5.0


class RHD(HandDataset):
    """RHD loader.

    Args:
        root: dataset folder (default ``$HANDZOO_DATA/RHD_published_v2`` or ``.../RHD``).
        split: ``training`` or ``evaluation``.
        with_mask: read the segmentation (hand mask in ``mask``, raw labels in
            ``meta['segmentation']``).
        with_depth: decode the depth image into ``meta['depth']`` (metres).
    """

    name = "rhd"
    protocol = "rhd"
    url = URL

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        split: str = "evaluation",
        with_mask: bool = True,
        with_depth: bool = False,
    ) -> None:
        self.split = SPEC.official_split(split)
        self.root = resolve_root(root, SPEC.display, SPEC.folder_names, SPEC.url)
        s = self.split
        require(self.root, [f"{s}/anno_{s}.pickle", f"{s}/color"], "RHD", URL)
        if with_mask:
            require(self.root, [f"{s}/mask"], "RHD", URL)
        if with_depth:
            require(self.root, [f"{s}/depth"], "RHD", URL)
        self.with_mask, self.with_depth = with_mask, with_depth
        self._anno_path = self.root / s / f"anno_{s}.pickle"
        anno = safe_pickle_load(self._anno_path, "RHD")
        if not isinstance(anno, dict):
            raise AnnotationError(f"RHD: {self._anno_path} does not hold a dict of samples")
        self._anno = anno
        self._ids = sorted(anno)

    def __len__(self) -> int:
        return len(self._ids)

    def _file(self, kind: str, sid: int) -> Path:
        return self.root / self.split / kind / f"{int(sid):05d}.png"

    def _load(self, index: int) -> Sample:
        sid = self._ids[index]
        try:
            a = self._anno[sid]
            xyz = np.asarray(a["xyz"], dtype=np.float64).reshape(42, 3)
            uvv = np.asarray(a["uv_vis"], dtype=np.float64).reshape(42, 3)
            K = check_intrinsics(a["K"], "RHD", self._anno_path, sid)
        except (KeyError, TypeError, ValueError) as exc:
            raise AnnotationError(f"RHD: malformed annotation for sample {sid} in {self._anno_path}: {exc}") from exc
        image = read_image(self._file("color", sid), "RHD")
        vis = (uvv[:, 2] > 0).reshape(2, 21)
        meta: dict[str, Any] = {
            "id": int(sid),
            "image_path": str(self._file("color", sid)),
            "uv_vis": uvv.astype(np.float32),
            "dataset": "rhd",
        }
        mask = None
        if self.with_mask:
            seg = read_image(self._file("mask", sid), "RHD", flags=cv2.IMREAD_UNCHANGED)
            seg = seg[..., 0] if seg.ndim == 3 else seg
            if seg.shape[:2] != image.shape[:2]:
                raise AnnotationError(
                    f"RHD: mask {self._file('mask', sid)} is {seg.shape[1]}x{seg.shape[0]} but its image is "
                    f"{image.shape[1]}x{image.shape[0]} (sample {sid})",
                    hint="re-download the dataset: mask and colour images must have the same size",
                )
            meta["segmentation"] = seg
            mask = np.where(seg >= 2, 255, 0).astype(np.uint8)
            n_left = int(((seg >= 2) & (seg <= 17)).sum())
            n_right = int((seg >= 18).sum())
            meta["dominant"] = 0 if n_left > n_right else 1
        if self.with_depth:
            meta["depth"] = decode_rhd_depth(read_image(self._file("depth", sid), "RHD")).astype(np.float32)
        # per hand, in handzoo21 order (the rhd order is converted by make_sample)
        meta["visible"] = vis[:, list(TO_HANDZOO21["rhd"])]
        j3 = xyz.reshape(2, 21, 3)
        j2 = uvv[:, :2].reshape(2, 21, 2)
        return make_sample(
            image,
            K,
            [LEFT, RIGHT],
            joints3d=j3,
            joints2d=j2,
            hand_valid=vis.any(1),
            bbox=_visible_boxes(j2, vis),
            mask=mask,
            meta=meta,
            order="rhd",
        )


def _visible_boxes(j2: np.ndarray, vis: np.ndarray) -> np.ndarray:
    out = np.full((2, 4), np.nan)
    for i in range(2):
        m = vis[i] if vis[i].any() else np.ones(21, bool)
        q = j2[i][m]
        out[i] = [q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max()]
    return out
