"""Device readiness of the 3D-hand forward (both variants): no host tensors or syncs (CUDA-graph
capturable), bf16 autocast of the eager modules within a stated tolerance of float32, CUDA-graph
replay (skips without a GPU). The authors' seeded weights on the MANO stand-in."""

from __future__ import annotations

import copy

import pytest
import tdh_testutils as tu
import torch

from handzoo.testing.device import (
    assert_cuda_graph_replay_equals_eager,
    assert_outputs_within,
    host_ops_of_forward,
)

# bf16 autocast vs float32 of the eager modules: vertices/joints in metres, 2D joints in crop
# pixels (256 per side); measured max 9.6e-4 m / 0.68 px (rgb), 9.1e-4 m / 0.63 px (rgb2d) on these
# weights (bf16 keeps 8 bits: the regressor's ~500-unit scale output carries ~1 unit of rounding)
BF16_ATOL_M = 3e-3
BF16_ATOL_PX = 2.0


@pytest.fixture(scope="module", params=[0, 1], ids=["rgb", "rgb2d"])
def model(request, mano_dir, authors_state):
    return tu.build_model(request.param, mano_dir, authors_state)


def _img(m, n: int = 1) -> torch.Tensor:
    c = 24 if m.with_heatmaps else 3
    return torch.rand(n, c, 256, 256, generator=torch.Generator().manual_seed(7))


def test_forward_has_no_host_tensor_or_sync(model):
    """On the meta device (the default configuration: the folded trunk; no oneDNN plan there)."""
    assert host_ops_of_forward(model, {"img": _img(model, 2)}) == []


def test_bf16_autocast_within_tolerance(model):
    """The eager modules (``backbone.fuse_inference=False``: the CPU plan keeps float32 under autocast)."""
    m = copy.deepcopy(model)
    m.backbone.fuse_inference = False
    img = _img(m, 1)
    with torch.inference_mode():
        ref = m({"img": img})
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = m({"img": img})
    assert out["params"].dtype == torch.bfloat16  # autocast did run the network in bf16
    assert_outputs_within(out, ref, {"vertices": BF16_ATOL_M, "joints3d": BF16_ATOL_M, "joints2d": BF16_ATOL_PX})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")
def test_cuda_graph_replay_equals_eager(model):
    m = copy.deepcopy(model).cuda()
    batch = {"img": _img(m, 1).cuda()}
    assert_cuda_graph_replay_equals_eager(m, batch)


@pytest.mark.parametrize("with_heatmaps", [False, True], ids=["rgb", "rgb2d"])
def test_device_crops_equal_host_crops(with_heatmaps):
    """The on-device crop path (run on CPU tensors here) gives Pillow's pixels exactly."""
    import numpy as np
    from handzoo_3dhand.preprocess import make_crops

    rng = np.random.default_rng(2)
    imgs = [rng.integers(0, 256, (120, 160, 3), dtype=np.uint8), rng.integers(0, 256, (300, 90, 3), dtype=np.uint8)]
    joints = [rng.uniform((10, 20), (150, 110), (2, 21, 2)), rng.uniform((5, 40), (85, 200), (1, 21, 2))]
    sides = [np.array([0, 1]), np.array([1])]
    host = make_crops(imgs, None, joints, sides, with_heatmaps=with_heatmaps)
    dev = make_crops(imgs, None, joints, sides, with_heatmaps=with_heatmaps, on_device=True)
    assert host.images.shape == dev.images.shape == (3, 24 if with_heatmaps else 3, 256, 256)
    assert (dev.images - host.images).abs().max() == 0
    np.testing.assert_array_equal(dev.boxes, host.boxes)
