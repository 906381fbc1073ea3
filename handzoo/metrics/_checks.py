"""Input coercion and validation shared by the metric functions.

Metrics accept numpy arrays, torch tensors or nested lists and compute in float64 (the official
scripts are numpy float64; anything coarser would break equality with them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from handzoo.errors import InputError

__all__ = ["as_float64", "as_points", "as_mask", "check_same_shape", "check_finite"]


def as_float64(x: Any, name: str) -> torch.Tensor:
    """Return ``x`` as a float64 tensor (same device when ``x`` is already a tensor).

    Raises:
        InputError: when ``x`` is not numeric.
    """
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise InputError(f"{name} must be real-valued, got dtype {x.dtype}")
        return x.detach().to(torch.float64)
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{name} is not a numeric array ({exc})",
            hint="pass a numpy array, a torch tensor or nested lists of numbers",
        ) from None
    return torch.from_numpy(np.ascontiguousarray(arr))


def as_points(x: Any, name: str, min_dim: int = 2) -> torch.Tensor:
    """Return ``x`` as a float64 tensor of shape (..., N, 3).

    Raises:
        InputError: for a wrong rank or a last axis that is not 3.
    """
    t = as_float64(x, name)
    if t.dim() < min_dim or t.shape[-1] != 3:
        raise InputError(
            f"{name} must have shape (..., N, 3) with at least {min_dim} axes, got {tuple(t.shape)}",
            hint="points are the last two axes: N points of (x, y, z)",
        )
    return t


def as_mask(mask: Any, shape: tuple[int, ...], name: str, device: torch.device) -> torch.Tensor:
    """Return a bool mask of exactly ``shape`` (all True when ``mask`` is None).

    Raises:
        InputError: when the mask shape differs.
    """
    if mask is None:
        return torch.ones(shape, dtype=torch.bool, device=device)
    m = mask.detach() if isinstance(mask, torch.Tensor) else torch.from_numpy(np.asarray(mask))
    if tuple(m.shape) != tuple(shape):
        raise InputError(f"{name} must have shape {tuple(shape)}, got {tuple(m.shape)}")
    return m.to(device=device).bool()


def check_same_shape(a: torch.Tensor, b: torch.Tensor, name_a: str = "pred", name_b: str = "gt") -> None:
    """Raise InputError unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise InputError(f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def check_finite(x: torch.Tensor, name: str) -> None:
    """Raise InputError naming the first sample (index on axis 0) that holds NaN or inf."""
    bad = ~torch.isfinite(x)
    if bool(bad.any()):
        first = int(bad.reshape(x.shape[0], -1).any(1).nonzero()[0, 0]) if x.dim() > 1 else int(bad.nonzero()[0, 0])
        raise InputError(
            f"{name} contains NaN or inf values (first at sample {first})",
            hint="check the prediction for that sample; every coordinate must be a finite number",
        )
