"""The inference plan of the 3D-hand trunk: a chunked batch gives each image's own features."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch
from handzoo_3dhand import backbone as bb
from handzoo_3dhand.backbone import ThreeDHandResNet, ThreeDHandStem

from handzoo.backbones.workers import worker_pool


def _trunk(dtype: torch.dtype, in_channels: int) -> ThreeDHandResNet:
    torch.manual_seed(0)
    stem = ThreeDHandStem(in_channels) if in_channels != 3 else None
    net = ThreeDHandResNet("resnet18", stem=stem).to(dtype).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so folding matters
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return net


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["plan", "eager"])
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_chunked_batch_matches_one_image_at_a_time(monkeypatch, dtype, channels_last) -> None:
    net = _trunk(dtype, 24)
    x = torch.rand(5, 24, 64, 64, generator=torch.Generator().manual_seed(1), dtype=dtype)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        singles = torch.cat([net(x[i : i + 1])[0] for i in range(5)])
        monkeypatch.setattr(bb, "CHUNK_BYTES", 2 * 64 * 32 * 32 * x.element_size())  # two images a chunk
        chunked = net(x)[0]
        again = net(x)[0]  # the kept input buffer is reused
    assert chunked.shape == (5, 512, 2, 2)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(chunked, singles, rtol=0, atol=tol)
    torch.testing.assert_close(again, chunked, rtol=0, atol=0)
    if not channels_last:  # one kept buffer of two images; the last chunk (one image) uses part of it
        (buf,) = net._fused_cache["inputs"].values()
        assert buf.shape == (2, 24, 64, 64)


def test_chunked_plan_matches_the_unfused_trunk(monkeypatch) -> None:
    net = _trunk(torch.float32, 3)
    x = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    monkeypatch.setattr(bb, "CHUNK_BYTES", 1)  # one image a chunk
    with torch.no_grad():
        fused = net(x)[0]
        net.fuse_inference = False
        plain = net(x)[0]
    torch.testing.assert_close(fused, plain, rtol=0, atol=1e-4)


@pytest.mark.parametrize("inference", [False, True], ids=["no_grad", "inference_mode"])
def test_batch_split_across_threads_matches_one_image_at_a_time(inference) -> None:
    net = _trunk(torch.float32, 3)
    x = torch.rand(5, 3, 64, 64, generator=torch.Generator().manual_seed(5))
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # two parts of two images on the pool's threads, the fifth on the caller's
    try:
        with torch.inference_mode() if inference else torch.no_grad():
            singles = torch.cat([net(x[i : i + 1])[0] for i in range(5)])
            split = net(x)[0]
        assert torch.get_num_threads() == 2  # the caller's setting is kept
        pool = worker_pool(2, 1)  # the kept pool the split ran on
        assert [pool.submit(torch.get_num_threads).result() for _ in range(4)] == [1] * 4  # one thread each
    finally:
        torch.set_num_threads(before)
    assert split.is_inference() == inference  # the workers ran in the caller's mode
    torch.testing.assert_close(split, singles, rtol=0, atol=1e-5)


_FORKED: dict = {}


def test_a_forked_child_starts_its_own_pool() -> None:
    import multiprocessing

    net = _trunk(torch.float32, 3)
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with torch.no_grad():
            ref = net(x)[0]  # the parent's pool exists now
        _FORKED.update(net=net, x=x, ref=ref)  # inherited by the forked child (the plan cannot be pickled)
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(1) as pool:  # the child splits the batch on new threads instead of hanging
            err = pool.apply_async(_split_in_child).get(timeout=120)
    finally:
        torch.set_num_threads(before)
        _FORKED.clear()
    assert err <= 1e-5


def _split_in_child() -> float:
    torch.set_num_threads(2)
    with torch.no_grad():
        got = _FORKED["net"](_FORKED["x"])[0]
    return float((got - _FORKED["ref"]).abs().max())


def test_the_plan_follows_changed_weights_and_replaced_parts() -> None:
    net = _trunk(torch.float32, 3)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(7))

    def plain() -> torch.Tensor:
        net.fuse_inference = False
        try:
            return net(x)[0]
        finally:
            net.fuse_inference = True

    with torch.no_grad():
        net(x)
        net.layer1[0].bn1.running_mean.add_(0.5)  # in place: a new version
        torch.testing.assert_close(net(x)[0], plain(), rtol=0, atol=1e-4)
        net.layer2[1].conv2 = torch.nn.Conv2d(128, 128, 3, 1, 1, bias=False)  # a replaced submodule
        torch.testing.assert_close(net(x)[0], plain(), rtol=0, atol=1e-4)
        net.layer4[0].bn2.weight = torch.nn.Parameter(torch.rand(512))  # a replaced parameter
        torch.testing.assert_close(net(x)[0], plain(), rtol=0, atol=1e-4)
        net.load_state_dict({k: v * 0.5 if v.is_floating_point() else v for k, v in net.state_dict().items()})
        torch.testing.assert_close(net(x)[0], plain(), rtol=0, atol=1e-4)


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_model_copied_after_inference_starts_without_the_plan(how: str) -> None:
    """The plan holds pre-packed oneDNN weights, which can be neither copied nor pickled: a copy of a
    model that has run starts without it and builds its own, with the same outputs."""
    net = _trunk(torch.float32, 3)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        ref = net(x)
    twin = copy.deepcopy(net) if how == "deepcopy" else pickle.loads(pickle.dumps(net))
    with torch.inference_mode():
        out = twin(x)
    for a, b in zip(out, ref):
        assert torch.equal(a, b)
