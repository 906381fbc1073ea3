"""Model-1's stem convolving each heatmap only around its nonzero block (``mapstem``)."""

from __future__ import annotations

import numpy as np
import pytest
import tdh_testutils as tu
import torch
from handzoo_3dhand.backbone import ThreeDHandResNet, ThreeDHandStem
from handzoo_3dhand.mapstem import SparseMapStem, map_blocks
from hypothesis import given, settings
from hypothesis import strategies as st

from handzoo.backbones.fusion import FusedConv2d


def _brute_blocks(maps: np.ndarray, k: int, s: int, p: int) -> dict[tuple[int, int], tuple[int, int, int, int]]:
    """Per (image, channel): the box of the outputs whose window meets the nonzeros' bounding box."""
    n, c, h, w = maps.shape
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    out = {}
    for b in range(n):
        for ch in range(c):
            ys, xs = np.nonzero((maps[b, ch] != 0) | np.isnan(maps[b, ch]))
            if ys.size == 0:
                continue
            r0, r1, c0, c1 = ys.min(), ys.max(), xs.min(), xs.max()
            rows = [i for i in range(ho) if s * i - p <= r1 and s * i - p + k - 1 >= r0]
            cols = [j for j in range(wo) if s * j - p <= c1 and s * j - p + k - 1 >= c0]
            if rows and cols:
                out[(b, ch)] = (rows[0], rows[-1], cols[0], cols[-1])
    return out


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    h=st.integers(1, 14),
    w=st.integers(1, 14),
    k=st.integers(1, 5),
    s=st.integers(1, 3),
    data=st.data(),
)
def test_blocks_are_the_outputs_each_channel_reaches(n, c, h, w, k, s, data) -> None:
    p = data.draw(st.integers(0, k - 1))
    if h + 2 * p < k or w + 2 * p < k:
        return
    maps = np.zeros((n, c, h, w), dtype=np.float32)
    for _ in range(data.draw(st.integers(0, 6))):
        idx = tuple(data.draw(st.integers(0, d - 1)) for d in maps.shape)
        maps[idx] = data.draw(st.sampled_from([1.0, -2.5, 1e-30, np.inf, np.nan]))
    got = {
        (int(r[0]), int(r[1])): tuple(int(v) for v in r[2:])
        for r in map_blocks(torch.from_numpy(maps), (k, k), (s, s), (p, p))
    }
    assert got == _brute_blocks(maps, k, s, p)
    # the rows come in image, then channel order
    keys = [key for key in got]
    assert keys == sorted(keys)


def _stem(in_channels: int = 24, out_channels: int = 16) -> FusedConv2d:
    torch.manual_seed(3)
    conv = torch.nn.Conv2d(in_channels, out_channels, 7, stride=2, padding=3, bias=False)
    bn = torch.nn.BatchNorm2d(out_channels).eval()
    with torch.no_grad():
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 1.5)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    return FusedConv2d(conv, bn, relu=True)


def _sparse_input(n: int = 3, size: int = 64) -> torch.Tensor:
    """Dense colour channels and 21 maps that are zero outside small blocks (some clipped, one empty)."""
    g = torch.Generator().manual_seed(5)
    x = torch.zeros(n, 24, size, size)
    x[:, :3] = torch.rand(n, 3, size, size, generator=g)
    rng = np.random.default_rng(2)
    for b in range(n):
        for ch in range(3, 24):
            if ch == 10 + b:
                continue  # an empty map
            y, xx = (int(v) for v in rng.integers(-3, size + 3, 2))
            y0, y1, x0, x1 = max(y - 4, 0), min(y + 5, size), max(xx - 4, 0), min(xx + 5, size)
            if y0 < y1 and x0 < x1:
                x[b, ch, y0:y1, x0:x1] = torch.rand(y1 - y0, x1 - x0, generator=g)
    return x.contiguous(memory_format=torch.channels_last)


