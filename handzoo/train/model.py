"""The mmengine model that trains a handzoo method: its forward, its own losses, its stages.

``MethodTrainModel`` wraps any :class:`handzoo.interfaces.Method` as an ``mmengine.model.BaseModel``:
``mode='loss'`` runs ``method(batch)`` and the active loss(es) of ``method.losses()``: the sum of
their ``'loss'`` entries trains, their other entries are logged (stage-wise schedules switch
the active losses, see :class:`handzoo.train.hooks.StageHook`); ``mode='predict'``
runs the method's full user-facing pipeline on raw samples, for evaluation with the bench's
protocols.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import torch
from mmengine.dist import get_world_size, is_distributed
from mmengine.model import BaseModel
from torch import nn

from handzoo.errors import ConfigError

__all__ = ["MethodTrainModel"]


class MethodTrainModel(BaseModel):
    """A handzoo method with its losses, as the model of an mmengine Runner.

    Args:
        method: the built method (an ``nn.Module`` implementing ``handzoo.interfaces.Method``).
        loss: name of the loss in ``method.losses()`` to start with, or a list of names whose
            sum trains (default: the first loss).
        freeze_norm: keep normalisation layers in eval mode while training (running statistics
            and affine parameters frozen); gives batch-size-independent losses, e.g. for DDP
            checks with small per-process batches.
    """

    def __init__(self, method: nn.Module, loss: str | Sequence[str] | None = None, freeze_norm: bool = False) -> None:
        super().__init__()
        self.method = method
        losses = dict(method.losses()) if hasattr(method, "losses") else {}
        if not losses:
            raise ConfigError(
                f"{type(method).__name__} defines no training losses",
                hint="implement Method.losses() in the plugin to make the method trainable",
            )
        # ModuleDict keys may not shadow nn.Module attributes (3D-hand's loss is named 'train')
        self._loss_keys = {n: (n if not hasattr(nn.Module, n) else f"{n}_loss") for n in losses}
        self.losses = nn.ModuleDict({self._loss_keys[n]: m for n, m in losses.items()})
        self.active_loss: str | tuple[str, ...] = next(iter(losses))
        self.set_loss(loss or self.active_loss)
        self.freeze_norm = bool(freeze_norm)

    def set_loss(self, name: str | Sequence[str]) -> None:
        """Make ``name`` (or the sum of several named losses) what ``mode='loss'`` uses.

        Raises:
            ConfigError: the method has no loss of that name.
        """
        names = (name,) if isinstance(name, str) else tuple(name)
        for n in names:
            if n not in self._loss_keys:
                raise ConfigError(
                    f"{type(self.method).__name__} has no loss {n!r}", hint=f"its losses: {', '.join(self._loss_keys)}"
                )
        self.active_loss = names[0] if len(names) == 1 else names

    @property
    def active_losses(self) -> tuple[str, ...]:
        """The names of the losses summed by ``mode='loss'``."""
        return (self.active_loss,) if isinstance(self.active_loss, str) else tuple(self.active_loss)

    def train(self, mode: bool = True) -> MethodTrainModel:
        """``nn.Module.train``, keeping normalisation layers in eval mode with ``freeze_norm``."""
        super().train(mode)
        if mode and self.freeze_norm:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._NormBase):
                    m.eval()
                    for p in m.parameters():
                        p.requires_grad_(False)
        return self

    def forward(self, mode: str = "loss", **data: Any) -> Any:
        """``mode='loss'``: ``data`` is the collated training batch -> the loss terms.
        ``mode='predict'``: ``data['samples']`` is a list of ``(index, Sample)`` -> one
        ``(index, sample, HandOutput)`` triple list (see :class:`handzoo.train.evaluation.ProtocolMetric`).
        """
        if mode == "loss":
            batch = data["inputs"] if "inputs" in data and isinstance(data["inputs"], dict) else data
            out = nn.Module.__call__(self.method, batch)
            total: torch.Tensor | None = None
            logged: dict[str, torch.Tensor] = {}
            for name in self.active_losses:
                terms = dict(self.losses[self._loss_keys[name]](out, batch))
                value = terms.pop("loss")  # what the loss trains with (its weights applied)
                total = value if total is None else total + value
                if not terms:  # a loss with no named terms is logged under its own name
                    terms = {name: value}
                logged.update({k: v.detach() for k, v in terms.items()})
            return {"loss": total, **logged}
        if mode == "predict":
            from handzoo.bench.inference import model_query

            batch = data["samples"]
            query = model_query(batch)  # the bench's inputs: ground-truth boxes, sides, K
            if query is None:
                return [(batch, None)]
            with torch.no_grad():
                out = self.method.predict(query)
            return [(batch, out)]
        raise ConfigError(f"unknown mode {mode!r}", hint="use 'loss' or 'predict'")

    def parse_losses(self, losses: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss for backward (``losses['loss']``: the active losses with their weights; the
        other entries are their named terms, logged only); logged values averaged over processes
        (the global batch)."""
        total = losses["loss"].mean() if "loss" in losses else sum(v.mean() for v in losses.values())
        log_vars = OrderedDict([("loss", total.detach().clone())])
        for k, v in losses.items():
            if k != "loss":
                log_vars[k] = v.detach().mean().clone()
        if is_distributed():
            keys = list(log_vars)
            stacked = torch.stack([log_vars[k].float() for k in keys])
            torch.distributed.all_reduce(stacked)
            stacked /= get_world_size()
            log_vars = OrderedDict(zip(keys, stacked))
        return total, log_vars
