"""The shared BatchNorm folding and plan cache of the methods' CPU inference plans."""

from __future__ import annotations

import copy
import pickle

import torch
from torch import nn

from handzoo.backbones.fusion import PlanCache, fold_bn, fold_conv_bn, module_weights_key, weights_key


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


def _timm_trunk(name: str) -> nn.Module:
    import timm

    torch.manual_seed(2)
    net = timm.create_model(name, pretrained=False, num_classes=0, global_pool="")
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 1.5)
    return net.eval()


def test_fused_resnet_trunk_equals_the_eager_trunk_at_float32_noise():
    from handzoo.backbones.fusion import fused_resnet_trunk, mkldnn_available

    net = _timm_trunk("resnet18")
    x = torch.rand(2, 3, 64, 64)
    plan = fused_resnet_trunk(net)
    if not mkldnn_available():  # a torch build without oneDNN keeps the eager path
        assert plan is None
        return
    assert plan is not None
    with torch.inference_mode():
        ref = net.forward_features(x)
        got = plan(x)
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4 * float(ref.abs().max()))


def test_fused_resnet_trunk_declines_what_it_cannot_plan():
    from handzoo.backbones.fusion import fused_resnet_trunk

    net = _timm_trunk("resnet18")
    assert fused_resnet_trunk(copy.deepcopy(net).double()) is None  # float64 stays eager (exact)
    net.layer1[0].act1 = nn.GELU()  # not a plain ResNet block
    assert fused_resnet_trunk(net) is None


def test_packed_linear_equals_linear_and_relu():
    from handzoo.backbones.fusion import PackedLinear, mkldnn_available

    if not mkldnn_available():  # nothing to pack without oneDNN
        return
    torch.manual_seed(3)
    lin = nn.Linear(64, 32).eval()
    x = torch.randn(2, 3, 64)
    with torch.inference_mode():
        torch.testing.assert_close(PackedLinear(lin)(x), lin(x), rtol=1e-5, atol=1e-5)
        packed = PackedLinear(lin, relu=True)
        torch.testing.assert_close(packed(x), torch.relu(lin(x)), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(packed(x[0]), torch.relu(lin(x[0])), rtol=1e-5, atol=1e-5)  # another row count


def test_weights_key_follows_every_change_of_a_weight():
    conv, bn = _conv_bn(torch.float32, True)
    net = nn.Sequential(conv, bn)
    key = module_weights_key(net)
    assert module_weights_key(net) == key  # stable while nothing changes
    assert len(key) == len(list(net.parameters())) + len(list(net.buffers()))
    with torch.no_grad():
        conv.weight.mul_(1.0)  # in place, same values: the counter still moves
    assert module_weights_key(net) != key
    key = module_weights_key(net)
    conv.bias = nn.Parameter(conv.bias.detach().clone())  # replaced
    assert module_weights_key(net) != key
    key = module_weights_key(net)
    assert module_weights_key(net.double()) != key  # another dtype
    assert weights_key([conv.weight]) == module_weights_key(net)[:1]


def test_weights_key_accepts_inference_tensors():
    with torch.inference_mode():
        w = torch.ones(3)  # has no in-place counter
    assert weights_key([w])[0][1] == -1


def test_weights_key_with_a_kept_walk_follows_every_change_of_the_tree():
    conv, bn = _conv_bn(torch.float32, True)
    net = nn.Sequential(conv, bn)
    cache: dict = {}
    key = module_weights_key(net, cache)
    assert "weights_walk" in cache and module_weights_key(net, cache) == key
    with torch.no_grad():
        conv.weight.mul_(1.0)  # in place
    assert module_weights_key(net, cache) != key
    key = module_weights_key(net, cache)
    conv.bias = nn.Parameter(conv.bias.detach().clone())  # replaced
    assert module_weights_key(net, cache) != key
    key = module_weights_key(net, cache)
    net[1] = nn.BatchNorm2d(5)  # a submodule replaced
    assert module_weights_key(net, cache) != key
    key = module_weights_key(net, cache)
    conv.register_buffer("extra", torch.zeros(1))  # a tensor added
    assert module_weights_key(net, cache) != key
    key = module_weights_key(net, cache)
    assert module_weights_key(net.double(), cache) != key  # another dtype


def _module_by_module(plan: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    x = x.contiguous(memory_format=torch.channels_last)
    for module in plan:
        x = module(x)
    return x


def test_fused_trunk_runs_bound_calls_with_the_modules_numbers():
    from handzoo.backbones.fusion import FusedTrunk, fused_resnet_trunk, mkldnn_available

    if not mkldnn_available():
        return
    for name in ("resnet18", "resnet50"):  # basic and bottleneck blocks
        plan = fused_resnet_trunk(_timm_trunk(name))
        assert isinstance(plan, FusedTrunk)
        with torch.inference_mode():
            for shape in ((1, 3, 64, 64), (2, 3, 48, 64), (1, 3, 64, 64)):
                x = torch.rand(shape, generator=torch.Generator().manual_seed(sum(shape)))
                ref = _module_by_module(plan, x)
                first, again = plan(x), plan(x)  # binding, then the bound calls
                assert torch.equal(first, ref) and torch.equal(again, ref)
            assert len(plan._programs) == 2
            head, tail = plan[:5], plan[5:]
            assert isinstance(head, FusedTrunk) and isinstance(tail, FusedTrunk)
            assert torch.equal(tail(head(x)), plan(x))


def test_fused_trunk_calls_what_it_cannot_bind_as_a_module():
    from handzoo.backbones.fusion import FusedConv2d, fused_resnet_trunk, mkldnn_available

    if not mkldnn_available():
        return
    plan = fused_resnet_trunk(_timm_trunk("resnet18"))
    calls = []

    class Spy(nn.Module):
        def forward(self, x):
            calls.append("spy")
            return x * 1.0

    class OtherAlgorithm(nn.Module):  # a replacement convolution that binds only on small inputs
        def __init__(self, direct: FusedConv2d) -> None:
            super().__init__()
            self.direct = direct

        def direct_for(self, shape):
            return self.direct if shape[-1] <= 8 else None

        def forward(self, x, residual=None):
            calls.append(("other", x.shape[-1]))
            return self.direct(x, residual)

    plan[1] = nn.Sequential(plan[1], Spy())  # after the max-pool
    plan[2].convs[0] = OtherAlgorithm(plan[2].convs[0])  # layer1: 16x16 maps -> a module call
    plan[-1].convs[1] = OtherAlgorithm(plan[-1].convs[1])  # layer4: 2x2 maps -> bound
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        ref = _module_by_module(plan, x)
        calls.clear()
        for _ in range(2):
            assert torch.equal(plan(x), ref)
    assert calls == ["spy", ("other", 16)] * 2
