"""Export a trained method's weights as safetensors (fp16 or fp32) with their sha256."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch

__all__ = ["export_weights", "sha256_of", "method_state_from_checkpoint"]


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def method_state_from_checkpoint(path: str | os.PathLike, ema: bool = True) -> dict[str, torch.Tensor]:
    """The method's state dict from an mmengine checkpoint (the EMA copy when present and ``ema``)."""
    ckpt = torch.load(str(path), map_location="cpu", weights_only=False)
    state = ckpt["state_dict"]
    if ema and "ema_state_dict" in ckpt:
        # EMAHook keeps "module.<name>" copies of every parameter and buffer (with update_buffers)
        ema_sd = {k[len("module.") :]: v for k, v in ckpt["ema_state_dict"].items() if k.startswith("module.")}
        state = {**state, **{k: v for k, v in ema_sd.items() if k in state}}
    return {k[len("method.") :]: v for k, v in state.items() if k.startswith("method.")}


def export_weights(
    method: torch.nn.Module | dict[str, torch.Tensor],
    out: str | os.PathLike,
    half: bool = True,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Write the method's state dict to ``out`` (floating tensors as fp16 when ``half``).

    Returns:
        ``{'path', 'sha256', 'size', 'tensors'}``.
    """
    from safetensors.torch import save_file

    sd = method.state_dict() if isinstance(method, torch.nn.Module) else dict(method)
    tensors = {}
    for k, v in sd.items():
        v = v.detach().cpu().contiguous()
        if half and v.is_floating_point():
            v = v.half()
        tensors[k] = v
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata={str(k): str(v) for k, v in (metadata or {}).items()})
    return {"path": str(out), "sha256": sha256_of(out), "size": out.stat().st_size, "tensors": len(tensors)}
