"""``handzoo-train`` (and ``handzoo train``): train a variant through mmengine's Runner.

Examples::

    handzoo-train compact-openhand --work-dir runs/compact
    handzoo-train h2onet-sf-openhand --max-iters 50 --batch-size 8
    handzoo-train h2onet-sf-openhand --resume                         # continue the last run
    torchrun --nproc-per-node 2 -m handzoo.train h2onet-sf-openhand --launcher pytorch
    handzoo-train compact-openhand --export model.safetensors --from runs/compact/iter_6000.pth
"""

from __future__ import annotations

import argparse
import ast
import json
from collections.abc import Sequence
from typing import Any

__all__ = ["add_arguments", "run", "main"]

HELP = "Train a model variant (mmengine Runner: DDP, AMP, EMA, accumulation, checkpoints, resume)."


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``handzoo-train`` / ``handzoo train``."""
    p.add_argument("variant", nargs="?", help="variant with a training config, or a config .py file")
    p.add_argument("--list", action="store_true", help="list the variants that have a training config")
    p.add_argument("--work-dir", help="output folder (default ./work_dirs/<variant>)")
    p.add_argument("--max-iters", type=int, help="number of iterations")
    p.add_argument("--batch-size", type=int, help="samples per process and iteration")
    p.add_argument("--workers", type=int, help="DataLoader workers")
    p.add_argument("--accumulate", type=int, help="gradient accumulation steps")
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument(
        "--amp",
        nargs="?",
        const=True,
        default=None,
        metavar="DTYPE",
        help="mixed precision: fp16 on CUDA by default; --amp bf16 also on the CPU (bfloat16 autocast)",
    )
    p.add_argument("--no-amp", dest="amp", action="store_false", help="no mixed precision")
    p.add_argument("--ema", type=float, metavar="MOMENTUM", help="keep an EMA of the weights (0 = off)")
    p.add_argument("--seed", type=int)
    p.add_argument("--data", nargs="+", metavar="DIR", help="shard folders to train on")
    p.add_argument("--no-val", action="store_true", help="skip the evaluation hook")
    p.add_argument("--launcher", default="none", choices=["none", "pytorch"], help="'pytorch' under torchrun")
    p.add_argument("--resume", nargs="?", const=True, default=False, help="resume (last checkpoint, or PATH)")
    p.add_argument("--load-from", help="initialise from a checkpoint")
    p.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE", help="override config keys")
    p.add_argument("--export", metavar="OUT", help="write the weights of a checkpoint as safetensors and exit")
    p.add_argument("--from", dest="from_ckpt", metavar="CKPT", help="checkpoint for --export")
    p.add_argument("--fp32", action="store_true", help="--export in fp32 (default fp16)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")


def _value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def overrides_of(args: argparse.Namespace) -> dict[str, Any]:
    """Config overrides from the command line."""
    o: dict[str, Any] = {}
    for kv in args.cfg_options:
        k, _, v = kv.partition("=")
        o[k] = _value(v)
    if args.max_iters is not None:
        o["max_iters"] = args.max_iters
    if args.batch_size is not None:
        o["train_data.batch_size"] = args.batch_size
    if args.workers is not None:
        o["train_data.num_workers"] = args.workers
    if args.accumulate is not None:
        o["accumulate"] = args.accumulate
    if args.lr is not None:
        o["optim_wrapper.optimizer.lr"] = args.lr
    if args.amp is not None:
        o["amp"] = args.amp
    if args.ema is not None:
        o["ema"] = {"momentum": args.ema} if args.ema > 0 else None
    if args.seed is not None:
        o["seed"] = args.seed
    if args.data:
        o["train_data.source"] = {"type": "shards", "roots": list(args.data)}
    if args.no_val:
        o["val_data"] = None
    return o


def _curve_summary(work_dir: str) -> dict[str, Any]:
    from handzoo.train.hooks import read_loss_curve

    rows = read_loss_curve(work_dir)
    if not rows:
        return {}
    return {"iters": rows[-1]["iter"], "first_loss": rows[0]["loss"], "last_loss": rows[-1]["loss"]}


def run(args: argparse.Namespace) -> int:
    """Train (or list, or export)."""
    from handzoo.errors import ConfigError

    if args.list:
        from handzoo.train.config import _plugin_dirs

        names = sorted({f.stem for d in _plugin_dirs() for f in (d / "configs").glob("*.py") if f.stem != "__init__"})
        print(json.dumps(names) if args.json else "\n".join(names))
        return 0
    if not args.variant:
        raise ConfigError("name a variant to train", hint="handzoo-train --list shows the trainable ones")
    if args.export:
        from handzoo.train.export import export_weights, method_state_from_checkpoint

        if not args.from_ckpt:
            raise ConfigError("--export needs --from CHECKPOINT")
        from handzoo.train.config import load_config
        from handzoo.train.runner import build_method

        method = build_method(load_config(args.variant, overrides_of(args)))
        state = method_state_from_checkpoint(args.from_ckpt, keys=method.state_dict().keys())
        info = export_weights(state, args.export, half=not args.fp32)
        print(
            json.dumps(info) if args.json else f"wrote {info['path']} ({info['size']} bytes, sha256 {info['sha256']})"
        )
        return 0
    from handzoo.train.runner import train

    runner = train(
        args.variant,
        work_dir=args.work_dir,
        overrides=overrides_of(args),
        launcher=args.launcher,
        resume=args.resume,
        load_from=args.load_from,
    )
    summary = {"work_dir": runner.work_dir, "iter": runner.iter, **_curve_summary(runner.work_dir)}
    if runner.rank == 0:
        print(json.dumps(summary) if args.json else f"done: {summary}")
    return 0


def _main(args_list: list[str]) -> int:
    p = argparse.ArgumentParser(prog="handzoo-train", description=HELP)
    add_arguments(p)
    return run(p.parse_args(args_list))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``handzoo-train`` (errors as one line; ``--debug`` for tracebacks)."""
    from handzoo.commands._envelope import run_cli

    return run_cli(_main, argv, interrupted="interrupted: checkpoints already written are kept (resume with --resume)")
