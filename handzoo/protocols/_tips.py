"""Fingertip annotation text files of Dexter+Object and EgoDexter (their official release layout).

One line per colour frame of a sequence (frames in file-name order), five fingertips ``thumb,
index, middle, ring, little`` separated by ``;`` (a trailing ``;`` ends the line), each ``a, b``
(2D) or ``a, b, c`` (3D). A line may hold fewer fields (an unannotated frame) or be empty; the
datasets' own missing markers (``z = 32001``, ``0, 0, 0``, ``-1, -1``) are applied by the callers.
Used by the protocols' ground-truth readers and by the dataset loaders, so both count the same rows.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from handzoo.errors import AnnotationError, DatasetNotFoundError

__all__ = ["IMAGE_SUFFIXES", "TIP_ROWS", "read_tip_lines", "frame_files", "fit_rows", "tip_rows"]

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg")
TIP_ROWS = (4, 8, 12, 16, 20)  # handzoo21 rows of the thumb, index, middle, ring and little tips


def read_tip_lines(path: Path, dims: int, dataset: str, url: str) -> np.ndarray:
    """One row per line: (N, 5, dims) float64, NaN where a field is empty or absent.

    Fields past the fifth are ignored; a closing blank line is no frame.

    Raises:
        DatasetNotFoundError: the file is missing. AnnotationError: a field is not ``dims`` numbers,
            or the file is not text.
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
    lines = [line.rstrip("\r") for line in text.split("\n")]  # '\n' only: other separators are no frame breaks
    while lines and not lines[-1].strip():
        lines.pop()
    out = np.full((len(lines), 5, dims), np.nan)
    for n, line in enumerate(lines):
        for t, field in enumerate(line.split(";")[:5]):
            field = field.strip()
            if not field:
                continue
            try:
                vals = [float(p) for p in field.split(",")]
            except ValueError:
                vals = []
            if len(vals) != dims or not all(math.isfinite(v) and abs(v) <= 1e9 for v in vals):
                shape = "'a, b, c'" if dims == 3 else "'a, b'"
                raise AnnotationError(
                    f"{dataset}: {path}:{n + 1}: fingertip {t + 1} is {field[:40]!r}, expected {dims} numbers {shape}",
                    hint="re-download the annotation file",
                )
            out[n, t] = vals
    return out  # values are finite and within 1e9 (no overflow in the camera transforms)


def frame_files(folder: Path) -> list[Path] | None:
    """The image files of a sequence's ``color/`` folder in file-name order (None when the folder is absent)."""
    if not folder.is_dir():
        return None
    try:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    except OSError:
        return []


def fit_rows(rows: np.ndarray, frames: list[Path] | None, path: Path, dataset: str, url: str) -> np.ndarray:
    """``rows`` padded with missing (NaN) rows to one per colour frame (unchanged without a frame list).

    Raises:
        DatasetNotFoundError: more annotation lines than colour frames (an incomplete download).
    """
    if frames is None:
        return rows
    n = len(frames)
    if rows.shape[0] > n:
        raise DatasetNotFoundError(
            f"{dataset}: {path} annotates {rows.shape[0]} frames but the colour folder holds {n} images",
            hint=f"the colour frames are incomplete: re-download the sequence from {url}",
        )
    pad = np.full((n - rows.shape[0], *rows.shape[1:]), np.nan)
    return np.concatenate([rows, pad]) if pad.shape[0] else rows


def tip_rows(tips_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 5, 3) fingertips (NaN = missing) -> handzoo21 ``(joints (N, 21, 3), valid (N, 21))``, zeros where invalid."""
    tips_m = np.asarray(tips_m, dtype=np.float64)
    ok = np.isfinite(tips_m).all(-1)
    joints = np.zeros((tips_m.shape[0], 21, 3))
    joints[:, list(TIP_ROWS)] = np.where(ok[..., None], tips_m, 0.0)
    valid = np.zeros((tips_m.shape[0], 21), dtype=bool)
    valid[:, list(TIP_ROWS)] = ok
    return joints, valid
