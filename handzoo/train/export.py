"""Export a trained method's weights as safetensors (fp16 or fp32) with their sha256."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from handzoo.errors import WeightsError

__all__ = ["export_weights", "sha256_of", "method_state_from_checkpoint"]


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def method_state_from_checkpoint(
    path: str | os.PathLike, ema: bool = True, keys: Iterable[str] | None = None
) -> dict[str, torch.Tensor]:
    """The method's state dict from an mmengine checkpoint.

    Args:
        path: checkpoint written by the trainer (``iter_N.pth``; loaded in full, so only pass
            files you wrote).
        ema: take the EMA weights when the run kept them (mmengine's ``EMAHook`` stores them
            under ``state_dict`` and the raw weights under ``ema_state_dict``); False takes the raw ones.
        keys: keep only these keys (the method's own ``state_dict()`` keys; the wrapper's
            checkpoint also holds buffers the method does not save, such as its hand model's).
    """
    ckpt = torch.load(str(path), map_location="cpu", weights_only=False)
    state = dict(ckpt["state_dict"])
    if not ema and "ema_state_dict" in ckpt:
        raw = {k[len("module.") :]: v for k, v in ckpt["ema_state_dict"].items() if k.startswith("module.")}
        state.update({k: v for k, v in raw.items() if k in state})
    out = {k[len("method.") :]: v for k, v in state.items() if k.startswith("method.")}
    if keys is not None:
        wanted = list(keys)
        missing = [k for k in wanted if k not in out]
        if missing:
            raise WeightsError(
                f"the checkpoint {path} lacks {len(missing)} of the method's tensors, e.g. {missing[:3]}",
                hint="export a checkpoint of the same variant and architecture",
            )
        out = {k: out[k] for k in wanted}
    return out


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
