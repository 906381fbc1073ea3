"""Winograd F(2x2, 3x3) convolutions of the 3D-hand trunk: same numbers as the direct convolution."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from handzoo_3dhand import winograd as wg
from handzoo_3dhand.winograd import WinogradConv2d, winograd_weight

from handzoo.backbones.fusion import FusedConv2d


def _conv(cin: int, cout: int, relu: bool) -> tuple[torch.nn.Conv2d, FusedConv2d]:
    torch.manual_seed(3)
    conv = torch.nn.Conv2d(cin, cout, 3, 1, 1, bias=True).eval()
    return conv, FusedConv2d(conv, None, relu=relu)


@pytest.mark.parametrize("size", [(8, 8), (7, 5)], ids=["even", "odd"])
@pytest.mark.parametrize("with_residual", [False, True], ids=["plain", "residual"])
def test_winograd_matches_the_convolution(monkeypatch, size, with_residual) -> None:
    conv, direct = _conv(32, 48, relu=with_residual)
    wconv = WinogradConv2d(direct, conv.weight.double())
    g = torch.Generator().manual_seed(4)
    x = torch.randn(5, 32, *size, generator=g).contiguous(memory_format=torch.channels_last)
    res = torch.randn(5, 48, *size, generator=g).contiguous(memory_format=torch.channels_last)
    monkeypatch.setattr(wg, "MIN_TILES", 1)
    monkeypatch.setattr(wg, "CHUNK_BYTES", 1)  # one image a chunk
    with torch.inference_mode():
        ref = F.conv2d(x.double(), conv.weight.double(), conv.bias.double(), padding=1)
        if with_residual:
            ref = torch.relu(ref + res.double())
        got = wconv(x, res if with_residual else None)
        err_direct = (direct(x, res if with_residual else None).double() - ref).abs().max()
    assert got.shape == ref.shape and got.is_contiguous(memory_format=torch.channels_last)
    err = (got.double() - ref).abs().max()
    assert err <= max(2 * float(err_direct), 1e-6), (float(err), float(err_direct))


def test_small_batches_take_the_direct_convolution() -> None:
    conv, direct = _conv(16, 16, relu=True)
    wconv = WinogradConv2d(direct)
    x = torch.randn(1, 16, 8, 8).contiguous(memory_format=torch.channels_last)  # 16 tiles < MIN_TILES
    with torch.inference_mode():
        assert torch.equal(wconv(x), direct(x))


def test_only_3x3_stride_1_convolutions() -> None:
    with pytest.raises(ValueError, match="3x3"):
        winograd_weight(torch.zeros(4, 4, 1, 1))
    strided = FusedConv2d(torch.nn.Conv2d(4, 4, 3, 2, 1))
    with pytest.raises(ValueError, match="stride-1"):
        WinogradConv2d(strided)
