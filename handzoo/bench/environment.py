"""What a result was measured on: handzoo, torch, python, the device and the machine."""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from typing import Any

import torch

__all__ = ["environment", "cpu_model", "resolve_device"]


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (from ``/proc/cpuinfo`` on Linux), or ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def resolve_device(device: str | None, local_rank: int | None = None) -> torch.device:
    """``auto``/None -> CUDA when available else CPU; plain ``cuda`` under torchrun -> this rank's GPU.

    Raises:
        ConfigError: for an unknown device string or CUDA requested without CUDA.
    """
    from handzoo.errors import ConfigError

    name = (device or "auto").strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {device!r}", hint="use cpu, cuda, cuda:N or auto") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("CUDA was requested but is not available", hint="use --device cpu")
        if dev.index is None:
            rank = int(os.environ.get("LOCAL_RANK", "0")) if local_rank is None else local_rank
            dev = torch.device("cuda", rank)
    return dev


def environment(device: torch.device | str, world_size: int = 1) -> dict[str, Any]:
    """The environment recorded with every result."""
    from handzoo._version import __version__

    dev = torch.device(device)
    dev_name = "cpu"
    if dev.type == "cuda" and torch.cuda.is_available():
        dev_name = torch.cuda.get_device_name(dev)
    return {
        "handzoo_version": __version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": str(dev),
        "device_name": dev_name if dev.type == "cuda" else cpu_model(),
        "machine": {
            "platform": platform.platform(),
            "arch": platform.machine(),
            "cpu": cpu_model(),
            "cpu_count": os.cpu_count() or 1,
            "torch_threads": torch.get_num_threads(),
        },
        "world_size": int(world_size),
    }
