"""The shared BatchNorm folding and plan cache of the methods' CPU inference plans."""

from __future__ import annotations

import copy
import pickle

import torch
from torch import nn

from handzoo.backbones.fusion import PlanCache, fold_bn, fold_conv_bn


def _conv_bn(dtype: torch.dtype, bias: bool) -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 5, 3, padding=1, bias=bias).to(dtype)
    bn = nn.BatchNorm2d(5).to(dtype).eval()
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-1, 1)
    return conv, bn


def test_folded_convolution_equals_conv_then_bn_in_float64():
    for bias in (False, True):
        conv, bn = _conv_bn(torch.float64, bias)
        x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
        folded = fold_conv_bn(conv, bn)
        assert folded.weight.dtype == torch.float64 and folded.bias is not None
        torch.testing.assert_close(folded(x), bn(conv(x)), rtol=0, atol=1e-12)


def test_fold_bn_works_for_linear_layers_and_keeps_the_dtype():
    torch.manual_seed(1)
    lin, bn = nn.Linear(4, 6), nn.BatchNorm1d(6).eval()
    with torch.no_grad():
        bn.running_var.uniform_(0.5, 2)
    w, b = fold_bn(lin.weight, lin.bias, bn)
    assert w.dtype == torch.float32 and w.shape == lin.weight.shape
    x = torch.randn(3, 4)
    torch.testing.assert_close(x @ w.T + b, bn(lin(x)), rtol=1e-5, atol=1e-5)


def test_plan_cache_starts_empty_in_copies_and_pickles():
    cache = PlanCache(key=1, module=nn.Identity())
    assert copy.deepcopy(cache) == {} and pickle.loads(pickle.dumps(cache)) == {}
