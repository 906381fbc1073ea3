"""Batching :class:`~handzoo.types.Sample` objects for ``torch.utils.data.DataLoader``.

Hands are padded to the largest count in the batch (as :class:`~handzoo.types.HandOutput` is):
``hand_mask`` tells real hands from padding and padding has ``hand_valid = False``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from handzoo.errors import InputError
from handzoo.types import Sample

__all__ = ["collate_samples"]


def _pad(arrays: Sequence[np.ndarray | None], h: int, fill: float | bool = 0) -> torch.Tensor | None:
    """Stack per-sample (N_i, ...) arrays into (B, h, ...), padding the hand axis with ``fill``."""
    if any(a is None for a in arrays):
        return None
    shapes = {a.shape[1:] for a in arrays}
    if len(shapes) != 1:
        return None
    tail = shapes.pop()
    dtype = arrays[0].dtype
    out = np.full((len(arrays), h, *tail), fill, dtype=dtype)
    for i, a in enumerate(arrays):
        out[i, : a.shape[0]] = a
    return torch.from_numpy(out)


def collate_samples(samples: Sequence[Sample], max_hands: int | None = None) -> dict[str, Any]:
    """Collate samples into a dict of batched tensors padded over hands.

    Args:
        samples: the samples of one batch.
        max_hands: pad to this many hands (default: the most in the batch); samples with more
            hands are an error.

    Returns:
        ``image`` (B, H, W, 3) uint8 tensor (a list of tensors when sizes differ), ``K`` (B, 3, 3),
        ``side`` / ``hand_valid`` / ``hand_mask`` (B, Hn), ``num_hands`` (B,), ``bbox`` (B, Hn, 4),
        ``joints3d`` (B, Hn, 21, 3), ``joints2d`` (B, Hn, 21, 2), ``joints_valid`` (B, Hn, 21),
        ``vertices`` (B, Hn, V, 3), ``mano`` dict of (B, Hn, ...), ``mask`` (B, H, W) — each None
        when some sample lacks it — and ``meta`` (list of dicts).
    """
    if not samples:
        raise InputError("collate_samples needs at least one sample")
    counts = [s.num_hands for s in samples]
    h = max(counts) if max_hands is None else int(max_hands)
    if max(counts) > h:
        raise InputError(f"a sample has {max(counts)} hands, more than max_hands={h}")
    images = [torch.from_numpy(np.ascontiguousarray(s.image)) for s in samples]
    same = len({tuple(im.shape) for im in images}) == 1
    masks = [s.mask for s in samples]
    mask = None
    if all(m is not None for m in masks) and len({m.shape for m in masks}) == 1:
        mask = torch.from_numpy(np.stack(masks))
    mano = None
    if all(s.mano is not None for s in samples):
        keys = set(samples[0].mano)
        if all(set(s.mano) == keys for s in samples):
            mano = {k: _pad([s.mano[k] for s in samples], h) for k in sorted(keys)}
            if any(v is None for v in mano.values()):
                mano = None
    hand_mask = torch.zeros(len(samples), h, dtype=torch.bool)
    for i, c in enumerate(counts):
        hand_mask[i, :c] = True
    return {
        "image": torch.stack(images) if same else images,
        "K": torch.from_numpy(np.stack([np.asarray(s.K, np.float32) for s in samples])),
        "side": _pad([np.asarray(s.side, np.int64) for s in samples], h, 0),
        "hand_valid": _pad([np.asarray(s.hand_valid, bool) for s in samples], h, False),
        "hand_mask": hand_mask,
        "num_hands": torch.tensor(counts, dtype=torch.long),
        "bbox": _pad([np.asarray(s.bbox, np.float32) for s in samples], h, 0.0),
        "joints3d": _pad([s.joints3d for s in samples], h, 0.0),
        "joints2d": _pad([s.joints2d for s in samples], h, 0.0),
        "joints_valid": _pad([s.joints_valid for s in samples], h, False),
        "vertices": _pad([s.vertices for s in samples], h, 0.0),
        "mano": mano,
        "mask": mask,
        "meta": [s.meta for s in samples],
    }
