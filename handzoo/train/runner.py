"""Build an mmengine Runner from a handzoo training config and run it.

Everything the Runner does is mmengine's own: iteration loop, DDP (``--launcher pytorch``,
gloo on CPU, NCCL on CUDA), AMP (``AmpOptimWrapper`` on CUDA; bfloat16 autocast on the CPU with
``amp='bf16'``), gradient accumulation
(``accumulative_counts``), EMA (``EMAHook``), checkpoints and ``resume``, logging (JSON through
``LocalVisBackend``, TensorBoard when ``tensorboard`` is installed), validation loops. handzoo
adds the model wrapper (:class:`MethodTrainModel`), the data (:mod:`handzoo.train.data`), the
protocol metric (:class:`ProtocolMetric`) and two hooks (stage schedule, loss-curve file).
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import time
from pathlib import Path
from typing import Any

from handzoo.errors import ConfigError

__all__ = ["build_runner", "train", "build_method"]

_RUN_IDS = itertools.count()  # several Runners in one process need distinct mmengine instance names


def build_method(cfg: Any) -> Any:
    """The method of ``cfg.variant``, randomly initialised, with ``cfg.model.kwargs``."""
    from handzoo.hub.load import build_model, model_card

    card = model_card(cfg.variant)
    kwargs = dict(cfg.model.get("kwargs") or {})
    method = build_model(card, **kwargs)
    method.card = card
    return method


def _train_dataloader(cfg: Any) -> dict[str, Any]:
    from handzoo.train.config import import_object
    from handzoo.train.data import TrainingSet, build_source

    td = dict(cfg.train_data)
    tf_cfg = dict(td["transform"])
    tf_cls = import_object(tf_cfg.pop("type"))
    dataset = TrainingSet(build_source(dict(td["source"])), tf_cls(**tf_cfg))
    workers = int(td.get("num_workers", 0))
    return {
        "dataset": dataset,
        "batch_size": int(td.get("batch_size", 16)),
        "num_workers": workers,
        "persistent_workers": workers > 0,
        "sampler": {"type": "InfiniteSampler", "shuffle": bool(td.get("shuffle", True))},
        "collate_fn": {"type": "default_collate"},
        **_worker_init(workers, int(cfg.seed)),
    }


def _worker_init(workers: int, seed: int) -> dict[str, Any]:
    """Workers that die with the trainer (and keep mmengine's seeds); nothing without workers."""
    if workers <= 0:
        return {}
    from handzoo.bench.workers import seeded_worker_init

    return {"worker_init_fn": {"type": seeded_worker_init, "num_workers": workers, "seed": seed}}


def _val(cfg: Any) -> tuple[Any, Any, int]:
    vd = cfg.get("val_data")
    if not vd:
        return None, None, 0
    from mmengine.evaluator import Evaluator

    from handzoo.datasets import load_dataset
    from handzoo.train.evaluation import ProtocolMetric, build_val_dataloader

    vd = dict(vd)
    ds_cfg = dict(vd["dataset"])
    dataset = load_dataset(ds_cfg.pop("name"), **ds_cfg)
    protocol = vd.get("protocol") or getattr(dataset, "protocol", "freihand")
    loader = build_val_dataloader(dataset, int(vd.get("batch_size", 16)), int(vd.get("num_workers", 0)))
    return loader, Evaluator(ProtocolMetric(protocol)), int(vd.get("interval", 1000))


def _tensorboard_available() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


def _init_cpu_distributed() -> None:
    """gloo process group for ``torchrun`` on machines without CUDA (mmengine would set a CUDA device)."""
    import torch
    import torch.distributed as dist

    from handzoo.bench.distributed import init_process_group_bounded, world_size_from_env

    world_size_from_env()  # WORLD_SIZE=abc: one clear error, not mmengine's ValueError
    if not dist.is_initialized() and not torch.cuda.is_available():
        init_process_group_bounded("gloo")  # a missing peer fails in bounded time, naming MASTER_ADDR/WORLD_SIZE


def _set_amp(optim: dict[str, Any], amp: Any, cuda: bool) -> None:
    """Pick the optimiser wrapper for ``amp``: ``'auto'`` (fp16 on CUDA, off on the CPU), True /
    ``'fp16'`` (CUDA), ``'bf16'`` (CUDA: ``AmpOptimWrapper``; CPU: bfloat16 autocast,
    :class:`handzoo.train.amp.CpuAmpOptimWrapper`), False.

    Raises:
        ConfigError: fp16 AMP without CUDA, or an unknown value.
    """
    key = str(amp).lower()
    dtype = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16"}.get(key)
    if key == "auto":
        use = cuda
    elif dtype is not None or key in ("true", "1"):
        use = True
    elif key in ("false", "0", "none"):
        use = False
    else:
        raise ConfigError(f"unknown amp setting {amp!r}", hint="use 'auto', True, False, 'fp16' or 'bf16'")
    if not use:
        return
    if cuda:
        optim["type"] = "AmpOptimWrapper"
        optim.setdefault("dtype", dtype or "float16")
    elif dtype == "bfloat16":
        import handzoo.train.amp  # noqa: F401  (registers CpuAmpOptimWrapper)

        optim["type"] = "CpuAmpOptimWrapper"
        optim["dtype"] = "bfloat16"
    else:
        raise ConfigError(
            "fp16 mixed precision needs CUDA", hint="on the CPU use amp='bf16' (bfloat16 autocast) or none"
        )


_CKPT_PREFIX = "handzoo-train://"


def _register_own_checkpoint_loader() -> None:
    """Let ``resume``/``load_from`` read the trainer's own checkpoints.

    mmengine checkpoints hold the optimiser, the message hub and numpy values, which
    ``torch.load(weights_only=True)`` (torch >= 2.6's default) refuses; files passed to
    ``--resume``/``--load-from`` are loaded in full (they are this trainer's own output; never
    pass a file you did not write). Authors' checkpoints go through ``handzoo convert``, which
    never unpickles code.
    """
    import torch
    from mmengine.runner.checkpoint import CheckpointLoader

    if _CKPT_PREFIX in CheckpointLoader._schemes:
        return

    @CheckpointLoader.register_scheme(prefixes=_CKPT_PREFIX)
    def _load_own(filename: str, map_location: Any = None, logger: Any = None) -> Any:
        return torch.load(filename[len(_CKPT_PREFIX) :], map_location=map_location, weights_only=False)


def _own(path: str | None) -> str | None:
    if path is None:
        return None
    _register_own_checkpoint_loader()
    return _CKPT_PREFIX + str(path)


def build_runner(
    cfg: Any,
    work_dir: str | os.PathLike,
    launcher: str = "none",
    resume: bool | str = False,
    load_from: str | None = None,
) -> Any:
    """An mmengine Runner for the config.

    Args:
        cfg: a config from :func:`handzoo.train.config.load_config`.
        work_dir: where checkpoints, logs and ``loss_curve.jsonl`` go.
        launcher: ``'none'`` or ``'pytorch'`` (``torchrun``; multi-node through the same launcher).
        resume: True resumes from the last checkpoint in ``work_dir``; a path resumes from it.
        load_from: initialise the weights from a checkpoint (without its optimiser state).
    """
    import torch
    from mmengine.runner import Runner

    from handzoo.train.hooks import LossCurveHook, StageHook
    from handzoo.train.model import MethodTrainModel

    if launcher not in ("none", "pytorch"):
        raise ConfigError(f"unknown launcher {launcher!r}", hint="use 'none' or 'pytorch' (torchrun)")
    cuda = torch.cuda.is_available()
    if launcher == "pytorch":
        _init_cpu_distributed()
    torch.manual_seed(int(cfg.seed))
    method = build_method(cfg)
    stages = cfg.get("stages") or None
    first_loss = cfg.model.get("loss") or (sorted(stages, key=lambda s: s["begin"])[0]["loss"] if stages else None)
    model = MethodTrainModel(method, loss=first_loss, freeze_norm=bool(cfg.model.get("freeze_norm", False)))

    optim = dict(cfg.optim_wrapper)
    _set_amp(optim, cfg.get("amp", "auto"), cuda)
    accumulate = int(cfg.get("accumulate", 1))
    if accumulate > 1:
        optim["accumulative_counts"] = accumulate

    max_iters = int(cfg.max_iters)
    val_loader, val_evaluator, val_interval = _val(cfg)
    train_cfg: dict[str, Any] = {"type": "IterBasedTrainLoop", "max_iters": max_iters}
    if val_loader is not None:
        train_cfg["val_interval"] = max(1, min(val_interval, max_iters))

    custom_hooks: list[Any] = [LossCurveHook()]
    if stages:
        custom_hooks.append(StageHook(stages, base_lr=(optim.get("optimizer") or {}).get("lr")))
    if cfg.get("ema"):
        ema = dict(cfg.ema)
        custom_hooks.append({"type": "EMAHook", "momentum": float(ema.get("momentum", 2e-4)), "update_buffers": True})
    backends: list[dict[str, Any]] = [{"type": "LocalVisBackend"}]
    if _tensorboard_available():
        backends.append({"type": "TensorboardVisBackend"})

    resume_from: str | None = None
    if resume:
        from mmengine.runner import find_latest_checkpoint

        resume_from = resume if isinstance(resume, str) else find_latest_checkpoint(str(work_dir))
        if resume_from is None:
            raise ConfigError(f"nothing to resume in {work_dir}", hint="run without --resume to start training")
    run_cfg = cfg.copy()
    run_cfg["model_wrapper_cfg"] = {
        "type": "MMDistributedDataParallel",
        "find_unused_parameters": True,
        **({} if cuda else {"device_ids": None}),
    }
    return Runner(
        model=model,
        work_dir=str(Path(work_dir)),
        train_dataloader=_train_dataloader(cfg),
        val_dataloader=val_loader,
        val_cfg={"type": "ValLoop"} if val_loader is not None else None,
        val_evaluator=val_evaluator,
        train_cfg=train_cfg,
        optim_wrapper=optim,
        param_scheduler=list(cfg.param_scheduler) if cfg.get("param_scheduler") else None,
        default_hooks={
            "logger": {"type": "LoggerHook", "interval": int(cfg.log_interval), "log_metric_by_epoch": False},
            "checkpoint": {
                "type": "CheckpointHook",
                "interval": int(cfg.checkpoint_interval),
                "by_epoch": False,
                "max_keep_ckpts": int(cfg.get("max_keep_ckpts", 2)),
                "save_last": True,
            },
        },
        custom_hooks=custom_hooks,
        launcher=launcher,
        env_cfg={"cudnn_benchmark": False, "dist_cfg": {"backend": "nccl" if cuda else "gloo"}},
        log_processor={"by_epoch": False, "window_size": int(cfg.log_interval)},
        visualizer={"type": "Visualizer", "vis_backends": backends},
        randomness={"seed": int(cfg.seed), "diff_rank_seed": False},
        experiment_name=f"{cfg.variant}-{next(_RUN_IDS)}-{os.getpid()}-{time.time_ns()}",
        resume=bool(resume_from),
        load_from=_own(resume_from) if resume_from else _own(load_from),
        cfg=run_cfg,
    )


def train(
    name: str | os.PathLike,
    work_dir: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
    launcher: str = "none",
    resume: bool | str = False,
    load_from: str | None = None,
) -> Any:
    """Train a variant (or config file) and return the Runner after training.

    Args:
        name: variant with a training config (``handzoo-train --list``) or a config ``.py`` path.
        work_dir: output folder (default ``./work_dirs/<variant>``).
        overrides: config keys to override (``{'max_iters': 50, 'train_data.batch_size': 8}``).
        launcher: ``'none'`` or ``'pytorch'``.
        resume: continue from the last (or the given) checkpoint.
        load_from: initialise from a checkpoint.
    """
    from handzoo.train.config import load_config

    cfg = load_config(name, overrides)
    work_dir = Path(work_dir or Path("work_dirs") / str(cfg.variant))
    runner = build_runner(cfg, work_dir, launcher=launcher, resume=resume, load_from=load_from)
    runner.train()
    return runner
