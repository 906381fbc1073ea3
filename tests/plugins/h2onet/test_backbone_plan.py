"""H2ONet backbone's CPU plan: the channels-last space-to-depth with permuted squeeze weights is
the same function as the authors' Reorg followed by the original squeeze."""

from __future__ import annotations

import torch
from handzoo_h2onet.backbone import (
    DenseStackBackbone,
    s2d_nhwc_channel_order,
    space_to_depth,
    space_to_depth_nhwc,
)


def test_nhwc_space_to_depth_is_a_channel_permutation_of_reorg():
    x = torch.randn(2, 5, 6, 8).contiguous(memory_format=torch.channels_last)
    got = space_to_depth_nhwc(x)
    assert got.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, space_to_depth(x)[:, s2d_nhwc_channel_order(5)], rtol=0, atol=0)


def test_plan_equals_the_plain_backbone_at_float32_noise():
    torch.manual_seed(0)
    net = DenseStackBackbone(c=16, cout=8, latent=64).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        net.fuse_inference = False
        ref = net(x)
        net.fuse_inference = True
        got = net(x)
    for r, g in zip(ref, got):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-4 * float(r.abs().max()))


def test_plan_runs_on_weights_converted_inside_inference_mode():
    torch.manual_seed(0)
    net = DenseStackBackbone(c=16, cout=8, latent=64).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        ref = net(x)
        net = net.double().float()  # inference tensors: no in-place counter to key the plan on
        assert next(net.parameters()).is_inference()
        got = net(x)
    for r, g in zip(ref, got):
        torch.testing.assert_close(g, r, rtol=0, atol=0)
