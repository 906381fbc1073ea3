"""Progress reporting for long scoring runs (a rich progress bar in the CLI, nothing elsewhere)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol as _Protocol

__all__ = ["ProgressSink", "NULL_PROGRESS", "rich_progress"]


class ProgressSink(_Protocol):
    """Something that can show tasks: ``advance = sink.task("F-scores", total); advance(n)``."""

    def task(self, description: str, total: int | None = None) -> Callable[[int], None]:
        """Start a task; return a function that advances it by ``n`` units."""
        ...


class _NullProgress:
    def task(self, description: str, total: int | None = None) -> Callable[[int], None]:
        return lambda n=1: None


NULL_PROGRESS: ProgressSink = _NullProgress()


class _RichProgress:
    def __init__(self, progress: object) -> None:
        self._p = progress
        self._last: int | None = None

    def task(self, description: str, total: int | None = None) -> Callable[[int], None]:
        p = self._p
        for t in p.tasks:  # type: ignore[attr-defined]
            if t.id == self._last:  # the previous step is done
                done = t.total if t.total is not None else 1
                p.update(t.id, completed=done, total=done)  # type: ignore[attr-defined]
        tid = p.add_task(description, total=total)  # type: ignore[attr-defined]
        self._last = tid
        return lambda n=1: p.advance(tid, n)  # type: ignore[attr-defined]


@contextmanager
def rich_progress(enabled: bool = True) -> Iterator[ProgressSink]:
    """A progress sink drawing rich bars on stderr when ``enabled`` and stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield NULL_PROGRESS
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as p:
        yield _RichProgress(p)
