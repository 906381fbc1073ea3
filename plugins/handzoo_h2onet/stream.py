"""Streaming multi-frame H2ONet for video: keeps the past frames and picks them as the authors.

Frame selection (the authors' DexYCB/HO3D test loaders): for frame index ``t`` (0 = first frame
of the stream) the short-term frame is ``t - short`` and the long-term frame ``t - long``; while
``t < long`` they are ``t - t // 2`` and the first frame. Each frame is cropped with its own box.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import torch

from handzoo.errors import ConfigError
from handzoo.query import make_query
from handzoo.types import HandOutput

from .model import INPUT_SIZE, H2ONetMF
from .preprocess import crop_hands

__all__ = ["H2ONetStream", "frame_offsets"]


def frame_offsets(t: int, short: int, long: int) -> tuple[int, int]:
    """How many frames back the short- and long-term frames of frame ``t`` are."""
    if t < long:
        return t // 2, t
    return short, long


class H2ONetStream:
    """Run :class:`~handzoo_h2onet.model.H2ONetMF` frame by frame.

    Args:
        model: a multi-frame H2ONet.
        short: short-term offset in frames (DexYCB 5, HO3D 30).
        long: long-term offset in frames (DexYCB 10, HO3D 60).

    Example:
        >>> stream = H2ONetStream(model)            # doctest: +SKIP
        >>> for frame, box in video:                # doctest: +SKIP
        ...     hands = stream.push(frame, box=box)
    """

    def __init__(self, model: H2ONetMF, short: int = 5, long: int = 10) -> None:
        if not isinstance(model, H2ONetMF):
            raise ConfigError("H2ONetStream needs a multi-frame H2ONet (H2ONetMF)")
        if not 0 < short < long:
            raise ConfigError(f"need 0 < short < long, got short={short}, long={long}")
        self.model, self.short, self.long = model, short, long
        self._frames: deque[torch.Tensor] = deque(maxlen=long + 1)
        self._t = 0

    def reset(self) -> None:
        """Forget the past frames (start of a new video)."""
        self._frames.clear()
        self._t = 0

    @property
    def frame_index(self) -> int:
        """Index the next pushed frame will get."""
        return self._t

    def push(
        self, image: Any, box: Any = None, joints2d: Any = None, side: Any = "right", root: Any = None
    ) -> HandOutput:
        """Add one frame and return the hand of that frame.

        Args:
            image: the frame (RGB uint8 array, PIL image, path or tensor).
            box: (4,) ``xyxy`` tight hand box, or None.
            joints2d: (21, 2) pixels (crop rule of the authors), or None.
            side: ``'right'`` or ``'left'``.
            root: optional (3,) camera-frame wrist position for absolute output.
        """
        m = self.model
        query = make_query(
            [image],
            None if box is None else [box],
            joints2d=None if joints2d is None else [joints2d],
            sides=side,
            root=None if root is None else [root],
        )
        crop, meta = crop_hands(query, INPUT_SIZE, m.joint_regressor.device)
        self._frames.append(crop)
        back_s, back_l = frame_offsets(self._t, self.short, self.long)
        self._t += 1
        frames = list(self._frames)
        batch = {"img_0": crop, "img_1": frames[-1 - back_s], "img_2": frames[-1 - back_l]}
        with torch.inference_mode():
            raw = torch.nn.Module.__call__(m, batch)
            return m.postprocess(raw, {"crop": meta, "root": m._root(query, [(0, 0)])})
