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

__all__ = [
    "HostOpRecorder",
    "assert_cuda_graph_replay_equals_eager",
    "assert_outputs_within",
    "host_ops_of_forward",
    "max_abs_diff",
]

_SYNC_OPS = ("_local_scalar_dense", "nonzero", "item")


class HostOpRecorder(TorchDispatchMode):
    """Record every op that touches a CPU tensor or device, or reads a value back to the host.

    Attributes:
        ops: the recorded op names, in call order.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[str] = []

    def __enter__(self) -> HostOpRecorder:
        # tensors built from Python data (torch.tensor, as_tensor, new_tensor) are made on the host
        # and copied outside the dispatcher: record those calls directly
        self._saved = (torch.tensor, torch.as_tensor, torch.Tensor.new_tensor)
        tensor, as_tensor, new_tensor = self._saved

        def from_data(name: str, fn: Callable) -> Callable:
            def wrapped(*a: Any, **k: Any) -> Any:
                data = a[1] if name == "Tensor.new_tensor" else (a[0] if a else k.get("data"))
                if not isinstance(data, torch.Tensor):
                    self.ops.append(f"{name}(<python data>)")
                return fn(*a, **k)

            return wrapped

        torch.tensor = from_data("torch.tensor", tensor)
        torch.as_tensor = from_data("torch.as_tensor", as_tensor)
        torch.Tensor.new_tensor = from_data("Tensor.new_tensor", new_tensor)
        return super().__enter__()

    def __exit__(self, *exc: Any) -> None:
        torch.tensor, torch.as_tensor, torch.Tensor.new_tensor = self._saved
        super().__exit__(*exc)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, D105
        name = str(func)
        if any(s in name for s in _SYNC_OPS) or _touches_host((args, kwargs or {})):
            self.ops.append(name)  # recorded before running: the meta device refuses some of them
            return func(*args, **(kwargs or {}))
        out = func(*args, **(kwargs or {}))
        if _touches_host(out):
            self.ops.append(name)
        return out


def _touches_host(tree: Any) -> bool:
    leaves = tree_leaves(tree)
    return any(isinstance(x, torch.Tensor) and x.device.type == "cpu" for x in leaves) or any(
        isinstance(x, torch.device) and x.type == "cpu" for x in leaves
    )


def host_ops_of_forward(
    module: torch.nn.Module,
    batch: Mapping[str, torch.Tensor],
    prepare: Callable[[torch.nn.Module], Any] | None = None,
    warmup: int = 1,
) -> list[str]:
    """Ops of ``module(batch)`` that would touch the host, run on a ``meta`` copy of the module.

    Args:
        module: the model (not modified: a deep copy moves to ``meta``).
        batch: the forward's input dict (shapes and dtypes matter, not values; moved to ``meta``).
        prepare: optional ``f(meta_copy)`` run before the forward (e.g. to re-link tensors that
            a model keeps outside its parameters).
        warmup: forwards run before the recorded one (one-time caches, such as an inference
            plan or a constant moved to the device once, are built there, as in the warm-up
            runs before a CUDA-graph capture).

    Returns:
        The recorded op names (empty when the forward is free of host tensors and syncs).
    """
    m = copy.deepcopy(module).to("meta")
    if prepare is not None:
        prepare(m)
    meta = {k: (v.to("meta") if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
    with torch.inference_mode():
        for _ in range(warmup):
            torch.nn.Module.__call__(m, meta)
        with HostOpRecorder() as rec:
            try:
                torch.nn.Module.__call__(m, meta)
            except (NotImplementedError, RuntimeError):
                if not rec.ops:
                    raise
                # the meta device cannot run a host read or copy: the forward stopped at a recorded op
    return rec.ops


def max_abs_diff(out: Mapping[str, Any], ref: Mapping[str, Any], keys: Any) -> dict[str, float]:
    """``max |out[k] - ref[k]|`` (in float32) per key: a bf16-vs-float32 comparison's figures."""
    return {k: float((out[k].float() - ref[k].float()).abs().max()) for k in keys}


def assert_outputs_within(
    out: Mapping[str, Any], ref: Mapping[str, Any], bounds: Mapping[str, float], finite: Any = ()
) -> None:
    """Every output named in ``bounds`` or ``finite`` is finite, and ``max |out[k] - ref[k]| < bounds[k]``
    (e.g. a bf16 autocast forward against float32); the failure message lists every key's figure."""
    for key in (*finite, *bounds):
        assert torch.isfinite(out[key].float()).all(), key
    d = max_abs_diff(out, ref, bounds)
    assert all(d[k] < bound for k, bound in bounds.items()), d


def assert_cuda_graph_replay_equals_eager(
    model: torch.nn.Module, batch: Mapping[str, Any], rtol: float = 1e-4, atol: float = 1e-5
) -> None:
    """Two replays of ``model(batch)`` captured as a CUDA graph equal the eager forward.

    Args:
        model: the method, already on a CUDA device.
        batch: its preprocessed batch on the same device.
        rtol, atol: tolerances of :func:`torch.testing.assert_close` per output.

    Raises:
        AssertionError: an output of a replay differs from the eager one.
    """
    from handzoo.cuda_graphs import CudaGraphForward

    with torch.inference_mode():
        ref = model(batch)
        runner = CudaGraphForward(model)
        replays = [runner(batch), runner(batch)]
    for out in replays:
        for k in ref:
            torch.testing.assert_close(out[k], ref[k], rtol=rtol, atol=atol)
