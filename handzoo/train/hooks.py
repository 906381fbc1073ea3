"""mmengine hooks of handzoo training: stage-wise loss schedules and a loss-curve file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

__all__ = ["LOSS_CURVE_FILE", "StageHook", "LossCurveHook", "read_loss_curve"]

#: the loss curve a run writes into its work dir (one JSON object per iteration)
LOSS_CURVE_FILE = "loss_curve.jsonl"


def _unwrap(model: Any) -> Any:
    return model.module if hasattr(model, "module") else model


class StageHook(Hook):
    """Stage-wise schedules: switch the active loss(es) at given iterations, and optionally the
    learning rate and the optimiser state (e.g. H2ONet's stage 1 -> stage 2).

    Args:
        stages: ``[{'begin': 0, 'loss': 'stage1'}, {'begin': 3000, 'loss': 'stage2', 'lr': 1e-4,
            'reset_optimizer': True}]``. ``loss``: a loss name of the method or a list of names
            whose sum trains. ``lr`` (optional): the learning rate from this stage on, set on the
            optimiser at the switch (each parameter group keeps its multiplier of ``base_lr``,
            e.g. an ``lr_mult``; chainable schedulers such as ``MultiStepLR`` continue from it).
            ``reset_optimizer`` (optional): clear the optimiser's moments at the switch, as a
            new training run started from the previous stage's weights (the authors' way for
            separately launched stages).

    ``base_lr`` is the optimiser's configured learning rate. The index of the last stage switched to is kept in mmengine's message hub, which checkpoints
    hold, so a resumed run neither repeats nor misses a switch.
    """

    priority = "HIGH"
    INFO_KEY = "handzoo_stage"

    def __init__(self, stages: Sequence[dict[str, Any]], base_lr: float | None = None) -> None:
        self.stages = sorted((dict(s) for s in stages), key=lambda s: int(s["begin"]))
        self.base_lr = base_lr

    def index_at(self, it: int) -> int:
        """Index (in begin order) of the stage active at iteration ``it``."""
        idx = 0
        for i, s in enumerate(self.stages):
            if it >= int(s["begin"]):
                idx = i
        return idx

    def loss_at(self, it: int) -> str | tuple[str, ...]:
        """The loss (or losses) active at iteration ``it``."""
        loss = self.stages[self.index_at(it)]["loss"]
        return loss if isinstance(loss, str) else tuple(loss)

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
        model = _unwrap(runner.model)
        idx = self.index_at(runner.iter)
        name = self.loss_at(runner.iter)
        if model.active_loss != name:
            model.set_loss(name)
        hub = runner.message_hub
        applied = hub.get_info(self.INFO_KEY)
        if applied is not None and int(applied) >= idx:
            return
        if applied is not None or idx > 0:  # a switch (at iteration 0 the optimiser is the config's)
            self._switch(runner, self.stages[idx])
        hub.update_info(self.INFO_KEY, idx)

    def _switch(self, runner: Any, stage: dict[str, Any]) -> None:
        optimizer = runner.optim_wrapper.optimizer
        what = [f"loss {stage['loss']!r}"]
        if stage.get("reset_optimizer"):
            optimizer.state.clear()
            what.append("optimiser moments reset")
        if stage.get("lr") is not None:
            groups = optimizer.param_groups
            base = self.base_lr or max(float(g.get("initial_lr", g["lr"])) for g in groups)
            for g in groups:  # each group keeps its multiplier of the configured lr
                mult = float(g.get("initial_lr", g["lr"])) / base
                g["lr"] = float(stage["lr"]) * mult
            what.append(f"lr {float(stage['lr']):g}")
        runner.logger.info(f"iteration {runner.iter}: stage {', '.join(what)}")


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
            row["lr"] = max(float(v) for v in runner.optim_wrapper.get_lr()["lr"])  # the base group's
        except Exception:  # optimisers without a plain lr
            pass
        with open(Path(runner.work_dir) / LOSS_CURVE_FILE, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def read_loss_curve(work_dir: str | Path) -> list[dict[str, float]]:
    """The rows :class:`LossCurveHook` wrote to ``<work_dir>/loss_curve.jsonl``, in order.

    Args:
        work_dir: a training run's work dir.

    Returns:
        One dict per iteration (``iter``, ``loss``, the loss terms, ``lr``); empty when the run
        wrote no curve.
    """
    path = Path(work_dir) / LOSS_CURVE_FILE
    return [json.loads(x) for x in path.read_text().splitlines()] if path.is_file() else []
