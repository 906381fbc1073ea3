"""``handzoo.testing.device``: ``host_ops_of_forward`` flags what would break a CUDA graph: tensors
built from Python data in the forward, host reads (``.item()``, ``nonzero``), CPU tensors; ``assert_outputs_within`` checks
bounds and finiteness."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from handzoo.testing.device import assert_outputs_within, host_ops_of_forward


class _Net(nn.Module):
    def __init__(self, mode: str) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.mode = mode

    def forward(self, batch):
        y = self.lin(batch["x"])
        if self.mode == "constant":
            y = y + torch.tensor([1.0, 2.0, 3.0, 4.0], device=y.device)
        elif self.mode == "new_tensor":
            y = y + y.new_tensor([1.0, 2.0, 3.0, 4.0])
        elif self.mode == "item":
            y = y * float(y.sum())
        elif self.mode == "cpu":
            y = y.cpu()
        return {"y": y}


def test_clean_forward_has_no_host_ops():
    assert host_ops_of_forward(_Net("clean"), {"x": torch.zeros(2, 4)}) == []


def test_host_ops_are_flagged():
    for mode, op in (("constant", "torch.tensor"), ("new_tensor", "new_tensor"), ("cpu", "aten.to")):
        ops = host_ops_of_forward(_Net(mode), {"x": torch.zeros(2, 4)}, warmup=0)
        assert any(op in o for o in ops), (mode, ops)


def test_a_host_read_is_flagged():
    ops = host_ops_of_forward(_Net("item"), {"x": torch.zeros(2, 4)}, warmup=0)
    assert any("item" in o or "_local_scalar_dense" in o for o in ops), ops


def test_outputs_within_checks_bounds_and_finiteness() -> None:
    ref = {"a": torch.zeros(3), "b": torch.zeros(2)}
    assert_outputs_within({"a": torch.full((3,), 0.5), "b": torch.zeros(2)}, ref, {"a": 0.6}, finite=("b",))
    with pytest.raises(AssertionError, match="'a': 0.5"):
        assert_outputs_within({"a": torch.full((3,), 0.5), "b": torch.zeros(2)}, ref, {"a": 0.5})  # strict <
    with pytest.raises(AssertionError, match="b"):
        assert_outputs_within({"a": torch.zeros(3), "b": torch.tensor([0.0, float("nan")])}, ref, {"a": 1.0}, ("b",))
