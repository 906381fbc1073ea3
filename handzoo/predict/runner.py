"""The ``handzoo predict`` loop: read, find hands, predict in batches, write."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from handzoo.predict.detectors import make_detector
from handzoo.predict.readers import Source, collect_sources, iter_frames, lookup_boxes, read_boxes_file, read_image
from handzoo.predict.stream import DEFAULT_FRAME_OFFSETS, FrameHistory, regroup
from handzoo.predict.writers import (
    MESH_FORMATS,
    VideoSink,
    absolute_vertices,
    hand_records,
    render_overlay,
    write_json,
    write_mesh,
)
from handzoo.types import LEFT, HandOutput

__all__ = ["predict"]


@contextlib.contextmanager
def _progress(enabled: bool, total: int | None) -> Iterator[Any]:
    if not enabled:
        yield lambda n=1: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("predict"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("predict", total=total)
        yield lambda n=1: bar.advance(task, n)


def _frame_count(source: Source) -> int | None:
    import cv2

    if source.kind != "video":
        return None
    cap = cv2.VideoCapture(str(source.path))
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()
    return n or None


class _Writer:
    def __init__(self, out_dir: Path, save_mesh: str | None, overlays: bool) -> None:
        self.out_dir, self.save_mesh, self.overlays = out_dir, save_mesh, overlays
        self.hands = 0

    def write(
        self, image: np.ndarray, out: Any, i: int, stem: str, boxes: np.ndarray | None
    ) -> tuple[dict[str, Any], np.ndarray | None]:
        rec = hand_records(out, i)
        rec["boxes"] = None if boxes is None else np.asarray(boxes).tolist()
        rec["image_size"] = list(image.shape[:2])
        files: dict[str, Any] = {"json": str(write_json(self.out_dir / f"{stem}.json", rec))}
        self.hands += len(rec["hands"])
        if self.save_mesh and out.faces is not None:
            faces = out.faces.detach().cpu().numpy()
            extras = out.extras or {}
            faces_left = extras.get("faces_left")  # a method with its own left-hand mesh
            # per-vertex colours when the method predicts them (SMHR: its lit texture, else albedo)
            vc = extras.get("vertex_colors", extras.get("albedo"))
            meshes = []
            for h in rec["hands"]:
                j = h["index"]
                v = absolute_vertices(out, i, j)
                if v is None:
                    v = out.vertices[i, j].detach().double().cpu().numpy()
                col = None
                if vc is not None and tuple(vc.shape[:2]) == tuple(out.valid.shape) and vc.ndim == 4:
                    col = vc[i, j].detach().cpu().numpy() if hasattr(vc, "detach") else np.asarray(vc)[i, j]
                left = int(out.side[i, j]) == LEFT
                f, flip = faces, left
                if left and faces_left is not None:
                    f, flip = (
                        np.asarray(faces_left.detach().cpu() if hasattr(faces_left, "detach") else faces_left),
                        False,
                    )
                p = write_mesh(
                    self.out_dir / f"{stem}_hand{j}_{h['side']}.{self.save_mesh}", v, f, left=flip, colors=col
                )
                meshes.append(str(p))
            files["meshes"] = meshes
        overlay = render_overlay(image, out, i, boxes) if self.overlays else None
        return files, overlay


def _chunks(frames: Iterator[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    buf: list[np.ndarray] = []
    for frame in frames:
        buf.append(frame)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


def _find(
    model: Any, detector: Any, images: list[np.ndarray], entries: list[dict[str, np.ndarray] | None]
) -> tuple[list, list]:
    missing = [k for k, e in enumerate(entries) if e is None]
    found = detector.detect([images[k] for k in missing]) if missing else []
    boxes, sides = [], []
    it = iter(found)
    for e in entries:
        if e is None:
            d = next(it)
            boxes.append(d.boxes)
            sides.append(d.sides)
        else:
            boxes.append(e["boxes"])
            sides.append(e.get("sides", np.zeros(len(e["boxes"]), np.int64)))
    return boxes, sides


def _empty_output(num_images: int) -> HandOutput:
    z = torch.zeros(num_images, 0)
    return HandOutput(
        joints3d=torch.zeros(num_images, 0, 21, 3), side=z.long(), score=z, valid=z.bool(), root_relative=True
    )


def _stream_batch(
    model: Any, history: FrameHistory, images: list[np.ndarray], boxes: list, sides: list, still: bool
) -> HandOutput:
    """A multi-frame model on consecutive frames (or, ``still``, unrelated images): one call over
    every hand's frame triple, regrouped into hands per frame."""
    triples, frame_of, slot_of = [], [], []
    for m, image in enumerate(images):
        if still:
            history.reset()  # a still image: its own history (three times itself)
        for a, tr in enumerate(history.step(image, boxes[m], sides[m])):
            triples.append(tr)
            frame_of.append(m)
            slot_of.append(a)
    if not triples:
        return _empty_output(len(images))
    out = model.predict(
        [t.images for t in triples], boxes=np.stack([t.boxes for t in triples]), sides=[t.side for t in triples]
    )
    dev = out.joints3d.device
    out.extras["track"] = torch.tensor([[t.track] for t in triples], device=dev)
    out.extras["frame_offsets"] = torch.tensor([[t.frame_offsets] for t in triples], device=dev)
    return regroup(out, frame_of, slot_of, len(images))


