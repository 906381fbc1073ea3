"""DIGIT's heads for one image on two workers with one intra-op thread each, the authors' bits kept.

At batch 1 one image's convolutions split poorly across OpenMP threads (about 1.5x on two idle
threads for these heads). The default plan's heads split instead into pieces of equal work that
run side by side on :func:`handzoo.backbones.workers.run_parallel` workers, one thread each:

* the segmentation head and the merge's encoder (the 128x128 maps): the top and the bottom half of
  the rows, each with the few rows more that its 'same' convolutions read (the halo);
* the U-Net: its 64x64 and 32x32 levels by row halves again, the smaller ones by each
  convolution's output channels in two halves, each half with its BatchNorm, ReLU and max-pool
  (per-channel layers), put together before the next convolution;
* the U-Net's 1x1 output convolution and the root trunk's full-resolution convolutions: row
  halves again; the rest of the root trunk by output-channel halves;
* the joint head: its heatmap and depth convolutions, one each, on the whole merged map (its
  42-output 1x1 convolutions round differently on a slice of the rows).

oneDNN (and PyTorch's own kernel, for the convolutions the authors' call routes there) computes
each output row and each output channel of these slices exactly as in the whole map, and every
piece takes the kernel PyTorch picks for the whole call
(:func:`~handzoo_digit.fuse.authors_batch`), so the outputs equal the one-piece plan's bit for
bit. That was checked on DIGIT's own layer shapes (``tests/plugins/digit/test_taskgraph.py``);
other widths run the heads as they are.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from handzoo.backbones.workers import run_parallel

from .fuse import _Conv, _JointHead, _MaxPool, _Merge, _ReLU, _RootHandHead, _SegmHead, _Seq, _UNet

__all__ = ["heads_in_lanes", "segm_and_encoder_in_lanes"]


# DIGIT's feature map, merged channels and joint maps at 256x256 crops: the shapes on which the
# pieces were checked to equal the whole maps bit for bit (other shapes run the heads as they are)
_VERIFIED = ((1, 32, 64, 64), 544, 42)


def _dense(x: torch.Tensor) -> torch.Tensor:
    return x.to_dense() if x.is_mkldnn else x


def _halo(seq: nn.Module) -> int | None:
    """Rows a chain of stride-1 'same' convolutions and element-wise layers reads beyond its output rows.

    None when ``seq`` holds anything else (its rows would not map one to one).
    """
    halo = 0
    for m in seq.modules():
        if isinstance(m, _Conv):
            k = m.weight.shape[-2]
            if m.stride != [1, 1] or m.dilation != [1, 1] or m.padding[0] != (k - 1) // 2 or k % 2 == 0:
                return None
            halo += (k - 1) // 2
        elif not isinstance(m, (_Seq, _ReLU)):
            return None
    return halo


def _out_channels(seq: nn.Module) -> int:
    """Output channels of a chain: those of its last dense convolution."""
    return [m for m in seq.modules() if isinstance(m, _Conv) and m.groups == 1][-1].weight.shape[0]


def _authors_kernels_kept(seq: nn.Module, full: tuple[int, ...], rows: int) -> bool:
    """Whether every convolution of ``seq`` picks the same kernel on ``rows`` rows of a map as on all of it."""
    for m in seq.modules():
        if isinstance(m, _Conv) and m.groups == 1:
            part = (*full[:2], rows, full[3])
            if m._authors_use_onednn(full) != m._authors_use_onednn(part):
                return False
            full = (full[0], m.weight.shape[0], *full[2:])
    return True


def segm_and_encoder_in_lanes(
    segm_head: nn.Module, merge: nn.Module, feature: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The part logits and the U-Net's input (plain) of one image, row halves on two workers.

    The segmentation head's convolutions and the merge's encoder (convolutions, ReLU, a 2x2
    max-pool) are 'same' convolutions: a block of output rows needs only its rows of input and a
    few more (the halo). Each worker runs every layer of the chain on its half of the rows plus
    the halo. Returns ``(segm_logits, [feature, encoded logits])``, or None when the parts do
    not have this shape (the caller then runs them as they are).
    """
    if not (isinstance(segm_head, _SegmHead) and isinstance(merge, _Merge)):
        return None
    x = feature[0] if isinstance(feature, (list, tuple)) else feature
    if x.shape[0] != 1:
        return None
    enc = list(merge.encoder)
    if not enc or not isinstance(enc[-1], _MaxPool) or enc[-1].args[:3] != (2, 2, 0):
        return None
    enc_convs = _Seq(*enc[:-1])
    seg_chain = _Seq(*segm_head.decode, *segm_head.classify)
    seg_halo, enc_halo = _halo(seg_chain), _halo(enc_convs)
    if seg_halo is None or enc_halo is None or enc_halo % 2:
        return None
    up = segm_head.up(x.contiguous())
    _, _, h, w = up.shape
    half = h // 2
    if h % 4 or half < enc_halo + seg_halo:
        return None
    enc_in = (1, _out_channels(seg_chain), h, w)
    if not (
        _authors_kernels_kept(seg_chain, tuple(up.shape), half + seg_halo + enc_halo)
        and _authors_kernels_kept(enc_convs, enc_in, half + enc_halo)
    ):
        return None

    c_seg, c_enc = _out_channels(seg_chain), _out_channels(enc_convs)
    segm_logits = torch.empty(1, c_seg, h, w)
    unet_in = torch.empty(1, x.shape[1] + c_enc, h // 2, w // 2)  # [image feature, encoded logits]
    unet_in[:, : x.shape[1]] = x

    def rows(lo: int, hi: int) -> None:  # each worker writes its rows of both outputs
        s_lo, s_hi = max(0, lo - enc_halo), min(h, hi + enc_halo)  # logits rows the encoder reads
        u_lo, u_hi = max(0, s_lo - seg_halo), min(h, s_hi + seg_halo)
        seg = seg_chain(up[:, :, u_lo:u_hi].contiguous().to_mkldnn()).to_dense()[:, :, s_lo - u_lo : s_hi - u_lo]
        segm_logits[:, :, lo:hi] = seg[:, :, lo - s_lo : hi - s_lo]
        pooled = enc[-1](enc_convs(seg.contiguous().to_mkldnn())).to_dense()
        unet_in[:, x.shape[1] :, lo // 2 : hi // 2] = pooled[:, :, (lo - s_lo) // 2 : (hi - s_lo) // 2]

    run_parallel([lambda: rows(0, half), lambda: rows(half, h)], threads_each=1)
    return segm_logits, unet_in


# -- output-channel halves -------------------------------------------------------------------------


def _conv_part(conv: _Conv, lo: int, hi: int) -> _Conv:
    """Output channels ``lo:hi`` of a convolution (a depthwise one, i.e. a BatchNorm: its channels)."""
    depthwise = conv.groups > 1
    if depthwise and conv.groups != conv.weight.shape[0]:
        raise ValueError("only depthwise grouped convolutions split by channel")
    like = SimpleNamespace(
        padding=tuple(conv.padding),
        stride=tuple(conv.stride),
        dilation=tuple(conv.dilation),
        groups=hi - lo if depthwise else 1,
    )
    bias = conv.bias[lo:hi] if conv.bias is not None else None
    return _Conv(conv.weight[lo:hi], bias, like)  # type: ignore[arg-type]


def _units(seq: nn.Module) -> list[list[nn.Module]] | None:
    """``seq`` cut before each dense convolution: each piece = one convolution and its per-channel layers.

    None when a layer is neither a convolution nor per-channel (BatchNorm, ReLU, max-pool).
    """
    layers = list(seq) if isinstance(seq, _Seq) else [seq]
    units: list[list[nn.Module]] = []
    for m in layers:
        if isinstance(m, _Conv) and m.groups == 1:
            units.append([m])
        elif isinstance(m, (_Conv, _ReLU, _MaxPool)) and units:
            units[-1].append(m)
        else:
            return None
    return units


def _halves(unit: list[nn.Module]) -> tuple[_Seq, _Seq]:
    """The two output-channel halves of a unit (convolution, then per-channel layers)."""
    c = unit[0].weight.shape[0]
    half = -(-c // 32) * 16 if c > 16 else c // 2  # a whole number of oneDNN's 16-channel blocks first
    out = []
    for lo, hi in ((0, half), (half, c)):
        layers = [_conv_part(m, lo, hi) if isinstance(m, _Conv) else m for m in unit]
        out.append(_Seq(*layers))
    return out[0], out[1]


class _Split:
    """A chain of units, each run as two output-channel halves side by side; plain in, plain out."""

    def __init__(self, seq: nn.Module) -> None:
        units = _units(seq)
        if units is None:
            raise ValueError(f"cannot split {type(seq).__name__} by output channel")
        self.units = [_halves(u) for u in units]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.pooled(x, pool=False)[0]

    def pooled(self, x: torch.Tensor, pool: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The chain's plain output and (``pool``) its 2x2 max-pool, also taken on the workers."""

        def run(h: _Seq, t: torch.Tensor, last: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
            y = h(t)
            p = F.max_pool2d(y if y.is_mkldnn else y.to_mkldnn(), 2).to_dense() if pool and last else None
            return _dense(y), p

        p_out = None
        for i, (a, b) in enumerate(self.units):
            last = i == len(self.units) - 1
            x_in = x if x.is_mkldnn else x.contiguous().to_mkldnn()
            (ya, pa), (yb, pb) = run_parallel(
                [lambda h=a, t=x_in, e=last: run(h, t, e), lambda h=b, t=x_in, e=last: run(h, t, e)], threads_each=1
            )
            x = torch.cat([ya, yb], dim=1)
            if pa is not None and pb is not None:
                p_out = torch.cat([pa, pb], dim=1)
        return x, p_out


def _split_of(owner: nn.Module, name: str, seq: nn.Module) -> _Split:
    """The kept :class:`_Split` of ``seq`` (built on first use, not part of the module's state)."""
    cache = owner.__dict__.setdefault("_lane_splits", {})
    if name not in cache:
        cache[name] = _Split(seq)
    return cache[name]


def _rows_pair(seq: nn.Module, x: torch.Tensor, pool: bool) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """A chain of 'same' 3x3 convolutions (and per-channel layers) on the top and bottom row halves
    of a plain (1, C, H, W) map, each with its halo, plain out (and its 2x2 max-pool); None when
    the chain or the map does not allow it."""
    halo = _halo(seq)
    _, c, h, w = x.shape
    half = h // 2
    if halo is None or halo % 2 or h % 4 or half < halo or not _authors_kernels_kept(seq, (1, c, h, w), half + halo):
        return None
    c_out = _out_channels(seq)
    out = torch.empty(1, c_out, h, w)
    pooled = torch.empty(1, c_out, h // 2, w // 2) if pool else None

    def rows(lo: int, hi: int) -> None:  # each worker writes its rows
        a, b = max(0, lo - halo), min(h, hi + halo)
        y = seq.forward(x[:, :, a:b].contiguous().to_mkldnn())
        out[:, :, lo:hi] = y.to_dense()[:, :, lo - a : hi - a]
        if pooled is not None:
            pooled[:, :, lo // 2 : hi // 2] = F.max_pool2d(y, 2).to_dense()[:, :, (lo - a) // 2 : (hi - a) // 2]

    run_parallel([lambda: rows(0, half), lambda: rows(half, h)], threads_each=1)
    return out, pooled


def _level(unet: _UNet, name: str, x: torch.Tensor, pool: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One U-Net level: by row halves on the 64x64 and 32x32 maps (3x3 convolutions only: their
    slices keep the bits), by output-channel halves on the smaller ones."""
    seq = getattr(unet, name)
    if x.shape[2] >= 32:
        done = _rows_pair(seq, x.contiguous(), pool)
        if done is not None:
            return done
    return _split_of(unet, name, seq).pooled(x, pool)


def _unet_body(unet: _UNet, x: torch.Tensor) -> torch.Tensor:
    """:class:`~handzoo_digit.fuse._UNet` up to its 1x1 output convolution, level by level on two
    workers (:func:`_level`); plain (1, C, H, W) in and out."""
    x1, p1 = _level(unet, "enc0", x, True)
    x2, p2 = _level(unet, "enc1", p1, True)
    x3, p3 = _level(unet, "enc2", p2, True)
    x4, _ = _level(unet, "enc3", p3, False)
    y, _ = _level(unet, "dec1", unet.up_cat(x4, x3), False)
    y, _ = _level(unet, "dec2", unet.up_cat(y, x2), False)
    return _level(unet, "dec3", unet.up_cat(y, x1), False)[0]


def _tail_in_lanes(
    unet: _UNet, joint: _JointHead, root: _RootHandHead, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """The U-Net's output convolution and the root trunk up to its first max-pool by row halves
    (plus the trunk's halo), the joint head's two convolutions side by side on the whole merged
    map, the rest of the trunk by channel halves.

    Returns the plain heatmaps, depth maps and the trunk's mean feature, or None when the parts
    do not have this shape.
    """
    trunk = list(root.trunk)
    k = next((i for i, m in enumerate(trunk) if isinstance(m, _MaxPool)), None)
    if k is None or trunk[k].args[:3] != (2, 2, 0) or not isinstance(unet.out, _Conv):
        return None
    first, pool = _Seq(*trunk[:k]), trunk[k]
    halo = _halo(first)
    if halo is None or halo % 2 or _halo(unet.out) != 0:
        return None
    _, c, h, w = y.shape
    half = h // 2
    c_out = unet.out.weight.shape[0]
    rows_max = half + halo
    if h % 4 or half < halo:
        return None
    if not (
        _authors_kernels_kept(unet.out, (1, c, h, w), rows_max)
        and _authors_kernels_kept(first, (1, c_out, h, w), rows_max)
    ):
        return None
    merged = torch.empty(1, c_out, h, w)
    pooled = torch.empty(1, _out_channels(first), h // 2, w // 2)

    def rows(lo: int, hi: int) -> None:  # each worker writes its rows of the merged map and the pooled trunk
        a, b = max(0, lo - halo), min(h, hi + halo)
        part = unet.out.forward(y[:, :, a:b].contiguous().to_mkldnn())
        merged[:, :, lo:hi] = part.to_dense()[:, :, lo - a : hi - a]
        t = pool.forward(first.forward(part)).to_dense()
        pooled[:, :, lo // 2 : hi // 2] = t[:, :, (lo - a) // 2 : (hi - a) // 2]

    run_parallel([lambda: rows(0, half), lambda: rows(half, h)], threads_each=1)
    # the joint head's 1x1 convolutions (42 outputs) round differently on a slice: whole map, one each
    whole = merged.to_mkldnn()
    hm, depth = run_parallel([lambda: _dense(joint.heatmap(whole)), lambda: _dense(joint.depth(whole))])
    feat = _split_of(root, "trunk_rest", _Seq(*trunk[k + 1 :]))(pooled) if len(trunk) > k + 1 else pooled
    return hm, depth, feat.contiguous().flatten(2).mean(2)


def heads_in_lanes(parts: dict[str, nn.Module], feature: torch.Tensor) -> dict[str, torch.Tensor] | None:
    """All of DIGIT's heads for one image on two workers (see the module's docstring).

    Returns ``segm_logits``, ``joints25d``, ``heatmaps`` and ``pooled`` (the root/handedness
    trunk's mean feature, for :meth:`~handzoo_digit.fuse._RootHandHead.from_pooled`), or None
    when the parts are not the default plan's (the caller then runs them as they are).
    """
    joint, root, merge = parts["joint_head"], parts["root_hand_head"], parts["merge"]
    if not (isinstance(joint, _JointHead) and isinstance(root, _RootHandHead) and isinstance(merge, _Merge)):
        return None
    x = feature[0] if isinstance(feature, (list, tuple)) else feature
    widths = (tuple(x.shape), merge.unet.out.weight.shape[0], joint.heatmap.weight.shape[0])
    if widths != _VERIFIED:  # oneDNN's slices were checked bit for bit on DIGIT's own shapes only
        return None
    first = segm_and_encoder_in_lanes(parts["segm_head"], merge, feature)
    if first is None:
        return None
    segm, unet_in = first
    y = _unet_body(merge.unet, unet_in)
    tail = _tail_in_lanes(merge.unet, joint, root, y)
    if tail is None:  # the U-Net's output convolution by channel halves, the heads as they are
        merged = _split_of(merge.unet, "out", merge.unet.out)(y).contiguous().to_mkldnn()
        hm, depth = run_parallel([lambda: _dense(joint.heatmap(merged)), lambda: _dense(joint.depth(merged))])
        pooled = root.pooled(merged)
    else:
        hm, depth, pooled = tail
    out: dict[str, Any] = joint.from_maps(hm, depth)
    out["pooled"] = pooled
    out["segm_logits"] = segm
    return out
