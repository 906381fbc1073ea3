"""Device readiness of the Hand4Whole forward: no host tensors or syncs (CUDA-graph capturable),
bf16 autocast within a stated tolerance of float32, CUDA-graph replay (skips without a GPU)."""

from __future__ import annotations

import copy

import pytest
import torch

from handzoo.testing.device import assert_cuda_graph_replay_equals_eager, host_ops_of_forward

# bf16 autocast vs float32 on the deterministic test weights (root-relative joints, metres)
BF16_ATOL_M = 5e-3


def _crops(n: int, device="cpu") -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(5)
    return {"img": torch.rand(n, 3, 256, 256, generator=g).to(device)}


def test_forward_has_no_host_tensor_or_sync(h4w_model):
    """Run on the meta device: any CPU tensor created or read inside the forward shows up."""
    assert host_ops_of_forward(h4w_model, _crops(1)) == []


def test_bf16_autocast_within_tolerance(h4w_model):
    batch = _crops(2)
    with torch.inference_mode():
        ref = h4w_model(batch)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = h4w_model(batch)
    for key in ("joint_cam", "vertices", "joints3d"):
        assert torch.isfinite(out[key]).all(), key
    assert (out["joint_cam"].float() - ref["joint_cam"]).abs().max() < BF16_ATOL_M


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")
def test_cuda_graph_replay_equals_eager(h4w_model):
    m = copy.deepcopy(h4w_model).cuda()
    batch = _crops(1, "cuda")
    assert_cuda_graph_replay_equals_eager(m, batch)


def test_device_crops_equal_host_crops():
    """The on-device crop path (run on CPU tensors here) equals the OpenCV path to 1e-4."""
    import numpy as np
    from handzoo_hand4whole.preprocess import crop_hands

    from handzoo.query import make_query

    rng = np.random.default_rng(2)
    imgs = [rng.integers(0, 256, (120, 160, 3), dtype=np.uint8), rng.integers(0, 256, (90, 70, 3), dtype=np.uint8)]
    boxes = [np.array([[10.0, 20.0, 80.0, 100.0], [90.0, 5.0, 150.0, 60.0]]), np.array([[-4.0, 3.0, 50.0, 80.0]])]
    q = make_query(imgs, boxes, sides=[["right", "left"], ["left"]])
    host = crop_hands(q)
    dev = crop_hands(q, on_device=True)
    assert (dev.images - host.images).abs().max() < 1e-4
    np.testing.assert_array_equal(dev.boxes, host.boxes)


def test_cpu_inference_plan_matches_the_modules(h4w_model):
    """The oneDNN plan (BatchNorm folded in float64, fused ReLU/residual) equals the plain trunk
    at float32 noise level, and a model holding a plan deep-copies."""
    m = copy.deepcopy(h4w_model)
    batch = _crops(1)
    with torch.inference_mode():
        fused = m(batch)
        m.backbone.fuse_inference = False
        plain = m(batch)
    torch.testing.assert_close(fused["joint_cam"], plain["joint_cam"], rtol=0, atol=1e-5)
    torch.testing.assert_close(fused["joint_img"], plain["joint_img"], rtol=0, atol=1e-3)
    copy.deepcopy(m)
