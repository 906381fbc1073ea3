"""Distributed evaluation: each rank evaluates a shard of the samples; rank 0 gathers and scores.

Started by ``torchrun`` (``RANK``/``WORLD_SIZE``/``MASTER_ADDR`` in the environment) the harness
joins the process group itself: gloo on CPU, NCCL on CUDA. Shards are strided (rank ``r`` takes
samples ``r, r + W, r + 2W, ...``) and rank 0 sorts the gathered hands back into dataset order, so
the scores are those of one process on the same predictions.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from handzoo.errors import ConfigError

__all__ = [
    "TIMEOUT_ENV",
    "DistContext",
    "dist_timeout",
    "init_from_env",
    "init_process_group_bounded",
    "shard_indices",
    "single_process",
    "world_size_from_env",
]

#: Seconds every rank may take to join the process group.
TIMEOUT_ENV = "HANDZOO_DIST_TIMEOUT"


@dataclass
class DistContext:
    """Where this process stands in the group.

    Attributes:
        rank: this process's rank.
        world_size: number of processes.
        owns_group: True when the harness created the process group (and must destroy it).
    """

    rank: int = 0
    world_size: int = 1
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        """True on rank 0 (the rank that scores and writes the report)."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        """True when there is more than one process."""
        return self.world_size > 1

    def gather(self, obj: Any) -> list[Any] | None:
        """Gather one picklable object from every rank; the list on rank 0, None elsewhere."""
        if not self.active:
            return [obj]
        out: list[Any] | None = [None] * self.world_size if self.is_main else None
        dist.gather_object(obj, out, dst=0)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if not self.active:
            return obj
        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        """Wait for every rank."""
        if self.active:
            dist.barrier()

    def close(self) -> None:
        """Destroy the process group if the harness created it."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False


def single_process() -> DistContext:
    """The context of a plain, non-distributed run."""
    return DistContext()


def _env_int(name: str, default: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        if default is None:
            raise ConfigError(
                f"{name} is not set but WORLD_SIZE={os.environ.get('WORLD_SIZE')} asks for a distributed run",
                hint=f"start with torchrun (it sets RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), or set {name}",
            )
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(
            f"{name}={raw[:40]!r} is not a whole number",
            hint="start with torchrun, or unset WORLD_SIZE/RANK for a single-process run",
        ) from None
    if value < 0:
        raise ConfigError(f"{name}={value} is negative", hint="start with torchrun, or unset it")
    return value


def world_size_from_env() -> int:
    """``WORLD_SIZE`` as an integer (1 when unset).

    Raises:
        ConfigError: ``WORLD_SIZE`` is not a positive whole number.
    """
    world = _env_int("WORLD_SIZE", 1)
    if world < 1:
        raise ConfigError(f"WORLD_SIZE={world} must be at least 1", hint="unset it for a single-process run")
    return world


def dist_timeout() -> float:
    """Seconds to wait for every rank to join (``HANDZOO_DIST_TIMEOUT``, default 120)."""
    try:
        value = float(os.environ.get(TIMEOUT_ENV, "120"))
    except ValueError:
        return 120.0
    return max(1.0, value) if value == value and value != float("inf") else 120.0


def init_process_group_bounded(backend: str) -> None:
    """``dist.init_process_group`` from ``torchrun``'s environment, failing in bounded time.

    Without a peer, PyTorch would wait for the missing ranks without end; here the wait is
    :func:`dist_timeout` seconds and the error names the variables to check.

    Raises:
        ConfigError: malformed or missing RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT, or a peer
            that did not join in time.
    """
    world = world_size_from_env()
    rank = _env_int("RANK")
    if rank >= world:
        raise ConfigError(f"RANK={rank} is not below WORLD_SIZE={world}", hint="start with torchrun")
    addr = os.environ.get("MASTER_ADDR", "").strip()
    if not addr:
        raise ConfigError(
            f"MASTER_ADDR is not set but WORLD_SIZE={world} asks for a distributed run",
            hint="start with torchrun, or set MASTER_ADDR and MASTER_PORT, or unset WORLD_SIZE",
        )
    port = _env_int("MASTER_PORT")
    if not 0 < port < 65536:
        raise ConfigError(f"MASTER_PORT={port} is not a TCP port", hint="use a free port between 1 and 65535")
    timeout = dist_timeout()
    try:
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=timeout))
    except Exception as exc:  # noqa: BLE001 - store/backend errors are RuntimeError/DistError subclasses
        raise ConfigError(
            f"rank {rank} of WORLD_SIZE={world} could not join the process group at MASTER_ADDR={addr} "
            f"MASTER_PORT={port} within {timeout:g} s ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})",
            hint=f"start every rank (torchrun --nproc-per-node {world} ...), check MASTER_ADDR/MASTER_PORT, "
            f"or unset WORLD_SIZE for a single-process run ({TIMEOUT_ENV} sets the wait)",
        ) from None


def init_from_env(device: str = "cpu") -> DistContext:
    """Join the process group described by ``torchrun``'s environment, if any.

    Args:
        device: the evaluation device; CUDA devices use NCCL, everything else gloo.

    Returns:
        The context (a single-process one when ``WORLD_SIZE`` is unset or 1).

    Raises:
        ConfigError: malformed environment, or a peer that did not join within ``HANDZOO_DIST_TIMEOUT``.
    """
    world = world_size_from_env()
    if world <= 1:
        return single_process()
    if dist.is_initialized():
        return DistContext(dist.get_rank(), dist.get_world_size(), owns_group=False)
    backend = "nccl" if str(device).startswith("cuda") and torch.cuda.is_available() else "gloo"
    init_process_group_bounded(backend)
    return DistContext(dist.get_rank(), dist.get_world_size(), owns_group=True)


def shard_indices(indices: list[int], ctx: DistContext) -> list[int]:
    """This rank's strided share of ``indices``."""
    return list(indices[ctx.rank :: ctx.world_size])
