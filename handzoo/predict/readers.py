"""Inputs of ``handzoo predict``: image files, folders, videos (OpenCV) and webcams, and boxes files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from handzoo.errors import InputError

__all__ = ["IMAGE_EXTS", "VIDEO_EXTS", "Source", "collect_sources", "iter_frames", "read_boxes_file", "read_image"]

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


@dataclass(frozen=True)
class Source:
    """One input: an image file, a video file, or a webcam.

    Attributes:
        kind: ``'image'``, ``'video'`` or ``'webcam'``.
        path: the file (None for a webcam).
        name: output stem, unique within one run (relative path without suffix, ``/`` -> ``__``).
        camera: webcam index for ``kind == 'webcam'``.
    """

    kind: str
    path: Path | None
    name: str
    camera: int = -1


def _stem(path: Path, base: Path | None) -> str:
    rel = path.relative_to(base) if base is not None else Path(path.name)
    return "__".join(rel.with_suffix("").parts)


def collect_sources(inputs: list[str]) -> list[Source]:
    """Expand command-line inputs into sources.

    Args:
        inputs: image or video paths, folders (searched recursively for images and videos,
            in sorted order), or webcam indices (``0``, ``1``...).

    Raises:
        InputError: for a path that does not exist, a file of unknown type, or an empty folder.
    """
    out: list[Source] = []
    for raw in inputs:
        if raw.isdigit() and not Path(raw).exists():
            out.append(Source("webcam", None, f"webcam{raw}", int(raw)))
            continue
        p = Path(raw).expanduser()
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTS + VIDEO_EXTS)
            if not files:
                raise InputError(
                    f"folder {p} holds no images or videos",
                    hint=f"put {', '.join(IMAGE_EXTS + VIDEO_EXTS)} files in it, or name files directly",
                )
            out += [Source("video" if f.suffix.lower() in VIDEO_EXTS else "image", f, _stem(f, p)) for f in files]
        elif p.is_file():
            ext = p.suffix.lower()
            if ext not in IMAGE_EXTS + VIDEO_EXTS:
                raise InputError(
                    f"{p} is neither an image nor a video (suffix {ext or 'none'!r})",
                    hint=f"give {', '.join(IMAGE_EXTS)} images or {', '.join(VIDEO_EXTS)} videos",
                )
            out.append(Source("video" if ext in VIDEO_EXTS else "image", p, _stem(p, None)))
        else:
            raise InputError(f"input {raw!r} does not exist", hint="give an image, a folder, a video or a webcam index")
    seen: dict[str, int] = {}
    unique = []
    for s in out:  # same stem from two inputs: suffix a counter so outputs never overwrite
        k = seen.get(s.name, 0)
        seen[s.name] = k + 1
        unique.append(s if k == 0 else Source(s.kind, s.path, f"{s.name}_{k}", s.camera))
    return unique


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as RGB uint8 (H, W, 3).

    Raises:
        InputError: when the file cannot be decoded.
    """
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise InputError(
            f"cannot decode image {path}", hint="the file is corrupt or not an image; remove it or re-save it"
        )
    return np.ascontiguousarray(img[:, :, ::-1])


def iter_frames(source: Source, max_frames: int | None = None) -> tuple[float, Iterator[np.ndarray]]:
    """Open a video or webcam: its frame rate and an iterator of RGB uint8 frames.

    Raises:
        InputError: when the video or camera cannot be opened.
    """
    cap = cv2.VideoCapture(source.camera if source.kind == "webcam" else str(source.path))
    if not cap.isOpened():
        what = f"webcam {source.camera}" if source.kind == "webcam" else f"video {source.path}"
        raise InputError(f"cannot open {what}", hint="check the file plays (or the camera is connected)")
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0

    def gen() -> Iterator[np.ndarray]:
        n = 0
        try:
            while max_frames is None or n < max_frames:
                ok, frame = cap.read()
                if not ok:
                    break
                n += 1
                yield np.ascontiguousarray(frame[:, :, ::-1])
        finally:
            cap.release()

    return fps, gen()


def _entry(key: str, value: Any, where: str) -> dict[str, np.ndarray]:
    if isinstance(value, dict):
        boxes, sides = value.get("boxes"), value.get("sides")
    else:
        boxes, sides = value, None
    try:
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4) if boxes is not None and len(boxes) else np.zeros((0, 4))
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{where}: boxes of {key!r} are not lists of 4 numbers ({exc})",
            hint='write {"img.png": [[x0, y0, x1, y1], ...]}',
        ) from None
    if not np.all(np.isfinite(b)) or np.any(b[:, 2] <= b[:, 0]) or np.any(b[:, 3] <= b[:, 1]):
        raise InputError(
            f"{where}: a box of {key!r} is empty or not finite",
            hint="boxes are x0, y0, x1, y1 with x1 > x0 and y1 > y0",
        )
    out = {"boxes": b}
    if sides is not None:
        names = {"right": 0, "left": 1, 0: 0, 1: 1}
        try:
            out["sides"] = np.array([names[s.lower() if isinstance(s, str) else s] for s in sides], np.int64)
        except (KeyError, TypeError, AttributeError):
            raise InputError(
                f"{where}: sides of {key!r} must be 'right'/'left' or 0/1", hint="one side per box"
            ) from None
        if out["sides"].shape[0] != b.shape[0]:
            raise InputError(
                f"{where}: {key!r} has {b.shape[0]} boxes but {out['sides'].shape[0]} sides", hint="one side per box"
            )
    return out


def read_boxes_file(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """Read a boxes JSON file.

    The file maps an image (file name, relative path or stem; ``VIDEO#FRAME`` for a video frame)
    to ``[[x0, y0, x1, y1], ...]`` or to ``{"boxes": [...], "sides": ["right", "left", ...]}``.

    Raises:
        InputError: when the file is missing, not JSON, or holds malformed boxes.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise InputError(f"boxes file {p} does not exist", hint="give --boxes a JSON file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"boxes file {p} is not valid JSON ({exc})", hint='write {"img.png": [[x0, y0, x1, y1]]}'
        ) from None
    if not isinstance(data, dict):
        raise InputError(
            f"boxes file {p} must hold a JSON object keyed by image", hint='write {"img.png": [[x0, y0, x1, y1]]}'
        )
    return {str(k): _entry(str(k), v, str(p)) for k, v in data.items()}


def lookup_boxes(
    table: dict[str, dict[str, np.ndarray]], source: Source, frame: int | None
) -> dict[str, np.ndarray] | None:
    """The boxes file's entry for one image or video frame, or None."""
    keys: list[str] = []
    if source.path is not None:
        p = source.path
        keys = [str(p), p.name, p.stem, source.name]
    else:
        keys = [source.name]
    if frame is not None:
        keys = [f"{k}#{frame}" for k in keys]
    for k in keys:
        if k in table:
            return table[k]
    return None
