"""Device readiness of the SMHR forward: no host tensors or syncs (CUDA-graph capturable), bf16
autocast of the eager modules within a stated tolerance of float32, the sync-free side split equal
to the CPU's, CUDA-graph replay (skips without a GPU).

The models: both released head sets (multi-hand: handedness, texture, light; FreiHAND: texture,
light) with the authors' seeded weights on the MANO stand-in, at a 128-pixel input (the weights do not depend on the input size) so that a
forward takes a fraction of a second on one thread.
"""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
from smhr_testutils import HEADS

from handzoo.testing.device import (
    assert_cuda_graph_replay_equals_eager,
    assert_outputs_within,
    host_ops_of_forward,
)

SIZE = 128
# bf16 autocast vs float32 at the same centre cells and sides (hm's top-k is a discrete choice:
# bf16 may pick another cell of a flat map, so the decoded cells are given): vertices and joints
# in metres, 2D joints in network-input pixels; measured max 4.8e-3 m / 0.76 px (multi-hand) and
# 3.1e-3 m / 0.38 px (FreiHAND) on these weights
BF16_ATOL_M = 1e-2
BF16_ATOL_PX = 2.0


def _build(variant: str, mano_dir, authors_states):
    from handzoo_smhr.convert import convert_state_dict
    from handzoo_smhr.model import SMHR

    k = 4 if variant == "multihand" else 1
    m = SMHR(heads=list(HEADS[variant]), hand_model="mano", mano_dir=mano_dir, input_size=SIZE, max_hands=k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.load_state_dict(convert_state_dict(authors_states[variant], f"smhr-{variant}"), strict=True)
    return m.eval()


@pytest.fixture(scope="module")
def model(mano_dir, authors_states):
    """The multi-hand model (handedness: both side models)."""
    return _build("multihand", mano_dir, authors_states)


@pytest.fixture(scope="module", params=["multihand", "freihand"])
def each_model(request, mano_dir, authors_states):
    return _build(request.param, mano_dir, authors_states)


def _img(n: int = 1) -> torch.Tensor:
    return torch.randn(n, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(4))


def test_forward_has_no_host_tensor_or_sync(each_model):
    """On the meta device (the default inference configuration; its CPU plan is not built there)."""
    assert host_ops_of_forward(each_model, {"img": _img(2)}) == []


def test_sync_free_side_split_equals_the_cpu_split(model):
    """Off the CPU every hand goes through both side models and a select (no nonzero); same numbers."""
    m = copy.deepcopy(model)
    batch = {"img": _img(1), "ind": torch.tensor([[5, 300, 700, 1000]]), "side": torch.tensor([[0, 1, 1, 0]])}
    with torch.inference_mode():
        ref = m(batch)
        m.sync_free_sides = True
        out = m(batch)
    for k in ("vertices", "joints3d", "vertex_colors", "albedo"):
        torch.testing.assert_close(out[k], ref[k], rtol=0, atol=1e-6)


def test_bf16_autocast_within_tolerance(each_model):
    """The eager modules (``exact_layers()``: the CPU plan keeps float32 under autocast, see README)."""
    m = copy.deepcopy(each_model).exact_layers()
    img = _img(1)
    with torch.inference_mode():
        ref = m({"img": img})
        batch = {"img": img, "ind": ref["ind"], "side": ref["side"]}
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = m(batch)
    assert out["params"].dtype == torch.bfloat16  # autocast did run the network in bf16
    bounds = {"vertices": BF16_ATOL_M, "joints3d": BF16_ATOL_M, "joints2d_net": BF16_ATOL_PX}
    assert_outputs_within(out, ref, bounds, finite=("vertex_colors",))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")
def test_cuda_graph_replay_equals_eager(model):
    m = copy.deepcopy(model).cuda()
    batch = {"img": _img(1).cuda()}
    assert_cuda_graph_replay_equals_eager(m, batch)


@pytest.mark.parametrize("size", [128, 224, 384])
def test_device_letterbox_equals_host(size):
    """The on-device letterbox (run on CPU tensors here) gives OpenCV's pixels exactly."""
    import numpy as np
    from handzoo_smhr.preprocess import prepare_images

    rng = np.random.default_rng(5)
    imgs = [rng.integers(0, 256, (90, 150, 3), dtype=np.uint8), rng.integers(0, 256, (500, 260, 3), dtype=np.uint8)]
    host, lb_h = prepare_images(imgs, size)
    dev, lb_d = prepare_images(imgs, size, on_device=True)
    assert dev.shape == host.shape == (2, 3, size, size)
    assert (dev - host).abs().max() == 0
    assert lb_d == lb_h
