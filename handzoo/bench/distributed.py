"""Distributed evaluation: each rank evaluates a shard of the samples; rank 0 gathers and scores.

Started by ``torchrun`` (``RANK``/``WORLD_SIZE``/``MASTER_ADDR`` in the environment) the harness
joins the process group itself: gloo on CPU, NCCL on CUDA. Shards are strided (rank ``r`` takes
samples ``r, r + W, r + 2W, ...``) and rank 0 sorts the gathered hands back into dataset order, so
the scores are those of one process on the same predictions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["DistContext", "init_from_env", "shard_indices", "single_process"]


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


def init_from_env(device: str = "cpu") -> DistContext:
    """Join the process group described by ``torchrun``'s environment, if any.

    Args:
        device: the evaluation device; CUDA devices use NCCL, everything else gloo.

    Returns:
        The context (a single-process one when ``WORLD_SIZE`` is unset or 1).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return single_process()
    if dist.is_initialized():
        return DistContext(dist.get_rank(), dist.get_world_size(), owns_group=False)
    backend = "nccl" if str(device).startswith("cuda") and torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend=backend)
    return DistContext(dist.get_rank(), dist.get_world_size(), owns_group=True)


def shard_indices(indices: list[int], ctx: DistContext) -> list[int]:
    """This rank's strided share of ``indices``."""
    return list(indices[ctx.rank :: ctx.world_size])
