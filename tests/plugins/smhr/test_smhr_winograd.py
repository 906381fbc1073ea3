"""Winograd F(2x2, 3x3) at SMHR's CPU inference: the convolution it replaces to float32 rounding,
the centre patches bit for bit, and the model's outputs at the centres unchanged."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from handzoo_smhr.heads import SMHRHeads, _patches
from handzoo_smhr.neck import CSPNeck
from handzoo_smhr.winograd import Winograd3x3, zero_border


def _padded(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, H + 2, W + 2, C) with a zero frame."""
    n, c, h, w = x.shape
    out = zero_border(x.new_empty(n, h + 2, w + 2, c))
    out[:, 1:-1, 1:-1] = x.permute(0, 2, 3, 1)
    return out


@pytest.mark.parametrize("band_tiles", [7, 512])  # bands that leave a remainder; one band
def test_winograd_is_the_direct_convolution_to_float32_rounding(band_tiles: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 24, 10, 14)
    w = torch.randn(16, 24, 3, 3) * 0.2
    b = torch.randn(16)
    ref = F.conv2d(x.double(), w.double(), b.double(), padding=1)
    direct = F.conv2d(x, w, b, padding=1)
    wino = Winograd3x3(w.double(), b, band_tiles=band_tiles)
    with torch.inference_mode():
        out = wino(_padded(x), relu=True)
        phases = torch.empty(2, 10, 14, 16)

        def keep(idx: int, r0: int, y: torch.Tensor) -> None:
            a, c = divmod(idx, 2)
            phases[:, a + 2 * r0 : a + 2 * (r0 + y.shape[1]) : 2, c::2] = y

        assert wino(_padded(x), phase_fn=keep) is None
    assert out.shape == (2, 12, 16, 16)
    assert float(out[:, 0].abs().max()) == 0 and float(out[:, :, -1].abs().max()) == 0  # the zero frame
    got = out[:, 1:-1, 1:-1].permute(0, 3, 1, 2)
    err = float((phases.permute(0, 3, 1, 2).double() - ref).abs().max())
    direct_err = float((direct.double() - ref).abs().max())
    assert err <= 4 * direct_err + 1e-7, (err, direct_err)  # float32 rounding of a direct convolution
    torch.testing.assert_close(got, F.relu(phases.permute(0, 3, 1, 2)), rtol=0, atol=0)


def _neck() -> tuple[CSPNeck, list[torch.Tensor]]:
    torch.manual_seed(0)
    neck = CSPNeck(in_channels=(16, 32, 64), channels=8).eval()
    with torch.no_grad():
        neck.feat_bn.running_mean.uniform_(-0.2, 0.2)
        neck.feat_bn.running_var.uniform_(0.5, 2.0)
    return neck, [torch.randn(2, c, s, s) for c, s in ((16, 8), (32, 4), (64, 2))]


def test_inference_maps_and_centre_patches_are_the_plain_fusion_map() -> None:
    neck, maps = _neck()
    ind = torch.tensor([[0, 15, 255], [17, 240, 130]])  # corners, edges and an inner cell of 16 x 16
    with torch.inference_mode():
        plain = neck(maps)  # the oneDNN plan: direct folded convolution (NCHW)
        cat, feat = neck.inference_maps(maps)
        patches = neck.centre_patches(cat, ind)
    assert cat.shape == (2, 20, 20, 24) and feat.shape == (2, 18, 18, 8)
    torch.testing.assert_close(feat[:, 1:-1, 1:-1].permute(0, 3, 1, 2), plain, rtol=1e-5, atol=1e-5)
    # the heads' input at the centres: bit for bit the plain map's zero-padded 3x3 neighbourhoods
    torch.testing.assert_close(patches, _patches(plain, ind), rtol=0, atol=0)
    assert neck.inference_maps(maps) is None  # autograd on: no inference plan


