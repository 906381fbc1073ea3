"""The neck's oneDNN plan (packed non-overlapping deconvolutions, folded NCHW fusion conv) computes
the same map as the plain layers: float32 noise in float32, and float64 never takes it."""

from __future__ import annotations

import torch
from handzoo_smhr.neck import CSPNeck

from handzoo.backbones.fusion import mkldnn_available


def _neck_and_maps(dtype: torch.dtype) -> tuple[CSPNeck, list[torch.Tensor]]:
    torch.manual_seed(0)
    neck = CSPNeck(in_channels=(16, 32, 64), channels=8).to(dtype).eval()
    with torch.no_grad():
        neck.feat_bn.running_mean.uniform_(-0.2, 0.2)
        neck.feat_bn.running_var.uniform_(0.5, 2.0)
    maps = [torch.randn(2, c, s, s, dtype=dtype) for c, s in ((16, 8), (32, 4), (64, 2))]
    return neck, maps


def test_onednn_plan_equals_the_plain_layers_in_float32():
    neck, maps = _neck_and_maps(torch.float32)
    with torch.inference_mode():
        neck.fast = False
        ref = neck(maps)
        neck.fast = True
        got = neck(maps)
        again = neck(maps)  # the cached plan
    assert (neck._plan.get("key") is not None) == mkldnn_available()
    assert got.shape == ref.shape == (2, 8, 16, 16)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(again, got, rtol=0, atol=0)


def test_float64_and_training_do_not_use_the_plan():
    neck, maps = _neck_and_maps(torch.float64)
    with torch.inference_mode():
        neck(maps)
    assert neck._plan.get("key") is None
    neck32, maps32 = _neck_and_maps(torch.float32)
    neck32(maps32)  # autograd on: the plain layers
    assert neck32._plan.get("key") is None
