"""Run a small graph of dependent tasks on a few worker threads (one intra-op thread each).

At batch 1 on a few cores, one image's small HRNet convolutions split poorly across OpenMP
threads, but an HRNet stage's branches (one per resolution, of about equal cost) and its fusion
terms are independent of each other until the fusion sums. :class:`TaskGraph` holds such work as
tasks with dependencies; :meth:`TaskGraph.run` runs it on ``lanes`` workers of
:func:`handzoo.backbones.workers.run_parallel`, each taking the ready task with the longest
remaining chain of work after it (so a third branch is spread over two workers instead of
waiting for one). Every task runs once, on one worker thread, so its arithmetic does not depend
on the schedule: results equal running the tasks one after the other.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable
from typing import Any

from handzoo.backbones.workers import run_parallel

__all__ = ["TaskGraph"]


class TaskGraph:
    """Tasks ``fn(*results of its dependencies)`` with estimated costs.

    A graph can be built once and run many times on new inputs (:meth:`input`); what does not
    change between runs (successors, the order of priority) is worked out on the first run.

    Example::

        g = TaskGraph()
        a = g.input()
        b = g.add(f, a)
        c = g.add(h, a)
        d = g.add(torch.add, b, c)
        y = g.run(lanes=2, inputs={a: x})[d]
    """

    def __init__(self) -> None:
        self._fns: list[Callable[..., Any] | None] = []
        self._deps: list[tuple[int, ...]] = []
        self._costs: list[float] = []
        self._values: dict[int, Any] = {}
        # (successors, dependency counts, priorities) of the graph as it is; None after an add
        self._layout: tuple[list[list[int]], list[int], list[float]] | None = None

    def __len__(self) -> int:
        return len(self._fns)

    def constant(self, value: Any) -> int:
        """A task whose result is ``value`` (already known, kept by the graph). Returns its id."""
        tid = self._new(None, (), 0.0)
        self._values[tid] = value
        return tid

    def input(self) -> int:
        """A task whose result each :meth:`run` is given (``inputs={id: value}``). Returns its id."""
        return self._new(None, (), 0.0)

    def add(self, fn: Callable[..., Any], *deps: int, cost: float = 1.0) -> int:
        """Add the task ``fn(*[result of d for d in deps])``; ``cost`` orders the ready tasks.

        Returns:
            The task's id (an index into :meth:`run`'s result).
        """
        for d in deps:
            if not 0 <= d < len(self._fns):
                raise ValueError(f"task dependency {d} does not exist (tasks 0..{len(self._fns) - 1})")
        return self._new(fn, tuple(deps), float(cost))

    def _new(self, fn: Callable[..., Any] | None, deps: tuple[int, ...], cost: float) -> int:
        self._fns.append(fn)
        self._deps.append(deps)
        self._costs.append(cost)
        self._layout = None
        return len(self._fns) - 1

    def _prepared(self) -> tuple[list[list[int]], list[int], list[float]]:
        """Each task's successors, its number of distinct dependencies, and its priority: the
        longest chain of estimated cost from it to the end of the graph."""
        layout = self._layout
        if layout is None:
            n = len(self._fns)
            succ: list[list[int]] = [[] for _ in range(n)]
            waiting = [0] * n
            for t, deps in enumerate(self._deps):
                for d in set(deps):
                    succ[d].append(t)
                waiting[t] = len(set(deps))
            height = list(self._costs)
            for t in range(n - 1, -1, -1):  # dependencies always have smaller ids
                if succ[t]:
                    height[t] += max(height[s] for s in succ[t])
            layout = self._layout = (succ, waiting, height)
        return layout

    def run(self, lanes: int = 2, inputs: dict[int, Any] | None = None) -> list[Any]:
        """Run every task on ``lanes`` pool workers (one intra-op thread each); results by task id.

        Args:
            lanes: worker threads.
            inputs: the value of every :meth:`input` task for this run (the graph keeps none).

        With ``lanes <= 1``, or from inside a pool worker, the tasks run on the calling thread in
        the same order of readiness. The first exception raised by a task stops the others from
        starting new tasks and is re-raised here once the running ones have finished.

        Raises:
            ValueError: if ``inputs`` misses an input task or names a task that is not one.
        """
        n = len(self._fns)
        values = dict(self._values)
        for t, value in (inputs or {}).items():
            if not (0 <= t < n and self._fns[t] is None and t not in self._values):
                raise ValueError(f"task {t} is not an input of this graph (see TaskGraph.input)")
            values[t] = value
        missing = [t for t in range(n) if self._fns[t] is None and t not in values]
        if missing:
            raise ValueError(f"no value given for the graph's input tasks {missing} (run(inputs={{id: value}}))")
        succ, waiting0, height = self._prepared()
        waiting = list(waiting0)
        results: list[Any] = [None] * n
        ready: list[tuple[float, int]] = []
        state = {"left": n, "running": 0, "error": False}
        cond = threading.Condition()

        def finish(t: int, value: Any) -> None:  # called with cond held
            results[t] = value
            state["left"] -= 1
            for s in succ[t]:
                waiting[s] -= 1
                if waiting[s] == 0:
                    heapq.heappush(ready, (-height[s], s))

        with cond:
            for t in range(n):
                if not self._deps[t] and self._fns[t] is not None:
                    heapq.heappush(ready, (-height[t], t))
            for t in range(n):
                if self._fns[t] is None:
                    finish(t, values[t])

        def lane() -> None:
            while True:
                with cond:
                    while not ready and state["left"] and state["running"] and not state["error"]:
                        cond.wait()
                    if state["error"] or not ready:
                        return  # everything done (or failed); nothing is left for this lane
                    _, t = heapq.heappop(ready)
                    state["running"] += 1
                try:
                    fn = self._fns[t]
                    assert fn is not None
                    value = fn(*[results[d] for d in self._deps[t]])
                except BaseException:
                    with cond:
                        state["running"] -= 1
                        state["error"] = True
                        cond.notify_all()
                    raise
                with cond:
                    state["running"] -= 1
                    finish(t, value)
                    cond.notify_all()

        run_parallel([lane] * max(1, int(lanes)), threads_each=1)
        if state["left"]:  # not reachable unless a dependency cycle slipped in
            raise RuntimeError(f"{state['left']} tasks of the graph did not run")
        return results
