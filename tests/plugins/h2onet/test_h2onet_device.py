"""Device readiness of the H2ONet forwards: no host tensors or host syncs (so a forward can run
inside a CUDA graph), bf16 autocast within a stated tolerance of float32, and the CUDA-graph
runner (CUDA-only checks skip without a GPU)."""

from __future__ import annotations

import copy

import pytest
import torch

from handzoo.testing.device import assert_cuda_graph_replay_equals_eager, host_ops_of_forward

# bf16 autocast vs float32 on the golden weights: metres for vertices/joints, crop units for uv
BF16_ATOL_M = 5e-3  # bf16 keeps 8 bits: outputs ~0.1 m carry ~0.4 mm rounding alone
BF16_ATOL_UV = 2e-2


def _relink(meta_model) -> None:
    meta_model.hand.set_joint_regressor(meta_model.joint_regressor)  # meta tensors replace the parameter


def _batch(model, n: int, device="cpu") -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    keys = ("img_0", "img_1", "img_2") if model.multi_frame else ("img",)
    return {k: torch.rand(n, 3, 128, 128, generator=g).to(device) for k in keys}


@pytest.mark.parametrize("which", ["sf_model", "mf_model"])
def test_forward_has_no_host_tensor_or_sync(which, request):
    """Run on the meta device: any CPU tensor created or read inside the forward shows up."""
    m = request.getfixturevalue(which)
    assert host_ops_of_forward(m, _batch(m, 2), prepare=_relink) == []


@pytest.mark.parametrize("which", ["sf_model", "mf_model"])
def test_bf16_autocast_within_tolerance(which, request):
    m = request.getfixturevalue(which)
    batch = _batch(m, 2)
    with torch.inference_mode():
        ref = m(batch)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = m(batch)
    for key in ("pred_verts3d_w_gr", "pred_joints3d_w_gr"):
        assert torch.isfinite(out[key]).all()
        assert (out[key].float() - ref[key]).abs().max() < BF16_ATOL_M, key
    assert (out["pred_joints_img"].float() - ref["pred_joints_img"]).abs().max() < BF16_ATOL_UV


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")
@pytest.mark.parametrize("which", ["sf_model", "mf_model"])
def test_cuda_graph_replay_equals_eager(which, request):
    m = copy.deepcopy(request.getfixturevalue(which)).cuda()
    batch = _batch(m, 1, "cuda")
    assert_cuda_graph_replay_equals_eager(m, batch)


def test_device_crops_equal_host_crops():
    """The on-device crop path (run on CPU tensors here) equals the OpenCV path to 1e-4."""
    import numpy as np
    from handzoo_h2onet.preprocess import crop_hands

    from handzoo.query import make_query

    rng = np.random.default_rng(2)
    imgs = [rng.integers(0, 256, (120, 160, 3), dtype=np.uint8), rng.integers(0, 256, (90, 70, 3), dtype=np.uint8)]
    boxes = [np.array([[10.0, 20.0, 80.0, 100.0], [90.0, 5.0, 150.0, 60.0]]), np.array([[-4.0, 3.0, 50.0, 80.0]])]
    q = make_query(imgs, boxes, sides=[["right", "left"], ["left"]])
    host, meta_h = crop_hands(q, 128)
    dev, meta_d = crop_hands(q, 128, on_device=True)
    assert (dev - host).abs().max() < 1e-4
    torch.testing.assert_close(meta_d.inverse, meta_h.inverse, rtol=0, atol=0)
    np.testing.assert_array_equal(meta_d.boxes, meta_h.boxes)


@pytest.mark.parametrize("which", ["sf_model", "mf_model"])
def test_cpu_inference_plan_matches_the_modules(which, request):
    """The fused CPU plan (BatchNorm folded in float64, oneDNN convolutions) equals the plain
    modules at float32 noise level, and survives a deepcopy of its model."""
    from handzoo_h2onet.fast import mkldnn_available

    m = copy.deepcopy(request.getfixturevalue(which))
    batch = _batch(m, 2)
    with torch.inference_mode():
        fused = m(batch)
        assert bool(m.backbone._plan) == mkldnn_available()
        m.backbone.fuse_inference = False
        plain = m(batch)
    for k in ("pred_verts3d_w_gr", "pred_joints_img"):
        torch.testing.assert_close(fused[k], plain[k], rtol=0, atol=1e-5)
    copy.deepcopy(m)
