"""Shared data containers: what every method returns and what every dataset yields.

Conventions (see also docs/architecture.md): metres; OpenCV camera frame (x right, y down, z forward); joints in
the canonical ``handzoo21`` order (wrist, thumb 1-4, index 1-4, middle 1-4, ring 1-4, pinky 1-4,
base to tip); hand side coded as :data:`RIGHT` (0) and :data:`LEFT` (1).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import torch

__all__ = ["RIGHT", "LEFT", "SIDE_NAMES", "side_code", "HandOutput", "HandSlots", "Sample"]

RIGHT = 0
LEFT = 1
SIDE_NAMES = ("right", "left")


def side_code(side: str | int) -> int:
    """Return the integer code of a hand side given as ``'right'``/``'left'`` or 0/1.

    Raises:
        ValueError: if ``side`` is neither.
    """
    if isinstance(side, str):
        s = side.lower()
        if s in ("right", "r"):
            return RIGHT
        if s in ("left", "l"):
            return LEFT
    elif side in (RIGHT, LEFT):
        return int(side)
    raise ValueError(f"hand side must be 'right' or 'left', got {side!r}")


def _map_tensors(obj: Any, fn) -> Any:
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_tensors(v, fn) for v in obj)
    return obj


@dataclass
class HandOutput:
    """Hands predicted for a batch of images, padded over hands.

    ``B`` is the batch size, ``H`` the (padded) number of hands per image, ``V`` the number of
    mesh vertices. Every tensor lives on the model's device.

    Attributes:
        joints3d: (B, H, 21, 3) metres, OpenCV camera frame, or root-relative (wrist at the
            origin) when ``root_relative`` is True.
        joints2d: (B, H, 21, 2) pixel coordinates in the input image, or None.
        side: (B, H) int64, :data:`RIGHT` or :data:`LEFT`.
        score: (B, H) float confidence in [0, 1].
        valid: (B, H) bool, False for padding.
        vertices: (B, H, V, 3) in the same frame as ``joints3d``, or None.
        faces: (F, 3) int64 triangle indices into ``vertices``, or None.
        mano: dict with ``global_orient`` (B,H,3), ``hand_pose`` (B,H,45), ``betas`` (B,H,10)
            axis-angle in the hand model's own convention, or None.
        cam_t: (B, H, 3) camera-frame translation of the hand model, or None.
        root_relative: True when the method predicts no absolute translation.
        extras: method-specific outputs (segmentation, occlusion, heatmaps, ...).
    """

    joints3d: torch.Tensor
    side: torch.Tensor
    score: torch.Tensor
    valid: torch.Tensor
    joints2d: torch.Tensor | None = None
    vertices: torch.Tensor | None = None
    faces: torch.Tensor | None = None
    mano: dict[str, torch.Tensor] | None = None
    cam_t: torch.Tensor | None = None
    root_relative: bool = False
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        j = self.joints3d
        if j.ndim != 4 or j.shape[-2:] != (21, 3):
            raise ValueError(f"HandOutput.joints3d must be (B, H, 21, 3), got {tuple(j.shape)}")
        bh = tuple(j.shape[:2])
        for name in ("side", "score", "valid"):
            t = getattr(self, name)
            if tuple(t.shape) != bh:
                raise ValueError(f"HandOutput.{name} must be {bh}, got {tuple(t.shape)}")
        if self.joints2d is not None and tuple(self.joints2d.shape) != bh + (21, 2):
            raise ValueError(f"HandOutput.joints2d must be {bh + (21, 2)}, got {tuple(self.joints2d.shape)}")
        if self.vertices is not None and (self.vertices.ndim != 4 or tuple(self.vertices.shape[:2]) != bh):
            raise ValueError(f"HandOutput.vertices must be {bh + ('V', 3)}, got {tuple(self.vertices.shape)}")

    @property
    def batch_size(self) -> int:
        """Number of images."""
        return int(self.joints3d.shape[0])

    @property
    def max_hands(self) -> int:
        """Padded number of hands per image."""
        return int(self.joints3d.shape[1])

    @property
    def device(self) -> torch.device:
        """Device of the tensors."""
        return self.joints3d.device

    def to(self, *args: Any, **kwargs: Any) -> HandOutput:
        """Return a copy with every tensor moved/cast like ``Tensor.to`` (floats only are cast)."""

        def move(t: torch.Tensor) -> torch.Tensor:
            if t.is_floating_point():
                return t.to(*args, **kwargs)
            dev = kwargs.get("device", next((a for a in args if isinstance(a, (str, torch.device))), None))
            return t.to(dev) if dev is not None else t

        return replace(self, **{f.name: _map_tensors(getattr(self, f.name), move) for f in fields(self)})

    def cpu(self) -> HandOutput:
        """Return a copy on the CPU."""
        return self.to("cpu")

    def detach(self) -> HandOutput:
        """Return a copy with every tensor detached from the autograd graph."""
        return replace(self, **{f.name: _map_tensors(getattr(self, f.name), torch.Tensor.detach) for f in fields(self)})

    def __getitem__(self, index: int | slice) -> HandOutput:
        """Select images along the batch dimension (``faces`` is shared and kept whole)."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)

        def take(t: torch.Tensor) -> torch.Tensor:
            return t[index] if t.ndim >= 1 and t.shape[0] == self.batch_size else t

        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v if f.name == "faces" else _map_tensors(v, take)
        return HandOutput(**out)

    @staticmethod
    def cat(outputs: list[HandOutput]) -> HandOutput:
        """Concatenate outputs along the batch dimension, padding the hand dimension."""
        if not outputs:
            raise ValueError("HandOutput.cat needs at least one output")
        h = max(o.max_hands for o in outputs)

        def pad(t: torch.Tensor | None, value: float = 0) -> torch.Tensor | None:
            if t is None or t.shape[1] == h:
                return t
            shape = list(t.shape)
            shape[1] = h - t.shape[1]
            return torch.cat([t, t.new_full(shape, value)], dim=1)

        def cat_field(name: str) -> Any:
            vals = [getattr(o, name) for o in outputs]
            if vals[0] is None:
                return None
            if isinstance(vals[0], torch.Tensor):
                return torch.cat([pad(v) for v in vals], 0)
            if isinstance(vals[0], dict):
                return {k: cat_dict(k, [v[k] for v in vals]) for k in vals[0]}
            return vals[0]

        def cat_dict(key: str, vals: list[Any]) -> Any:
            if isinstance(vals[0], torch.Tensor) and all(v.ndim >= 2 for v in vals):
                return torch.cat([pad(v) for v in vals], 0)
            if isinstance(vals[0], torch.Tensor):
                return torch.cat(vals, 0)
            return vals

        first = outputs[0]
        return HandOutput(
            joints3d=cat_field("joints3d"),
            side=cat_field("side"),
            score=cat_field("score"),
            valid=cat_field("valid"),
            joints2d=cat_field("joints2d"),
            vertices=cat_field("vertices"),
            faces=first.faces,
            mano=cat_field("mano"),
            cam_t=cat_field("cam_t"),
            root_relative=first.root_relative,
            extras=cat_field("extras") or {},
        )


