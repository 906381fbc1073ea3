"""mmengine hooks of handzoo training: stage-wise loss schedules and a loss-curve file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

__all__ = ["StageHook", "LossCurveHook"]


def _unwrap(model: Any) -> Any:
    return model.module if hasattr(model, "module") else model


class StageHook(Hook):
    """Switch the active loss at given iterations (e.g. H2ONet's stage 1 -> stage 2).

    Args:
        stages: ``[{'begin': 0, 'loss': 'stage1'}, {'begin': 3000, 'loss': 'stage2'}]``.
    """

    priority = "HIGH"

    def __init__(self, stages: Sequence[dict[str, Any]]) -> None:
        self.stages = sorted((int(s["begin"]), str(s["loss"])) for s in stages)

    def loss_at(self, it: int) -> str:
        """The loss active at iteration ``it``."""
        name = self.stages[0][1]
        for begin, loss in self.stages:
            if it >= begin:
                name = loss
        return name

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
        model = _unwrap(runner.model)
        name = self.loss_at(runner.iter)
        if model.active_loss != name:
            runner.logger.info(f"iteration {runner.iter}: stage loss {name!r}")
            model.set_loss(name)


class LossCurveHook(Hook):
    """Append every iteration's (process-averaged) loss terms to ``<work_dir>/loss_curve.jsonl``.

    One JSON object per line: ``{"iter": i, "loss": ..., "<term>": ..., "lr": ...}``; resumed runs
    append, so the file holds the whole curve.
    """

    priority = "LOW"

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        if not is_main_process() or not outputs:
            return
        row: dict[str, Any] = {"iter": int(runner.iter) + 1}
        for k, v in outputs.items():
            try:
                row[k] = float(v)
            except (TypeError, ValueError):
                continue
        try:
            row["lr"] = float(runner.optim_wrapper.get_lr()["lr"][0])
        except Exception:  # optimisers without a plain lr
            pass
        with open(Path(runner.work_dir) / "loss_curve.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