def predict(
    model: Any,
    inputs: list[str],
    out_dir: str | Path,
    *,
    boxes_file: str | Path | None = None,
    detector: str | None = None,
    save_mesh: str | None = None,
    batch_size: int = 8,
    overlays: bool = True,
    progress: bool = False,
    max_frames: int | None = None,
    frame_offsets: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Run a model over images, folders, videos or webcams and write the results.

    For each image ``STEM``: ``STEM.json`` (every HandOutput field of each hand, plus the boxes),
    ``STEM.png`` (mesh, skeleton and boxes over the image, with a side view) and, with
    ``save_mesh``, ``STEM_hand{j}_{side}.obj|ply|glb`` (written with trimesh; vertex colours when
    the method predicts them, e.g. SMHR's texture; left hands wound outward). For each video: ``STEM/frame_NNNNNN.json``
    (and meshes) and ``STEM.mp4`` of the overlays.

    Args:
        model: a loaded :class:`~handzoo.interfaces.Method`.
        inputs: paths (images, videos, folders) or webcam indices.
        out_dir: output folder (created).
        boxes_file: JSON of boxes per image (see :func:`~handzoo.predict.readers.read_boxes_file`);
            images it does not name go to the detector.
        detector: detector name (see :func:`~handzoo.predict.detectors.make_detector`).
        save_mesh: ``'obj'``, ``'ply'``, ``'glb'`` or None.
        batch_size: images per model call.
        overlays: write overlay pictures and videos.
        progress: show a progress bar on stderr.
        max_frames: stop each video/webcam after this many frames (a webcam needs it or Ctrl-C).
        frame_offsets: ``(short, long)`` for a multi-frame model (``model.multi_frame``, e.g.
            H2ONet-MF), which runs in streaming mode: each hand's frames ``(t, t-short, t-long)``
            come from a ring buffer per hand track (see :mod:`handzoo.predict.stream`); a still
            image is its own three frames. Default ``model.frame_offsets``, else (5, 10).

    Returns:
        A summary: counts, seconds and the files written per input.

    Raises:
        InputError: for missing, unreadable or corrupt inputs and malformed boxes files.
    """
    from handzoo.errors import ConfigError

    if save_mesh is not None and save_mesh not in MESH_FORMATS:
        raise ConfigError(f"--save-mesh must be one of {', '.join(MESH_FORMATS)}, got {save_mesh!r}")
    if batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {batch_size}")
    t0 = time.perf_counter()
    sources = collect_sources([str(x) for x in inputs])
    table = read_boxes_file(boxes_file) if boxes_file is not None else {}
    det = make_detector(detector, model)
    out_root = Path(out_dir)
    out_root.mkdir(parents=True, exist_ok=True)
    writer = _Writer(out_root, save_mesh, overlays)
    counts = [1 if s.kind == "image" else _frame_count(s) for s in sources]
    total = None if any(c is None for c in counts) else int(sum(counts))  # type: ignore[arg-type]
    results: list[dict[str, Any]] = []
    n_images = n_frames = 0

    multi_frame = bool(getattr(model, "multi_frame", False))
    short, long = frame_offsets or getattr(model, "frame_offsets", None) or DEFAULT_FRAME_OFFSETS
    history = FrameHistory(short, long) if multi_frame else None

    def run_batch(images: list[np.ndarray], entries: list, still: bool = True) -> tuple[Any, list, list]:
        if history is not None:
            boxes, sides = _find(model, det, images, entries)
            return _stream_batch(model, history, images, boxes, sides, still), boxes, sides
        if det is model and all(e is None for e in entries):
            # a multi-hand method finds its hands in the same call (one pass, not detect + predict)
            out = model.predict(images)
            eb = (out.extras or {}).get("boxes")
            valid = out.valid.cpu().numpy()
            boxes = [
                eb[i].detach().double().cpu().numpy()[valid[i]] if eb is not None else np.zeros((0, 4))
                for i in range(len(images))
            ]
            return out, boxes, [out.side[i].cpu().numpy()[valid[i]] for i in range(len(images))]
        boxes, sides = _find(model, det, images, entries)
        out = model.predict(images, boxes=boxes, sides=sides)
        return out, boxes, sides

    with _progress(progress, total) as advance:
        images_src = [s for s in sources if s.kind == "image"]
        for k in range(0, len(images_src), batch_size):
            chunk = images_src[k : k + batch_size]
            imgs = [read_image(s.path) for s in chunk]  # type: ignore[arg-type]
            out, boxes, _ = run_batch(imgs, [lookup_boxes(table, s, None) for s in chunk])
            for i, s in enumerate(chunk):
                files, ov = writer.write(imgs[i], out, i, s.name, boxes[i])
                if ov is not None:
                    from handzoo.render import save_png

                    files["overlay"] = str(save_png(out_root / f"{s.name}.png", ov))
                results.append({"input": str(s.path), **files})
                advance(1)
            n_images += len(chunk)
        for s in sources:
            if s.kind == "image":
                continue
            fps, frames = iter_frames(s, max_frames)
            sink = VideoSink(out_root / f"{s.name}.mp4", fps) if overlays else None
            if history is not None:
                history.reset()  # each video streams from its own first frame
            written: list[str] = []
            idx = 0
            try:
                for chunk in _chunks(frames, batch_size):
                    entries = [lookup_boxes(table, s, idx + m) for m in range(len(chunk))]
                    out, boxes, _ = run_batch(chunk, entries, still=False)
                    for m, frame in enumerate(chunk):
                        files, ov = writer.write(frame, out, m, f"{s.name}/frame_{idx + m:06d}", boxes[m])
                        written.append(files["json"])
                        if sink is not None and ov is not None:
                            sink.write(ov)
                        advance(1)
                    idx += len(chunk)
            finally:
                if sink is not None:
                    sink.close()
            n_frames += idx
            item: dict[str, Any] = {"input": str(s.path) if s.path else s.name, "frames": idx, "json": written}
            if sink is not None and sink.frames:
                item["video"] = str(sink.path)
            results.append(item)
    card = getattr(model, "card", None)
    return {
        "model": getattr(card, "name", None) or type(model).__name__,
        "detector": type(det).__name__,
        "out_dir": str(out_root),
        "images": n_images,
        "videos": sum(1 for s in sources if s.kind != "image"),
        "frames": n_frames,
        "hands": writer.hands,
        "streaming_frame_offsets": [history.short, history.long] if history is not None else None,
        "seconds": round(time.perf_counter() - t0, 3),
        "outputs": results,
    }
