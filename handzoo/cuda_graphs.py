"""Batch-1 latency on a GPU: replay a method's forward as a captured CUDA graph.

A network of hundreds of small kernels is launch-bound at batch 1; a CUDA graph replays all of
them with one launch. Capture needs a forward without host tensors or host syncs (the methods'
tests check this on the ``meta`` device). The runner keeps one graph per input signature (keys,
shapes, dtypes, autocast state); the first call of a signature warms up on a side stream and
captures, later calls copy the inputs into the captured buffers and replay.

Example:
    >>> fast = CudaGraphForward(model.cuda().eval())            # doctest: +SKIP
    >>> with torch.inference_mode():                            # doctest: +SKIP
    ...     raw = fast({"img": crops})                          # same keys as model.forward
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from handzoo.errors import ConfigError

__all__ = ["CudaGraphForward"]


class CudaGraphForward:
    """Call ``module.forward(batch)`` (a dict of CUDA tensors in, a dict of tensors out) through CUDA graphs.

    Args:
        module: the network, on a CUDA device, in eval mode.
        warmup: eager iterations on a side stream before capture (cuDNN/cuBLAS choose kernels).
        clone_outputs: return copies (True) or the graph's own output buffers, which the next
            replay overwrites (False, no copy).

    Raises:
        ConfigError: without CUDA, or when the module is not on a CUDA device.
    """

    def __init__(self, module: nn.Module, warmup: int = 3, clone_outputs: bool = True) -> None:
        if not torch.cuda.is_available():
            raise ConfigError("CUDA graphs need a CUDA device", hint="run the module eagerly on the CPU")
        p = next(iter(module.parameters()), None)
        if p is None or p.device.type != "cuda":
            raise ConfigError("the module must be on a CUDA device", hint="call module.cuda() first")
        self.module, self.warmup, self.clone_outputs = module, int(warmup), clone_outputs
        self._graphs: dict[Any, tuple[torch.cuda.CUDAGraph, dict[str, torch.Tensor], Any]] = {}

    @staticmethod
    def _signature(batch: Mapping[str, torch.Tensor]) -> tuple:
        amp = torch.is_autocast_enabled("cuda")
        dtype = torch.get_autocast_dtype("cuda") if amp else None
        return (
            tuple((k, tuple(v.shape), v.dtype, v.device) for k, v in sorted(batch.items())),
            amp,
            dtype,
            torch.is_inference_mode_enabled(),
            torch.is_grad_enabled(),
        )

    def _forward(self, batch: Mapping[str, torch.Tensor]) -> Any:
        return nn.Module.__call__(self.module, batch)

    def _capture(self, batch: Mapping[str, torch.Tensor]) -> tuple[torch.cuda.CUDAGraph, dict[str, torch.Tensor], Any]:
        static = {k: v.clone() for k, v in batch.items()}
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(self.warmup):
                self._forward(static)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = self._forward(static)
        return graph, static, out

    def __call__(self, batch: Mapping[str, torch.Tensor]) -> Any:
        """Run the forward on ``batch`` (capturing on the first call of its signature)."""
        key = self._signature(batch)
        if key not in self._graphs:
            self._graphs[key] = self._capture(batch)
        graph, static, out = self._graphs[key]
        for k, v in batch.items():
            static[k].copy_(v, non_blocking=True)
        graph.replay()
        if not self.clone_outputs:
            return out
        return {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in out.items()}

    def reset(self) -> None:
        """Drop the captured graphs (e.g. after loading new weights into other tensors)."""
        self._graphs.clear()