class HandSlots:
    """Where each hand of a flat ``(N, ...)`` batch goes in :class:`HandOutput`'s padded ``(B, H, ...)`` layout.

    Args:
        image_index: (N,) image of each hand.
        slot: (N,) position of each hand among its image's hands.
        num_images: ``B``.
        max_hands: ``H``.
        device: where the index tensors live (the model's outputs' device).
    """

    def __init__(self, image_index: Any, slot: Any, num_images: int, max_hands: int, device: Any = None) -> None:
        self.index = torch.as_tensor(image_index, device=device)
        self.slot = torch.as_tensor(slot, device=device)
        self.shape = (int(num_images), int(max_hands))

    def pad(self, x: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
        """``(N, ...)`` per-hand values as ``(B, H, ...)``, ``fill`` where an image has no such hand."""
        out = x.new_full((*self.shape, *x.shape[1:]), fill)
        out[self.index, self.slot] = x
        return out


@dataclass
class Sample:
    """One dataset sample in handzoo conventions (numpy, not batched).

    ``N`` is the number of annotated hands in the image (1 for single-hand datasets).

    Attributes:
        image: (H, W, 3) uint8 RGB.
        K: (3, 3) float32 camera intrinsics of ``image``.
        side: (N,) int64 :data:`RIGHT`/:data:`LEFT`.
        joints3d: (N, 21, 3) float32 metres, OpenCV camera frame, ``handzoo21`` order, or None.
        joints2d: (N, 21, 2) float32 pixels, or None.
        joints_valid: (N, 21) bool (which joints are annotated).
        vertices: (N, V, 3) float32 metres, or None.
        mano: dict of (N, ...) float32 arrays (``global_orient``, ``hand_pose``, ``betas``,
            ``transl``) in MANO axis-angle, or None.
        bbox: (N, 4) float32 ``x0, y0, x1, y1`` pixels.
        hand_valid: (N,) bool.
        mask: (H, W) uint8 hand mask, or None.
        meta: raw fields the dataset's protocol needs (ids, original order/frame values, ...).
    """

    image: np.ndarray
    K: np.ndarray
    side: np.ndarray
    bbox: np.ndarray
    hand_valid: np.ndarray
    joints3d: np.ndarray | None = None
    joints2d: np.ndarray | None = None
    joints_valid: np.ndarray | None = None
    vertices: np.ndarray | None = None
    mano: dict[str, np.ndarray] | None = None
    mask: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_hands(self) -> int:
        """Number of annotated hands."""
        return int(len(self.side))
