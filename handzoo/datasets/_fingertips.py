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

import math
import os
from pathlib import Path

import numpy as np

from handzoo.catalogue.datasets import DatasetSpec
from handzoo.datasets.base import HandDataset, make_sample, read_image, resolve_root
from handzoo.errors import AnnotationError, DatasetNotFoundError
from handzoo.types import LEFT, Sample

__all__ = ["TIP_ROWS", "FingertipDataset", "read_tip_lines", "list_frames"]

TIP_ROWS = (4, 8, 12, 16, 20)  # handzoo21 rows of thumb, index, middle, ring, little tips
IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg")


def read_tip_lines(path: Path, dims: int, dataset: str, url: str) -> np.ndarray:
    """One row per line of a fingertip file: (N, 5, dims) float64, NaN where a field is empty or absent.

    A line may hold fewer than five fields (an unannotated frame); fields past the fifth are ignored.

    Raises:
        DatasetNotFoundError: the file is missing. AnnotationError: a field is not ``dims`` numbers.
    """
    if not path.is_file():
        raise DatasetNotFoundError(
            f"{dataset}: annotation file missing: {path}",
            hint=f"download {dataset} from {url} and keep its folder layout",
        )
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"{dataset}: cannot read {path} as text: {exc}", hint="re-download the file") from exc
    lines = text.splitlines()
    while lines and not lines[-1].strip():  # a file's closing blank line is no frame
        lines.pop()
    out = np.full((len(lines), 5, dims), np.nan)
    for n, line in enumerate(lines):
        fields = line.split(";")[:5]
        for t, field in enumerate(fields):
            field = field.strip()
            if not field:
                continue
            parts = [p.strip() for p in field.split(",")]
            try:
                vals = [float(p) for p in parts]
            except ValueError:
                vals = []
            if len(vals) != dims or not all(math.isfinite(v) for v in vals):
                raise AnnotationError(
                    f"{dataset}: {path}:{n + 1}: fingertip {t + 1} is {field[:40]!r}, expected {dims} numbers 'a, b"
                    + (", c'" if dims == 3 else "'"),
                    hint="re-download the annotation file",
                )
            out[n, t] = vals
    return out


def list_frames(folder: Path, dataset: str, url: str) -> list[Path]:
    """The image files of a sequence's ``color/`` (or ``depth/``) folder in file-name order.

    Raises:
        DatasetNotFoundError: the folder is missing or holds no image.
    """
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    except OSError:
        files = []
    if not files:
        raise DatasetNotFoundError(
            f"{dataset}: no colour frames in {folder}", hint=f"download {dataset} from {url} and keep its folder layout"
        )
    return files


