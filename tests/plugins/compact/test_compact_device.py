"""Device readiness of the compact model's forward: no host tensors or syncs (CUDA-graph
capturable), bf16 autocast within a stated tolerance of float32, CUDA-graph replay (skips without
a GPU). Seeded random weights (the output layer, zero at initialisation, drawn too, so that the
pose, shape and camera outputs are not constants)."""

from __future__ import annotations

import copy

import pytest
import torch

import handzoo
from handzoo.testing.device import (
    assert_cuda_graph_replay_equals_eager,
    assert_outputs_within,
    host_ops_of_forward,
)

# bf16 autocast vs float32: root-relative vertices/joints in metres, weak-perspective 2D joints
# in normalised crop units ([-1, 1] across the crop); measured max 4.2e-4 m / 1.3e-3 on these weights
BF16_ATOL_M = 3e-3
BF16_ATOL_N = 1e-2


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = handzoo.load("compact-openhand", pretrained=False).eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        m.head.out.weight.copy_(torch.randn(m.head.out.weight.shape, generator=g) * 0.5)
    return m


def _img(n: int = 1) -> torch.Tensor:
    return torch.randn(n, 3, 128, 128, generator=torch.Generator().manual_seed(8))


def test_forward_has_no_host_tensor_or_sync(model):
    assert host_ops_of_forward(model, {"img": _img(2)}) == []


def test_bf16_autocast_within_tolerance(model):
    """The compact model has no CPU plan: autocast runs its modules in bf16 on the CPU too."""
    img = _img(2)
    with torch.inference_mode():
        ref = model({"img": img})
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model({"img": img})
    assert out["hand_pose"].dtype == torch.bfloat16  # autocast did run the network in bf16
    assert float(ref["hand_pose"].abs().max()) > 0.1  # not a constant output
    assert_outputs_within(out, ref, {"vertices": BF16_ATOL_M, "joints3d": BF16_ATOL_M, "joints2d_n": BF16_ATOL_N})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")
def test_cuda_graph_replay_equals_eager(model):
    m = copy.deepcopy(model).cuda()
    batch = {"img": _img(1).cuda()}
    assert_cuda_graph_replay_equals_eager(m, batch)