def test_hm_head_as_winograd_is_the_plain_head() -> None:
    torch.manual_seed(0)
    heads = SMHRHeads(["hm", "params"], in_channels=8, mid_channels=12).eval()
    torch.nn.init.normal_(heads.hm[0].weight, std=0.3)
    feat = torch.randn(2, 8, 16, 12).relu()
    with torch.inference_mode():
        ref = heads.hm(feat)
        got = heads.hm_winograd(_padded(feat))
        again = heads.hm_winograd(_padded(feat))  # the cached plan
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(again, got, rtol=0, atol=0)


def test_model_outputs_at_the_centres_do_not_change() -> None:
    from handzoo_smhr.model import SMHR

    torch.manual_seed(0)
    model = SMHR(
        backbone={"type": "SMHRResNetTrunk", "name": "resnet18"},
        neck={"type": "SMHRCSPNeck", "channels": 16},
        heads={"type": "SMHRHeads", "heads": ["hm", "params", "handmap"], "mid_channels": 16},
        hand_model="openhand",
        input_size=256,
        max_hands=2,
    ).eval()
    for p in model.heads.parameters():
        torch.nn.init.normal_(p, std=0.05)
    x = torch.randn(5, 3, 256, 256)  # 2^18 // 256^2 = 4 images per chunk: two chunks
    with torch.inference_mode():
        fast = model({"img": x})
        model.winograd = False
        plain = model({"img": x})
        given = model({"img": x, "ind": fast["ind"]})
        model.winograd = True
        given_fast = model({"img": x, "ind": fast["ind"]})
    assert fast["ind"].shape == (5, 2)
    torch.testing.assert_close(fast["ind"], plain["ind"], rtol=0, atol=0)
    torch.testing.assert_close(fast["hm"], plain["hm"], rtol=1e-5, atol=1e-5)
    for key in ("params", "handedness", "vertices", "joints3d"):
        torch.testing.assert_close(fast[key], plain[key], rtol=0, atol=0, msg=key)
        torch.testing.assert_close(given_fast[key], given[key], rtol=0, atol=0, msg=key)


def test_blocked_trunk_is_the_plain_trunk_bit_for_bit() -> None:
    from handzoo_smhr.backbone import TimmResNetTrunk, _BlockedTrunk

    torch.manual_seed(0)
    trunk = TimmResNetTrunk(name="resnet26").eval()  # bottleneck blocks, as resnet50
    for m in trunk.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    x = torch.randn(3, 3, 64, 96)
    before = torch.get_num_threads()
    try:
        with torch.inference_mode():
            torch.set_num_threads(1)  # one thread: PyTorch runs small 1x1 convolutions elsewhere
            one = trunk(x)
            assert trunk._fused_cache.get("blocked") is None
            torch.set_num_threads(2)
            got = trunk(x)
            assert isinstance(trunk._fused_cache.get("blocked"), _BlockedTrunk)
            ref = list(trunk.body(x))
    finally:
        torch.set_num_threads(before)
    for a, b, c in zip(got, ref, one):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
        torch.testing.assert_close(c, b, rtol=1e-5, atol=1e-5)
    assert _BlockedTrunk.build(TimmResNetTrunk(name="resnet18").body, (2, 3, 4)) is None  # basic blocks


def test_reused_buffers_give_the_same_maps_and_do_not_travel_with_copies() -> None:
    import copy
    import pickle

    neck, maps = _neck()
    with torch.inference_mode():
        cat, feat = neck.inference_maps(maps, reuse=True)
        first = (cat.clone(), feat.clone())
        small = neck.inference_maps([m[:1] for m in maps], reuse=True)  # a smaller chunk: the same buffer
        assert small[0].data_ptr() == cat.data_ptr()
        again = neck.inference_maps(maps, reuse=True)
        fresh = neck.inference_maps(maps)
    for a, b, c in zip(first, again, fresh):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
        torch.testing.assert_close(a, c, rtol=0, atol=0)
    clone = copy.deepcopy(neck)
    assert "local" not in clone.__dict__.get("_scratch", {})
    pickle.dumps(neck)
