"""Command lines for short ``handzoo-train`` runs in tests: a few iterations on CPU, no validation.

Example:
    >>> args = short_run_args("h2onet-sf-openhand", tmp_path / "w", 6,  # doctest: +SKIP
    ...                       cfg_options=[shards_source(shards)])
    >>> assert handzoo.train.cli.main(args) == 0                       # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence

__all__ = ["shards_source", "short_run_args"]


def shards_source(root: str | os.PathLike, limit: int | None = 2) -> str:
    """The ``--cfg-options`` item that trains from one shard folder (its first ``limit`` samples)."""
    extra = "" if limit is None else f", 'limit': {int(limit)}"
    return f"train_data.source={{'type': 'shards', 'roots': ['{root}']{extra}}}"


def short_run_args(
    variant: str,
    work_dir: str | os.PathLike,
    iters: int,
    *,
    batch_size: int = 2,
    lr: str | None = None,
    options: Sequence[str] = (),
    cfg_options: Sequence[str] = (),
) -> list[str]:
    """Arguments of ``handzoo-train VARIANT`` for a short CPU run without DataLoader workers or validation.

    Args:
        variant: the recipe (``handzoo-train`` variant name).
        work_dir: checkpoints and the loss curve go here.
        iters: ``--max-iters``.
        batch_size: ``--batch-size``.
        lr: ``--lr`` when given.
        options: further command-line options (e.g. ``["--ema", "0"]``).
        cfg_options: the ``--cfg-options`` items, in order (none: no ``--cfg-options``).

    Returns:
        The argument list for :func:`handzoo.train.cli.main`.
    """
    args = [variant, "--work-dir", str(work_dir), "--max-iters", str(iters), "--batch-size", str(batch_size)]
    args += ["--workers", "0", "--no-val", *options]
    if lr is not None:
        args += ["--lr", lr]
    if cfg_options:
        args += ["--cfg-options", *cfg_options]
    return args
