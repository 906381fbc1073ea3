"""Run small-tensor rendering work with one intra-op thread.

Rasterising and shading issue many small tensor operations; with intra-op threads they get slower
(several times on 2 shared cores, measured in ``benchmarks/bench_datasets.py``), so the renderer
drops to one thread for the call and restores the caller's setting afterwards.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import TypeVar

import torch

__all__ = ["single_thread", "single_threaded"]

F = TypeVar("F", bound=Callable)


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Temporarily set ``torch.set_num_threads(1)``; restore the previous value on exit."""
    threads = torch.get_num_threads()
    if threads > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if threads > 1:
            torch.set_num_threads(threads)


def single_threaded(fn: F) -> F:
    """Decorator: run ``fn`` inside :func:`single_thread`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with single_thread():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
