"""Small helpers shared by the protocol implementations."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from handzoo.errors import InputError
from handzoo.geometry.joint_orders import order_map
from handzoo.metrics._checks import as_float64, check_finite
from handzoo.protocols.base import nan, size_note

__all__ = ["rows", "optional_rows", "reorder", "all_valid", "size_note", "nan"]


def rows(x: Any, name: str, n_points: int | None = None, n_rows: int | None = None) -> torch.Tensor:
    """``x`` as a finite float64 (M, P, 3) tensor, checking P and M when given.

    Raises:
        InputError: wrong shape, row count or non-finite values.
    """
    t = as_float64(x, name)
    if t.dim() != 3 or t.shape[-1] != 3 or (n_points is not None and t.shape[1] != n_points):
        want = f"(M, {n_points}, 3)" if n_points is not None else "(M, P, 3)"
        raise InputError(f"{name} must have shape {want}, got {tuple(t.shape)}")
    if n_rows is not None and t.shape[0] != n_rows:
        raise InputError(f"{name} has {t.shape[0]} rows, expected {n_rows} (one per ground-truth hand)")
    check_finite(t, name)
    return t


def optional_rows(x: Any, name: str, n_rows: int) -> torch.Tensor | None:
    """Like :func:`rows` for optional vertices (None stays None)."""
    return None if x is None else rows(x, name, None, n_rows)


def reorder(joints: torch.Tensor, dst: str, src: str = "handzoo21") -> torch.Tensor:
    """Reorder the joint axis from ``src`` to ``dst`` (a no-op for identical orders)."""
    idx = order_map(src, dst)
    if idx == tuple(range(len(idx))):
        return joints
    return joints[..., list(idx), :]


def all_valid(mask: Any) -> bool:
    """True when ``mask`` is None or holds no False."""
    return mask is None or bool(np.asarray(mask.cpu() if isinstance(mask, torch.Tensor) else mask).all())
