"""Kept thread pools whose workers run torch operations on their own intra-op thread count.

On a machine with few cores, one image's small convolutions split poorly across OpenMP threads:
the threads wait for each other after every operation. Independent pieces of work (the parts of
a batch, the branches of a multi-resolution network) run better side by side, each on one
worker thread with one OpenMP thread. The intra-op thread count is a per-thread setting in
PyTorch's OpenMP build, so each worker sets its own once, when the pool starts, and keeps it.

:func:`run_parallel` runs zero-argument callables concurrently on such a pool, in the caller's
autograd / inference mode and context variables, and returns their results in order. Called from
inside a worker it runs the callables one after the other on that worker (no nested pools, no
deadlock). Pools are kept per ``(workers, threads_each)`` and dropped in a forked child (a
``DataLoader`` worker inherits the pool objects but not their threads).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

import torch

__all__ = ["in_worker", "intra_op_threads", "run_parallel", "worker_pool"]

T = TypeVar("T")

_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()
_LOCAL = threading.local()
os.register_at_fork(after_in_child=_POOLS.clear)


def _start_worker(threads_each: int) -> None:
    """Initialise one pool thread: mark it as a worker and set its torch thread count."""
    _LOCAL.worker = True
    torch.get_num_threads()  # torch's one-time per-thread set-up first: it would later reset the count
    torch.set_num_threads(threads_each)


def in_worker() -> bool:
    """Whether the calling thread is a worker of one of this module's pools."""
    return bool(getattr(_LOCAL, "worker", False))


def worker_pool(workers: int, threads_each: int = 1) -> ThreadPoolExecutor:
    """The kept pool of ``workers`` threads, each running torch operations on ``threads_each`` threads.

    Args:
        workers: number of worker threads (>= 1).
        threads_each: intra-op (OpenMP) threads of each worker (>= 1).

    Returns:
        A started ``ThreadPoolExecutor``; the same object for the same arguments until the process forks.

    Raises:
        ValueError: if either count is below 1.
    """
    if workers < 1 or threads_each < 1:
        raise ValueError(f"worker_pool needs workers >= 1 and threads_each >= 1, got {workers} and {threads_each}")
    key = (int(workers), int(threads_each))
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            caller = torch.get_num_threads()
            pool = ThreadPoolExecutor(key[0], f"handzoo-w{key[1]}", initializer=_start_worker, initargs=(key[1],))
            # start every worker now (each sets its count once) ...
            barrier = threading.Barrier(key[0], timeout=60)
            for future in [pool.submit(barrier.wait) for _ in range(key[0])]:
                future.result()
            # ... then restore the caller's: PyTorch also takes the last count any thread set as the default of new threads
            torch.set_num_threads(caller)
            _POOLS[key] = pool
    return pool


def run_parallel(calls: Sequence[Callable[[], T]], threads_each: int = 1, workers: int | None = None) -> list[T]:
    """Run ``calls`` concurrently on pool workers and return their results in order.

    Each call runs in the caller's autograd and inference mode and in a copy of the caller's
    context variables. All calls finish before this returns or raises, so none is still using
    shared buffers afterwards. A single call, or any call from inside a pool worker, runs on the
    calling thread instead.

    Args:
        calls: zero-argument callables.
        threads_each: intra-op threads of each worker.
        workers: at most this many calls at a time (default: all of them); the others queue.

    Returns:
        ``[call() for call in calls]``, computed concurrently.

    Raises:
        Exception: the first exception (in call order) raised by any call.
    """
    if len(calls) <= 1 or workers == 1 or in_worker():
        return [call() for call in calls]
    inference = torch.is_inference_mode_enabled()
    grad = torch.is_grad_enabled()

    def in_mode(call: Callable[[], T]) -> T:
        with torch.inference_mode(inference), torch.set_grad_enabled(grad):
            return call()

    pool = worker_pool(min(workers or len(calls), len(calls)), threads_each)
    futures = [pool.submit(contextvars.copy_context().run, in_mode, call) for call in calls]
    wait(futures)
    return [future.result() for future in futures]


@contextlib.contextmanager
def intra_op_threads(threads: int) -> Iterator[None]:
    """Run the block's torch operations on ``threads`` intra-op threads of the calling thread.

    The calling thread's count is restored afterwards (also on an exception); other threads keep
    theirs. For a chain of small operations (a hand model posing one hand) one thread is faster
    than several: each operation is too small to split, and waking the other threads costs more
    than it saves.

    Args:
        threads: the intra-op thread count inside the block (>= 1).

    Raises:
        ValueError: if ``threads`` is below 1.
    """
    if threads < 1:
        raise ValueError(f"intra_op_threads needs threads >= 1, got {threads}")
    before = torch.get_num_threads()
    if before == threads:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
