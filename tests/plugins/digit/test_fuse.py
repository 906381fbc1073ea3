"""The blocked-layout plan's layers equal PyTorch's own float32 modules bit for bit."""

from __future__ import annotations

import pytest
import torch
from handzoo_digit.fuse import _layer, authors_batch
from torch import nn


def _seeded_bn(c: int, g: torch.Generator) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(c).eval()
    with torch.no_grad():
        bn.weight.copy_(0.45 + 0.3 * torch.randn(c, generator=g))
        bn.weight[:3] = torch.tensor([0.0, 1e-7, 40.0])  # a dead, a tiny and a large scale
        bn.bias.copy_(0.1 * torch.randn(c, generator=g))
        bn.running_mean.copy_(0.2 * torch.randn(c, generator=g))
        bn.running_var.copy_(0.5 + torch.rand(c, generator=g))
    return bn


@pytest.mark.parametrize(
    ("cin", "cout", "k", "stride", "hw"), [(16, 32, 3, 1, 20), (32, 48, 3, 2, 17), (48, 24, 1, 1, 9)]
)
def test_conv_bn_relu_equal_the_modules(cin: int, cout: int, k: int, stride: int, hw: int) -> None:
    g = torch.Generator().manual_seed(cin * 100 + cout)
    conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) / (cin * k * k) ** 0.5)
    seq = nn.Sequential(conv, _seeded_bn(cout, g), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2)).eval()
    plan = _layer(seq)
    for n in (1, 2):  # 1x1 convolutions of few images on one thread use PyTorch's own kernel
        x = torch.randn(n, cin, hw, hw, generator=g)
        with torch.inference_mode():
            ref = seq(x.clone())
            with authors_batch(n):
                ours = plan(x.to_mkldnn()).to_dense()
        assert torch.equal(ours, ref)


def test_batch_norm_alone_equals_pytorch() -> None:
    g = torch.Generator().manual_seed(3)
    bn = _seeded_bn(40, g)
    x = 3 * torch.randn(2, 40, 11, 13, generator=g)
    with torch.inference_mode():
        assert torch.equal(_layer(bn)(x.to_mkldnn()).to_dense(), bn(x))


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_nearest_upsampling_equals_pytorch(scale: int) -> None:
    up = nn.Upsample(scale_factor=float(scale), mode="nearest")
    plan = _layer(up)
    assert type(plan).__name__ == "_NearestUp"
    x = torch.randn(1, 24, 5, 7, generator=torch.Generator().manual_seed(scale))
    with torch.inference_mode():
        assert torch.equal(plan(x.to_mkldnn()).to_dense(), up(x))
    # other factors and modes keep PyTorch's own kernel
    assert type(_layer(nn.Upsample(scale_factor=3.0, mode="nearest"))).__name__ == "_OnDense"
    assert type(_layer(nn.Upsample(scale_factor=2.0, mode="bilinear"))).__name__ == "_OnDense"
