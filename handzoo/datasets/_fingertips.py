"""What the two fingertip-only RGB-D datasets (Dexter+Object, EgoDexter) share.

Both releases (MPI GVV hand-tracking pages) store, per sequence folder, the colour frames in
``color/`` and one text line per colour frame (in file-name order) with five fingertips ``thumb,
index, middle, ring, little``, each field ``a, b[, c]`` and the fields separated by ``;`` (a
trailing ``;`` ends the line). 3D values are millimetres in the depth camera; each dataset has
its own marker of a missing fingertip and its own depth-to-colour extrinsics ``[R | t]`` (mm) and
colour intrinsics. :class:`FingertipDataset` turns that into handzoo samples: metres, OpenCV frame
of the colour camera, ``handzoo21`` rows with only the five tips (joints 4, 8, 12, 16, 20) valid.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from handzoo.catalogue.datasets import DatasetSpec
from handzoo.datasets.base import HandDataset, make_sample, read_image, resolve_root
from handzoo.errors import DatasetNotFoundError
from handzoo.protocols._tips import TIP_ROWS, fit_rows, frame_files, tip_rows
from handzoo.types import LEFT, Sample

__all__ = ["TIP_ROWS", "FingertipDataset"]


class FingertipDataset(HandDataset):
    """A fingertip-annotated RGB-D dataset read from its per-sequence folders (see the module docstring).

    Subclasses set the class attributes and implement :meth:`_read_2d`; the 3D files are read and
    converted by the protocol layer's functions (the same rows the protocol scores).

    Attributes:
        spec: the dataset's catalogue entry. sequences: its evaluation sequences.
        color_K: (3, 3) colour intrinsics.
        annotation_file: ``(root, sequence) -> path`` of the 3D file.
        read_tips_mm: ``path -> (N, 5, 3)`` millimetres, NaN = missing.
        to_color: ``(..., 3)`` annotation millimetres -> colour-camera metres.
    """

    spec: DatasetSpec
    sequences: tuple[str, ...] = ()
    color_K: tuple[tuple[float, ...], ...] = ()
    annotation_file: Callable[[str | Path, str], Path]
    read_tips_mm: Callable[[Path], np.ndarray]
    to_color: Callable[[np.ndarray], np.ndarray]
    side = LEFT

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        split: str = "test",
        sequences: tuple[str, ...] | None = None,
        annotated_only: bool = False,
    ) -> None:
        """Open the dataset.

        Args:
            root: the dataset folder (holding ``data/<sequence>/``); default ``$HANDZOO_DATA/<folder>``.
            split: ``test`` (the only split: the whole dataset is an evaluation set).
            sequences: a subset of the sequences (default: all of them).
            annotated_only: keep only frames with at least one annotated fingertip (default: every
                colour frame, unannotated ones with ``hand_valid`` False, as the protocol's
                reader of the official files counts them).

        Raises:
            DatasetNotFoundError: naming the missing folder or file and where to get the dataset.
            AnnotationError: an annotation line that cannot be read. ConfigError: unknown split.
        """
        self.split = self.spec.official_split(split)
        self.root = resolve_root(root, self.spec.display, self.spec.folder_names, self.spec.url)
        seqs = tuple(sequences) if sequences else self.sequences
        self._K = np.asarray(self.color_K, dtype=np.float64)
        self._frames: list[tuple[str, int, Path]] = []
        self._check_files(seqs)
        tips, raw3d, raw2d, files = [], [], [], []
        for seq in seqs:
            folder = self.root / "data" / seq
            frames = frame_files(folder / "color") or []
            if not frames:
                raise DatasetNotFoundError(
                    f"{self.spec.display}: no colour frames in {folder / 'color'}",
                    hint=f"download {self.spec.display} from {self.spec.url} and keep its folder layout",
                )
            ann_file = type(self).annotation_file(self.root, seq)
            mm3d = fit_rows(type(self).read_tips_mm(ann_file), frames, ann_file, self.spec.display, self.spec.url)
            uv = self._read_2d(folder, seq)[: len(frames)]
            uv = np.concatenate([uv, np.full((len(frames) - uv.shape[0], 5, 2), np.nan)])
            self._frames.extend((seq, i, p) for i, p in enumerate(frames))
            raw3d.append(mm3d)
            raw2d.append(uv)
            files.extend([str(ann_file)] * len(frames))
            tips.append(type(self).to_color(mm3d))
        self._raw3d = np.concatenate(raw3d) if raw3d else np.zeros((0, 5, 3))
        self._raw2d = np.concatenate(raw2d) if raw2d else np.zeros((0, 5, 2))
        self._tips = np.concatenate(tips) if tips else np.zeros((0, 5, 3))
        self._files = files
        keep = np.arange(len(self._frames))
        if annotated_only:
            keep = keep[np.isfinite(self._tips[..., 2]).any(1)]
        self._keep = keep
        self.sequences_used = seqs
        self._fingerprint = self._digest(seqs, annotated_only)

    def _digest(self, seqs: tuple[str, ...], annotated_only: bool) -> str:
        """sha256 of what the samples come from: the annotation files' bytes and the frame file names."""
        h = hashlib.sha256(f"{self.name}|{self.split}|{','.join(seqs)}|{annotated_only}".encode())
        for path in sorted(set(self._files)):
            h.update(path.encode())
            h.update(Path(path).read_bytes())
        for seq, i, p in self._frames:
            h.update(f"{seq}/{i}/{p.name}".encode())
        return h.hexdigest()

    def fingerprint(self) -> str:
        """A digest that changes when the annotations or the frame lists change (the bench's cache key).

        The annotation files sit three folders deep (``data/<seq>/annotations``), below what a
        generic folder scan looks at, so the loader hashes them itself.
        """
        return self._fingerprint

    def _check_files(self, seqs: tuple[str, ...]) -> None:
        """One DatasetNotFoundError listing every missing sequence folder, colour folder and 3D file."""
        missing = []
        for seq in seqs:
            folder = self.root / "data" / seq
            for path in (folder / "color", type(self).annotation_file(self.root, seq)):
                if not path.exists():
                    missing.append(str(path.relative_to(self.root)))
        if missing:
            shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
            raise DatasetNotFoundError(
                f"{self.spec.display} at {self.root} is incomplete: missing {shown}",
                hint=f"download {self.spec.display} from {self.spec.url} and keep its layout (data/<sequence>/...)",
            )

    # ------------------------------------------------------------------ subclass hooks

    def _read_2d(self, folder: Path, seq: str) -> np.ndarray:
        """The sequence's 2D fingertips (N, 5, 2) in depth-image pixels, NaN = missing (empty when absent)."""
        raise NotImplementedError

    def ground_truth(self) -> tuple[np.ndarray, np.ndarray]:
        """Every kept frame's ``(joints (M, 21, 3) metres, valid (M, 21))``: what ``gt.npz`` holds for the protocol."""
        return tip_rows(self._tips[self._keep])

    # ------------------------------------------------------------------ dataset API

    def __len__(self) -> int:
        return int(len(self._keep))

    def _load(self, index: int) -> Sample:
        k = int(self._keep[index])
        seq, frame, path = self._frames[k]
        image = read_image(path, self.spec.display)
        tips = self._tips[k]
        valid_tips = np.isfinite(tips).all(-1)
        joints, valid = tip_rows(tips[None])
        tips2d = np.full((5, 2), np.nan)
        if valid_tips.any():
            uvw = tips[valid_tips] @ self._K.T
            tips2d[valid_tips] = uvw[:, :2] / uvw[:, 2:]
        meta = {
            "dataset": self.name,
            "sequence": seq,
            "frame": frame,
            "image_path": str(path),
            "annotation_file": self._files[k],
            "fingertips_only": True,
            "tips_mm_annotation": self._raw3d[k].copy(),
            "tips2d_depth": self._raw2d[k].copy(),
            "tips2d": tips2d,
        }
        sample = make_sample(
            image,
            self._K,
            [self.side],
            joints3d=joints,
            joints_valid=valid,
            hand_valid=[bool(valid_tips.any())],
            meta=meta,
        )
        # only five fingertips are annotated: no 21-joint 2D annotation (the tips' pixels are meta['tips2d'])
        sample.joints2d = None
        return sample
