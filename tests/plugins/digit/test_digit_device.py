"""Device readiness of the DIGIT forward: no host tensors or syncs (CUDA-graph capturable), bf16
autocast of the eager modules within a stated tolerance of float32, CUDA-graph replay (skips
without a GPU). The authors' seeded weights (the ``digit_model`` fixture)."""

from __future__ import annotations

import copy

import pytest
import torch

from handzoo.testing.device import (
    assert_cuda_graph_replay_equals_eager,
    assert_outputs_within,
    host_ops_of_forward,
)

# bf16 autocast vs float32 of the eager modules: joints25d in heatmap units (64 per crop side, i.e.
# 4 crop pixels; depth bins), root depth in bins, probabilities; measured max 0.27 / 0.074 / 3.3e-3
# on these weights (bf16 keeps 8 bits: a 32-unit coordinate carries 0.125 of rounding alone)
BF16_ATOL_JOINTS = 0.75
BF16_ATOL_ROOT_BIN = 0.5
BF16_ATOL_PROB = 1e-2


def _img(n: int = 1) -> torch.Tensor:
    return torch.rand(n, 3, 256, 256, generator=torch.Generator().manual_seed(6))


def test_forward_has_no_host_tensor_or_sync(digit_model):
    """On the meta device (the default configuration; its CPU plan is not built there)."""
    assert host_ops_of_forward(digit_model, {"img": _img(2)}) == []


def test_bf16_autocast_within_tolerance(digit_model):
    """The eager modules (``fuse_inference=False``: the CPU plan keeps float32 under autocast)."""
    m = copy.copy(digit_model)
    m.fuse_inference = False
    img = _img(1)
    with torch.inference_mode():
        ref = m({"img": img})
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = m({"img": img})
    assert out["heatmaps"].dtype == torch.bfloat16  # autocast did run the network in bf16
    bounds = {"joints25d": BF16_ATOL_JOINTS, "rel_root_bin": BF16_ATOL_ROOT_BIN, "hand_prob": BF16_ATOL_PROB}
    assert_outputs_within(out, ref, bounds, finite=("segm_logits",))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")
def test_cuda_graph_replay_equals_eager(digit_model):
    m = copy.deepcopy(digit_model).cuda()
    batch = {"img": _img(1).cuda()}
    assert_cuda_graph_replay_equals_eager(m, batch)