class FingertipDataset(HandDataset):
    """A fingertip-annotated RGB-D dataset read from its per-sequence folders (see the module docstring).

    Subclasses set the class attributes and implement :meth:`_read_sequence`.

    Attributes:
        spec: the dataset's catalogue entry. sequences: its evaluation sequences.
        color_K: (3, 3) colour intrinsics. depth_to_color: (3, 4) ``[R | t]`` in millimetres.
    """

    spec: DatasetSpec
    sequences: tuple[str, ...] = ()
    color_K: tuple[tuple[float, ...], ...] = ()
    depth_to_color: tuple[tuple[float, ...], ...] = ()
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
        self._ext = np.asarray(self.depth_to_color, dtype=np.float64)
        self._K = np.asarray(self.color_K, dtype=np.float64)
        self._frames: list[tuple[str, int, Path]] = []
        self._check_files(seqs)
        tips, raw3d, raw2d, files = [], [], [], []
        for seq in seqs:
            folder = self.root / "data" / seq
            frames = list_frames(folder / "color", self.spec.display, self.spec.url)
            ann_file = self._annotation_path(folder, seq)
            mm3d, uv = self._read_sequence(folder, seq, ann_file)
            if mm3d.shape[0] > len(frames):
                raise DatasetNotFoundError(
                    f"{self.spec.display}: {ann_file} annotates {mm3d.shape[0]} frames but {folder / 'color'} "
                    f"holds {len(frames)} images",
                    hint=f"the colour frames are incomplete: re-download {seq} from {self.spec.url}",
                )
            n = len(frames)
            mm3d = _pad_rows(mm3d, n, 3)
            uv = _pad_rows(uv, n, 2)
            self._frames.extend((seq, i, p) for i, p in enumerate(frames))
            raw3d.append(mm3d)
            raw2d.append(uv)
            files.extend([str(ann_file)] * n)
            tips.append(self._to_color_m(mm3d))
        self._raw3d = np.concatenate(raw3d) if raw3d else np.zeros((0, 5, 3))
        self._raw2d = np.concatenate(raw2d) if raw2d else np.zeros((0, 5, 2))
        self._tips = np.concatenate(tips) if tips else np.zeros((0, 5, 3))
        self._files = files
        keep = np.arange(len(self._frames))
        if annotated_only:
            keep = keep[np.isfinite(self._tips[..., 2]).any(1)]
        self._keep = keep
        self.sequences_used = seqs

    def _check_files(self, seqs: tuple[str, ...]) -> None:
        """One DatasetNotFoundError listing every missing sequence folder, colour folder and 3D file."""
        missing = []
        for seq in seqs:
            folder = self.root / "data" / seq
            for path in (folder / "color", self._annotation_path(folder, seq)):
                if not path.exists():
                    missing.append(str(path.relative_to(self.root)))
        if missing:
            shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
            raise DatasetNotFoundError(
                f"{self.spec.display} at {self.root} is incomplete: missing {shown}",
                hint=f"download {self.spec.display} from {self.spec.url} and keep its layout (data/<sequence>/...)",
            )

    # ------------------------------------------------------------------ subclass hooks

    def _annotation_path(self, folder: Path, seq: str) -> Path:
        """The 3D annotation file of a sequence (the official name when none of the accepted ones exists)."""
        raise NotImplementedError

    def _read_sequence(self, folder: Path, seq: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
        """(3D tips (N, 5, 3) mm in the annotation frame, NaN = missing; 2D tips (N, 5, 2) depth pixels)."""
        raise NotImplementedError

    def _depth_to_opencv(self, mm: np.ndarray) -> np.ndarray:
        """Annotation-frame points -> the depth camera's OpenCV axes (identity unless overridden)."""
        return mm

    # ------------------------------------------------------------------ conversions

    def _to_color_m(self, mm3d: np.ndarray) -> np.ndarray:
        """(N, 5, 3) annotation millimetres -> colour-camera metres (NaN stays NaN)."""
        p = self._depth_to_opencv(mm3d)
        return (p @ self._ext[:, :3].T + self._ext[:, 3]) / 1000.0

    def ground_truth(self) -> tuple[np.ndarray, np.ndarray]:
        """Every kept frame's ``(joints (M, 21, 3) metres, valid (M, 21))``: what ``gt.npz`` holds for the protocol."""
        tips = self._tips[self._keep]
        valid_tips = np.isfinite(tips).all(-1)
        joints = np.zeros((len(self._keep), 21, 3))
        joints[:, list(TIP_ROWS)] = np.where(valid_tips[..., None], tips, 0.0)
        valid = np.zeros((len(self._keep), 21), dtype=bool)
        valid[:, list(TIP_ROWS)] = valid_tips
        return joints, valid

    # ------------------------------------------------------------------ dataset API

    def __len__(self) -> int:
        return int(len(self._keep))

    def _load(self, index: int) -> Sample:
        k = int(self._keep[index])
        seq, frame, path = self._frames[k]
        image = read_image(path, self.spec.display)
        tips = self._tips[k]
        valid_tips = np.isfinite(tips).all(-1)
        joints = np.zeros((21, 3))
        joints[list(TIP_ROWS)] = np.where(valid_tips[:, None], tips, 0.0)
        valid = np.zeros(21, dtype=bool)
        valid[list(TIP_ROWS)] = valid_tips
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
            joints3d=joints[None],
            joints_valid=valid[None],
            hand_valid=[bool(valid_tips.any())],
            meta=meta,
        )
        # only five fingertips are annotated: no 21-joint 2D annotation (the tips' pixels are meta['tips2d'])
        sample.joints2d = None
        return sample


def _pad_rows(a: np.ndarray, n: int, dims: int) -> np.ndarray:
    """``a`` with NaN rows appended up to ``n`` (frames after the last annotation line)."""
    if a.shape[0] >= n:
        return a[:n]
    return np.concatenate([a, np.full((n - a.shape[0], 5, dims), np.nan)])
