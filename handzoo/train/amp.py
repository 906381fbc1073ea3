"""Mixed precision on the CPU: bfloat16 autocast in mmengine's optimiser-wrapper context.

mmengine's ``AmpOptimWrapper`` (fp16/bf16 autocast with a gradient scaler) needs CUDA, NPU or
MLU. :class:`CpuAmpOptimWrapper` is the CPU counterpart for bfloat16, which needs no gradient
scaler (bfloat16 has float32's exponent range): the forward and the loss run under
``torch.autocast('cpu', dtype=torch.bfloat16)``, weights, gradients and the optimiser stay
float32. The trainer picks it for ``amp='bf16'`` on a machine without CUDA.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

__all__ = ["CpuAmpOptimWrapper"]


class CpuAmpOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` autocasts on the CPU (bfloat16 by default).

    Args:
        dtype: ``'bfloat16'`` (float16 on the CPU is slow and needs loss scaling: not offered).
        **kwargs: ``OptimWrapper`` arguments (``optimizer``, ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self, dtype: str = "bfloat16", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if dtype not in ("bfloat16", torch.bfloat16):
            from handzoo.errors import ConfigError

            raise ConfigError(f"CPU mixed precision supports bfloat16, not {dtype!r}", hint="use amp='bf16'")
        self.cast_dtype = torch.bfloat16

    @contextmanager
    def optim_context(self, model: torch.nn.Module) -> Iterator[None]:
        """mmengine's context (gradient accumulation) plus bfloat16 autocast on the CPU."""
        with super().optim_context(model), torch.autocast("cpu", dtype=self.cast_dtype):
            yield


if "CpuAmpOptimWrapper" not in OPTIM_WRAPPERS.module_dict:
    OPTIM_WRAPPERS.register_module(name="CpuAmpOptimWrapper", module=CpuAmpOptimWrapper)
