"""DataLoader workers that die with their parent.

When the main process is killed (SIGKILL, OOM killer), PyTorch's DataLoader workers only notice
at their next status check, and a worker busy in a long ``__getitem__`` (rendering, decoding) or
blocked on a full queue can live on for many minutes holding its memory. :func:`die_with_parent`,
used as ``worker_init_fn``, makes the kernel kill the worker with its parent on Linux
(``prctl(PR_SET_PDEATHSIG, SIGKILL)``) and, elsewhere, starts a watchdog thread that exits the
worker once its parent is gone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

__all__ = ["PR_SET_PDEATHSIG", "die_with_parent", "seeded_worker_init"]

PR_SET_PDEATHSIG = 1
_WATCH_INTERVAL_S = 1.0


def _set_pdeathsig() -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while True:
        time.sleep(_WATCH_INTERVAL_S)
        if os.getppid() != parent:
            os._exit(1)


def die_with_parent(worker_id: int = 0) -> None:  # noqa: ARG001 - worker_init_fn signature
    """``worker_init_fn`` for a DataLoader: the worker process ends when its parent ends.

    Args:
        worker_id: the worker's index (unused; DataLoader passes it).
    """
    parent = os.getppid()
    armed = sys.platform.startswith("linux") and _set_pdeathsig()
    if os.getppid() != parent or parent == 1:  # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch, args=(parent,), name="handzoo-parent-watchdog", daemon=True).start()


def seeded_worker_init(worker_id: int, num_workers: int, seed: int) -> None:
    """``worker_init_fn`` of the trainer: :func:`die_with_parent`, then mmengine's own worker seeding.

    mmengine seeds workers only when no ``worker_init_fn`` is configured; this keeps its seeds
    (same ``num_workers``, ``RANK`` and ``seed`` arguments) and adds the parent-death rule.

    Args:
        worker_id: the worker's index.
        num_workers: workers of the DataLoader.
        seed: the run's seed.
    """
    from mmengine.dataset import worker_init_fn

    die_with_parent(worker_id)
    worker_init_fn(worker_id, num_workers, int(os.environ.get("RANK", "0") or 0), seed)
