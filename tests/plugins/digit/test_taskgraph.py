"""The batch-1 task graph: HRNet branches side by side give the serial path's bits; errors reach the caller."""

from __future__ import annotations

import threading

import digit_testutils as tu
import pytest
import torch
from handzoo_digit.backbone import DigitHRNet
from handzoo_digit.fuse import _HRNet, authors_batch, blocked_copy
from handzoo_digit.taskgraph import TaskGraph
from torch import nn

from handzoo.backbones.workers import run_parallel


def test_results_by_id_in_dependency_order() -> None:
    g = TaskGraph()
    a = g.constant(3)
    b = g.add(lambda x: x + 1, a)
    c = g.add(lambda x: x * 10, a, cost=5.0)
    d = g.add(lambda x, y: (x, y), b, c)
    e = g.add(lambda: "no inputs")
    out = g.run(lanes=2)
    assert (out[a], out[b], out[c], out[d], out[e]) == (3, 4, 30, (4, 30), "no inputs")
    assert g.run(lanes=1)[d] == (4, 30)


def test_a_graph_runs_again_on_new_inputs_and_keeps_none() -> None:
    g = TaskGraph()
    a = g.input()
    k = g.constant(100)
    b = g.add(lambda x, c: x + c, a, k)
    c = g.add(lambda x: x * 2, b, cost=3.0)
    assert g.run(lanes=2, inputs={a: 1})[c] == 202
    assert g.run(lanes=1, inputs={a: 5})[c] == 210
    assert a not in g._values  # the graph holds no input between runs
    with pytest.raises(ValueError, match="no value given"):
        g.run(lanes=2)
    with pytest.raises(ValueError, match="not an input"):
        g.run(lanes=2, inputs={a: 1, b: 3})
    with pytest.raises(ValueError, match="not an input"):
        g.run(lanes=2, inputs={a: 1, k: 3})
    d = g.add(lambda x: -x, c)  # a task added after a run is part of the next one
    assert g.run(lanes=2, inputs={a: 0})[d] == -200


def test_independent_chains_overlap_on_two_lanes() -> None:
    barrier = threading.Barrier(2, timeout=30)  # passes only if the two chains' tasks run together
    g = TaskGraph()
    ends = [g.add(lambda x: x + barrier.wait() * 0 + 1, g.add(lambda i=i: i)) for i in range(2)]
    out = g.run(lanes=2)
    assert [out[t] for t in ends] == [1, 2]


def test_a_task_error_reaches_the_caller_and_stops_new_tasks() -> None:
    ran = []
    g = TaskGraph()
    bad = g.add(lambda: (_ for _ in ()).throw(ValueError("task failed")), cost=10.0)
    g.add(lambda x: ran.append(x), bad)
    for i in range(3):
        g.add(lambda i=i: ran.append(i), cost=0.1)
    with pytest.raises(ValueError, match="task failed"):
        g.run(lanes=2)
    assert all(isinstance(r, int) for r in ran)  # the failed task's successor never ran
    assert len(ran) <= 3
    with pytest.raises(ValueError, match="does not exist"):
        g.add(len, 99)


def _small_hrnet() -> DigitHRNet:
    """A seeded two-to-four-branch HRNet (narrow, one block per branch) with non-trivial BatchNorms."""
    torch.manual_seed(0)
    net = DigitHRNet(stages=((1, (8, 16)), (2, (8, 16, 32)), (1, (8, 16, 32, 64))), blocks_per_branch=2)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.3, 1.2)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return net.eval()


def test_branches_side_by_side_equal_the_serial_path_bit_for_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = []
    real_run = TaskGraph.run
    monkeypatch.setattr(
        TaskGraph,
        "run",
        lambda self, lanes=2, inputs=None: (runs.append((lanes, len(self))), real_run(self, lanes, inputs))[1],
    )
    net = _small_hrnet()
    plan = blocked_copy(net)
    assert isinstance(plan, _HRNet)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with torch.inference_mode(), authors_batch(1, 2):
            lanes = plan(x)[0]
            graph = plan._graph()[0]
            again = plan(x)[0]  # the kept graph, on the new input
            assert plan._graph()[0] is graph
            # inside a pool worker the stages run one after the other, on one thread
            serial = run_parallel([lambda: plan(x)[0], lambda: None])[0]
            ref = net(x)[0]
    finally:
        torch.set_num_threads(before)
    assert runs and runs[0][0] == 2 and runs[0][1] > 20  # one graph on two lanes (the serial call ran none)
    assert len(runs) == 2
    assert torch.equal(lanes, serial)
    assert torch.equal(again, lanes)
    assert torch.equal(lanes, ref)


def test_a_branch_error_reaches_the_caller() -> None:
    plan = blocked_copy(_small_hrnet())
    block = plan.stage3[0].branches[2][0]

    def broken(x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("branch block failed")

    block.forward = broken
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with torch.inference_mode(), pytest.raises(RuntimeError, match="branch block failed"):
            plan(torch.rand(1, 3, 64, 64))
    finally:
        torch.set_num_threads(before)


def test_one_image_on_two_workers_equals_the_authors_operators_bit_for_bit(digit_model, monkeypatch) -> None:
    """The seeded DIGIT at batch 1 on two threads: branches and row halves side by side vs the parts as they are."""
    from handzoo_digit import lanes, model

    tiled = []
    real = lanes.segm_and_merge_in_lanes
    monkeypatch.setattr(model, "segm_and_merge_in_lanes", lambda *a: tiled.append(real(*a)) or tiled[-1])
    ours, ref = tu.plan_and_exact_outputs(digit_model, tu.seeded_crops(2)[1:])
    assert tiled and tiled[0] is not None  # the row halves ran on the workers
    for key in ("joints25d", "heatmaps", "segm_logits", "rel_root_bin", "root_logits", "hand_logits"):
        assert torch.equal(ours[key], ref[key]), key


def test_a_head_piece_error_reaches_the_caller(digit_model, monkeypatch) -> None:
    from handzoo_digit import fuse

    def broken(self, x):
        raise RuntimeError("head piece failed")

    x = tu.seeded_crops(1)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with torch.inference_mode():
            digit_model({"img": x})  # builds the plan and its pieces
            monkeypatch.setattr(fuse._MaxPool, "forward", broken)  # the encoder's pool runs on the workers
            with pytest.raises(RuntimeError, match="head piece failed"):
                digit_model({"img": x})
    finally:
        torch.set_num_threads(before)
