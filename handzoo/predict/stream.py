"""Streaming for multi-frame methods (H2ONet-MF): past frames per hand track, frame triples out.

A multi-frame method (``model.multi_frame``) predicts the hand of frame ``t`` from the frames
``(t, t - short, t - long)``, each cropped with that frame's own box of the same hand.
:class:`FrameHistory` keeps, for every hand track, a ring buffer of its last ``long + 1``
(frame, box) pairs; hands of a new frame join the track of the previous frame whose box overlaps
most (same side, IoU above a threshold), or start a new track. The frames of frame ``t`` of a
track follow the authors' test-time rule: ``t - short`` and ``t - long`` once ``t >= long``,
before that ``t - t // 2`` and the track's first frame (a still image: three times itself).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from handzoo.errors import ConfigError
from handzoo.types import HandOutput, HandSlots

__all__ = ["DEFAULT_FRAME_OFFSETS", "FrameHistory", "Triple", "frame_offsets", "regroup"]

DEFAULT_FRAME_OFFSETS = (5, 10)  # DexYCB's short / long offsets (HO3D: 30 / 60)


def frame_offsets(t: int, short: int, long: int) -> tuple[int, int]:
    """How many frames back the short- and long-term frames of a track's frame ``t`` are."""
    if t < long:
        return t // 2, t
    return short, long


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) x (M, 4) ``xyxy`` boxes -> (N, M) intersection over union."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: np.clip(x[:, 2:] - x[:, :2], 0, None).prod(-1)  # noqa: E731
    union = area(a)[:, None] + area(b)[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


@dataclass
class Triple:
    """The three frames (t, t-short, t-long) of one hand, with each frame's box of that hand."""

    images: list[np.ndarray]
    boxes: np.ndarray  # (3, 4) xyxy
    side: int
    track: int
    frame_offsets: tuple[int, int]


@dataclass
class _Track:
    side: int
    past: deque = field(default_factory=deque)  # (image, box) of its last long + 1 frames
    t: int = 0
    box: np.ndarray | None = None


class FrameHistory:
    """Ring buffers of past frames per hand track (one per video).

    Args:
        short: short-term offset in frames.
        long: long-term offset in frames (> short).
        iou_threshold: the least box overlap with a track's last box to continue it.
    """

    def __init__(
        self, short: int = DEFAULT_FRAME_OFFSETS[0], long: int = DEFAULT_FRAME_OFFSETS[1], iou_threshold: float = 0.3
    ) -> None:
        if not 0 < int(short) < int(long):
            raise ConfigError(
                f"frame offsets need 0 < short < long, got short={short}, long={long}",
                hint="e.g. --frame-offsets 5 10 (DexYCB) or 30 60 (HO3D)",
            )
        self.short, self.long, self.iou_threshold = int(short), int(long), float(iou_threshold)
        self._tracks: dict[int, _Track] = {}
        self._next = 0

    def reset(self) -> None:
        """Forget every track (a new video)."""
        self._tracks.clear()
        self._next = 0

    def _match(self, boxes: np.ndarray, sides: np.ndarray) -> list[int]:
        live = [k for k, tr in self._tracks.items() if tr.box is not None]
        ids = [-1] * len(boxes)
        if live and len(boxes):
            iou = _iou(boxes, np.stack([self._tracks[k].box for k in live]))
            for a, b in zip(*np.unravel_index(np.argsort(-iou, axis=None), iou.shape)):  # greedy, best first
                k = live[b]
                if iou[a, b] < self.iou_threshold:
                    break
                if ids[a] < 0 and k not in ids and self._tracks[k].side == int(sides[a]):
                    ids[a] = k
        for a in range(len(boxes)):
            if ids[a] < 0:
                ids[a] = self._next
                self._tracks[self._next] = _Track(side=int(sides[a]), past=deque(maxlen=self.long + 1))
                self._next += 1
        return ids

    def step(self, image: np.ndarray, boxes: Any, sides: Any) -> list[Triple]:
        """Add one frame with its hands; return each hand's frame triple (in ``boxes`` order)."""
        b = np.asarray(boxes, np.float64).reshape(-1, 4)
        s = np.asarray(sides, np.int64).reshape(-1) if sides is not None else np.zeros(len(b), np.int64)
        ids = self._match(b, s)
        for k, tr in self._tracks.items():  # a track without a hand in this frame stops here
            if k not in ids:
                tr.box = None
        out = []
        for a, k in enumerate(ids):
            tr = self._tracks[k]
            tr.past.append((image, b[a]))
            tr.box = b[a]
            back_s, back_l = frame_offsets(tr.t, self.short, self.long)
            tr.t += 1
            frames = [tr.past[-1], tr.past[-1 - back_s], tr.past[-1 - back_l]]
            out.append(
                Triple(
                    images=[f[0] for f in frames],
                    boxes=np.stack([f[1] for f in frames]),
                    side=int(s[a]),
                    track=k,
                    frame_offsets=(back_s, back_l),
                )
            )
        # tracks that ended are dropped (their buffers freed)
        self._tracks = {k: tr for k, tr in self._tracks.items() if tr.box is not None}
        return out


def regroup(out: HandOutput, frame_of: list[int], slot_of: list[int], num_frames: int) -> HandOutput:
    """One hand per sample (a multi-frame call over triples) -> hands per frame.

    Args:
        out: the output of ``N`` triples, one hand each (``(N, 1, ...)``).
        frame_of: (N,) the frame of each triple.
        slot_of: (N,) the hand's position among its frame's hands.
        num_frames: ``B`` of the result.
    """
    h = max(slot_of, default=-1) + 1
    n = out.batch_size
    slots = HandSlots(frame_of, slot_of, num_frames, h, device=out.joints3d.device)

    def pad(x: Any, fill: float = 0.0) -> Any:
        if torch.is_tensor(x) and x.dim() >= 2 and tuple(x.shape[:2]) == (n, 1):
            return slots.pad(x[:, 0], fill)
        return x

    return HandOutput(
        joints3d=pad(out.joints3d),
        side=pad(out.side),
        score=pad(out.score),
        valid=pad(out.valid, False) if out.valid.dtype == torch.bool else pad(out.valid),
        joints2d=pad(out.joints2d),
        vertices=pad(out.vertices),
        faces=out.faces,
        mano={k: pad(v) for k, v in out.mano.items()} if out.mano else out.mano,
        cam_t=pad(out.cam_t),
        root_relative=out.root_relative,
        extras={k: pad(v) for k, v in (out.extras or {}).items()},
    )
