"""Device-readiness checks for a method's forward: host tensors and host syncs, and bf16 autocast.

A forward that creates a CPU tensor (``torch.tensor(...)`` without a device, a Python-built
constant), copies between host and device, or reads a value back to the host (``.item()``,
``nonzero``, a boolean mask index, ``if tensor:``) cannot run inside a CUDA graph and stalls the
GPU's queue. :func:`host_ops_of_forward` runs the forward on the ``meta`` device, where any such op
shows up (as an op with a CPU tensor or device among its arguments, or as ``nonzero`` /
``_local_scalar_dense``) without needing a GPU.

Example:
    >>> ops = host_ops_of_forward(model, {"img": torch.empty(2, 3, 128, 128)})  # doctest: +SKIP
    >>> assert ops == []                                                          # doctest: +SKIP
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

__all__ = ["HostOpRecorder", "host_ops_of_forward", "max_abs_diff"]

_SYNC_OPS = ("_local_scalar_dense", "nonzero", "item")


class HostOpRecorder(TorchDispatchMode):
    """Record every op that touches a CPU tensor or device, or reads a value back to the host.

    Attributes:
        ops: the recorded op names, in call order.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, D105
        name = str(func)
        if any(s in name for s in _SYNC_OPS):
            self.ops.append(name)  # recorded before running: the meta device refuses some of them
        out = func(*args, **(kwargs or {}))
        leaves = tree_leaves((args, kwargs or {}, out))
        host = any(isinstance(x, torch.Tensor) and x.device.type == "cpu" for x in leaves) or any(
            isinstance(x, torch.device) and x.type == "cpu" for x in leaves
        )
        if host and name not in self.ops[-1:]:
            self.ops.append(name)
        return out


def host_ops_of_forward(
    module: torch.nn.Module,
    batch: Mapping[str, torch.Tensor],
    prepare: Callable[[torch.nn.Module], Any] | None = None,
) -> list[str]:
    """Ops of ``module(batch)`` that would touch the host, run on a ``meta`` copy of the module.

    Args:
        module: the model (not modified: a deep copy moves to ``meta``).
        batch: the forward's input dict (shapes and dtypes matter, not values; moved to ``meta``).
        prepare: optional ``f(meta_copy)`` run before the forward (e.g. to re-link tensors that
            a model keeps outside its parameters).

    Returns:
        The recorded op names (empty when the forward is free of host tensors and syncs).
    """
    m = copy.deepcopy(module).to("meta")
    if prepare is not None:
        prepare(m)
    meta = {k: (v.to("meta") if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
    with torch.inference_mode(), HostOpRecorder() as rec:
        torch.nn.Module.__call__(m, meta)
    return rec.ops


def max_abs_diff(out: Mapping[str, Any], ref: Mapping[str, Any], keys: Any) -> dict[str, float]:
    """``max |out[k] - ref[k]|`` (in float32) per key: a bf16-vs-float32 comparison's figures."""
    return {k: float((out[k].float() - ref[k].float()).abs().max()) for k in keys}
