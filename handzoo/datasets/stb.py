"""Stereo Hand Pose Tracking Benchmark (STB, Zhang et al., ICIP 2017), Intel RealSense (SK) colour images.

Official layout::

    <root>/images/<sequence>/SK_color_<i>.png   640 x 480, i = 0 .. 1499
    <root>/labels/<sequence>_SK.mat             handPara (3, 21, 1500): millimetres, depth camera

Sequences ``B1Counting`` .. ``B6Counting`` and ``B1Random`` .. ``B6Random``; the usual test split
is B1Counting + B1Random (3000 frames), training the other ten. The labels are moved into the
colour camera with STB's published extrinsics and intrinsics (:mod:`handzoo.protocols.pck3d`,
which also scores this dataset as ``stb-3dhand``). One left hand per frame; joint 0 is the palm
centre (STB annotates no wrist), kept in the wrist's slot of ``handzoo21``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from handzoo.catalogue.datasets import DatasetSpec, register_dataset
from handzoo.datasets.base import HandDataset, make_sample, read_image, require, resolve_root
from handzoo.protocols.pck3d import STB_SK_COLOR_K, STB_TEST_SEQUENCES, read_stb_labels
from handzoo.types import LEFT, Sample

__all__ = ["STB", "STB_TRAIN_SEQUENCES", "SPEC"]

URL = "https://github.com/zhjwustc/icip17_stereo_hand_pose_dataset"
STB_TRAIN_SEQUENCES = tuple(f"B{i}{kind}" for kind in ("Counting", "Random") for i in range(2, 7))

SPEC = register_dataset(
    DatasetSpec(
        "stb",
        protocols=("stb-3dhand",),
        source=URL,
        folders=("STB", "stereo_hand_pose"),
        splits=("test", "train"),
        split_aliases={"evaluation": "test", "training": "train"},
        title="STB",
    )
)


class STB(HandDataset):
    """STB loader (SK colour camera).

    Args:
        root: dataset folder (default ``$HANDZOO_DATA/STB``).
        split: ``test`` (B1Counting, B1Random) or ``train`` (the other ten sequences).
        sequences: explicit sequence names instead of a split.
    """

    name = "stb"
    protocol = "stb-3dhand"
    url = URL

    def __init__(
        self, root: str | os.PathLike | None = None, split: str = "test", sequences: tuple[str, ...] | None = None
    ) -> None:
        self.split = SPEC.official_split(split)
        self.root = resolve_root(root, SPEC.display, SPEC.folder_names, SPEC.url)
        seqs = tuple(sequences) if sequences else (STB_TEST_SEQUENCES if self.split == "test" else STB_TRAIN_SEQUENCES)
        require(self.root, [f"labels/{s}_SK.mat" for s in seqs] + [f"images/{s}" for s in seqs], "STB", URL)
        self.sequences = seqs
        joints, index = [], []
        for s in seqs:
            j = read_stb_labels(self.root, (s,))
            joints.append(j)
            index.extend((s, i) for i in range(j.shape[0]))
        self._joints = np.concatenate(joints, axis=0) if joints else np.zeros((0, 21, 3))
        self._index = index
        self._K = np.asarray(STB_SK_COLOR_K, dtype=np.float64)

    def __len__(self) -> int:
        return len(self._index)

    def _image_path(self, index: int) -> Path:
        seq, i = self._index[index]
        return self.root / "images" / seq / f"SK_color_{i}.png"

    def _load(self, index: int) -> Sample:
        seq, i = self._index[index]
        path = self._image_path(index)
        image = read_image(path, "STB")
        meta = {"sequence": seq, "frame": i, "image_path": str(path), "dataset": "stb", "root_is_palm": True}
        return make_sample(image, self._K, [LEFT], joints3d=self._joints[index][None], meta=meta)
