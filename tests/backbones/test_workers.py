"""Kept worker pools: concurrency, per-worker thread counts, the caller's modes, errors, nesting."""

from __future__ import annotations

import contextvars
import threading
import time

import pytest
import torch

from handzoo.backbones.workers import in_worker, intra_op_threads, run_parallel, worker_pool

_TAG: contextvars.ContextVar[str] = contextvars.ContextVar("tag", default="unset")


def test_results_come_back_in_call_order_and_the_calls_overlap() -> None:
    barrier = threading.Barrier(3, timeout=30)  # passes only if all three calls run at the same time

    def call(i: int):
        return lambda: (barrier.wait(), i)[1]

    assert run_parallel([call(i) for i in range(3)]) == [0, 1, 2]


def test_each_worker_has_its_own_thread_count_and_the_caller_keeps_its_own() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        counts = run_parallel([torch.get_num_threads] * 2, threads_each=1)
        assert counts == [1, 1]
        assert torch.get_num_threads() == 2
        pool = worker_pool(2, 1)
        assert pool is worker_pool(2, 1)  # kept
        assert [pool.submit(torch.get_num_threads).result() for _ in range(4)] == [1] * 4
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("mode", ["grad", "no_grad", "inference"])
def test_calls_run_in_the_callers_autograd_mode(mode: str) -> None:
    x = torch.ones(3, requires_grad=True)
    ctx = {"grad": torch.enable_grad, "no_grad": torch.no_grad, "inference": torch.inference_mode}[mode]
    with ctx():
        out = run_parallel([lambda: x * 2, lambda: x * 3])
    assert all(o.requires_grad == (mode == "grad") for o in out)
    assert all(o.is_inference() == (mode == "inference") for o in out)


def test_calls_see_the_callers_context_variables() -> None:
    token = _TAG.set("caller")
    try:
        assert run_parallel([_TAG.get, _TAG.get]) == ["caller", "caller"]
    finally:
        _TAG.reset(token)


def test_an_error_reaches_the_caller_after_every_call_finished() -> None:
    finished = []

    def slow() -> int:
        time.sleep(0.2)
        finished.append("slow")
        return 1

    def bad() -> int:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_parallel([bad, slow])
    assert finished == ["slow"]


def test_a_call_from_inside_a_worker_runs_inline() -> None:
    def outer() -> list[bool]:
        assert in_worker()
        return run_parallel([in_worker, in_worker])  # would deadlock on a full pool if it queued

    assert run_parallel([outer, outer]) == [[True, True], [True, True]]
    assert not in_worker()


def test_one_call_or_one_worker_runs_on_the_calling_thread() -> None:
    me = threading.get_ident()
    assert run_parallel([threading.get_ident]) == [me]
    assert run_parallel([threading.get_ident] * 3, workers=1) == [me] * 3


def test_more_calls_than_workers_queue() -> None:
    names = run_parallel([lambda: threading.current_thread().name] * 6, workers=2)
    assert len(names) == 6 and len(set(names)) <= 2


@pytest.mark.parametrize("workers, threads_each", [(0, 1), (2, 0)])
def test_bad_counts_are_refused(workers: int, threads_each: int) -> None:
    with pytest.raises(ValueError, match="workers >= 1 and threads_each >= 1"):
        worker_pool(workers, threads_each)


def test_intra_op_threads_sets_the_callers_count_for_the_block_only() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        pool = worker_pool(1, 2)
        with intra_op_threads(1):
            assert torch.get_num_threads() == 1
            assert pool.submit(torch.get_num_threads).result() == 2  # another thread keeps its count
        assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError, match="inside"), intra_op_threads(1):
            raise RuntimeError("inside")
        assert torch.get_num_threads() == 2  # restored after an error too
        with intra_op_threads(2):
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="threads >= 1"), intra_op_threads(0):
        pass