def test_sparse_stem_matches_the_dense_convolution() -> None:
    dense = _stem()
    sparse = SparseMapStem(dense)
    x = _sparse_input()
    with torch.inference_mode():
        ref, got = dense(x), sparse(x)
        one = torch.cat([sparse(x[i : i + 1]) for i in range(x.shape[0])])
    assert got.shape == ref.shape and got.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(one, got, rtol=1e-6, atol=1e-6)  # each image its own blocks
    assert (got >= 0).all()


def test_a_nan_in_a_map_reaches_the_outputs_it_reaches_eagerly() -> None:
    dense, x = _stem(), _sparse_input(1)
    ys, xs = torch.nonzero(x[0, 5], as_tuple=True)
    x[0, 5, ys[0], xs[0]] = float("nan")  # inside the channel's block: the sparse path runs
    stem = SparseMapStem(dense)
    with torch.inference_mode():
        got = stem(x)
        ref = torch.relu(torch.nn.functional.conv2d(x, dense.weight, dense.bias, stride=2, padding=3))
    assert torch.equal(torch.isnan(got), torch.isnan(ref)) and torch.isnan(got).any()
    keep = ~torch.isnan(ref)
    torch.testing.assert_close(got[keep], ref[keep], rtol=1e-5, atol=1e-5)


def test_all_zero_maps_give_the_colour_convolution() -> None:
    dense, x = _stem(), _sparse_input(2)
    x[:, 3:] = 0
    with torch.inference_mode():
        torch.testing.assert_close(SparseMapStem(dense)(x), dense(x), rtol=1e-5, atol=1e-5)


def test_dense_maps_run_the_dense_convolution(monkeypatch) -> None:
    dense = _stem()
    sparse = SparseMapStem(dense)
    calls = []
    monkeypatch.setattr(sparse, "_add_blocks", lambda *a: calls.append("blocks"))
    x = torch.rand(2, 24, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert torch.equal(sparse(x), dense(x))  # the same call: bit for bit
        sparse(_sparse_input(2))
    assert calls == ["blocks"]


@pytest.mark.parametrize(
    "stem",
    [
        lambda: FusedConv2d(torch.nn.Conv2d(24, 8, 3), relu=False),  # no ReLU to put after the sum
        lambda: FusedConv2d(torch.nn.Conv2d(24, 8, 3, dilation=2), relu=True),
        lambda: FusedConv2d(torch.nn.Conv2d(3, 8, 3), relu=True),  # no maps
    ],
    ids=["no-relu", "dilated", "colour-only"],
)
def test_unsupported_stems_are_refused(stem) -> None:
    with pytest.raises(ValueError, match="SparseMapStem needs"):
        SparseMapStem(stem())


def test_the_trunk_plan_uses_it_for_model1_only() -> None:
    torch.manual_seed(0)
    wide = ThreeDHandResNet("resnet18", stem=ThreeDHandStem(24)).eval()
    rgb = ThreeDHandResNet("resnet18").eval()
    x = _sparse_input(2)
    with torch.inference_mode():
        assert isinstance(wide._fused()[0], SparseMapStem)
        assert not isinstance(rgb._fused()[0], SparseMapStem)
        planned = wide(x)[0]
    with torch.no_grad():
        wide.fuse_inference = False
        eager = wide(x)[0]
    torch.testing.assert_close(planned, eager, rtol=0, atol=1e-4)


def test_the_preprocessing_kind_of_heatmaps_takes_the_block_path(monkeypatch) -> None:
    torch.manual_seed(0)
    net = ThreeDHandResNet("resnet18", stem=ThreeDHandStem(24)).eval()
    with torch.inference_mode():
        stem = net._fused()[0]
        calls = []
        add = stem._add_blocks
        monkeypatch.setattr(stem, "_add_blocks", lambda *a: calls.append(a[2].shape) or add(*a))
        net(tu.seeded_map_inputs(1))
    assert calls == [(20, 6)]  # 21 maps, one outside the crop
