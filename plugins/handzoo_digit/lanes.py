"""DIGIT's segmentation head and merge encoder for one image on two workers, the authors' bits kept.

At batch 1 the 128x128 maps of the segmentation head and of the merge's encoder (a tenth of a
million multiply-adds per pixel, half of the heads' time) run as the top and the bottom half of
their rows side by side on :func:`handzoo.backbones.workers.run_parallel` workers, one intra-op
thread each, each half with the few rows more that its 'same' 3x3 convolutions read (the halo).
oneDNN computes each output row of these slices exactly as in the whole map, and every piece takes
the kernel PyTorch picks for the whole call (:func:`~handzoo_digit.fuse.authors_batch`), so the
outputs equal the one-piece plan's bit for bit; that was checked on DIGIT's own layer shapes
(``tests/plugins/digit/test_taskgraph.py``), and other shapes run the parts as they are.

Measured and left out (idle 2-core machine, one image): splitting the U-Net and the root trunk
by output channels or rows as well was no faster than oneDNN's own two-thread split of their
64x64 and smaller maps (the halves must be put together before each next convolution), and the
1x1 convolutions over 256 or more channels (layer1, the joint head) round differently on most
row slices. layer1 does keep its bits on exactly half of its 64 rows, with the one row its 3x3
convolutions read taken from the other half after every block; run that way on two workers it
took 43 ms of CPU against 34 on oneDNN's two threads and no less wall time (the copies that cut
and join the halves cost what the idle thread gained), so it runs whole.
"""

from __future__ import annotations

import torch
from torch import nn

from handzoo.backbones.workers import run_parallel

from .fuse import _Conv, _MaxPool, _Merge, _ReLU, _SegmHead, _Seq

__all__ = ["segm_and_merge_in_lanes"]


# DIGIT's feature map at 256x256 crops: the shapes on which the row halves were checked to equal
# the whole maps bit for bit (other shapes run the heads as they are)
_VERIFIED = (1, 32, 64, 64)


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


def segm_and_merge_in_lanes(
    segm_head: nn.Module, merge: nn.Module, feature: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The part logits and the merged map of one image, the 128x128 part by row halves on two workers.

    The segmentation head's convolutions and the merge's encoder (convolutions, ReLU, a 2x2
    max-pool) are 'same' convolutions: a block of output rows needs only its rows of input and a
    few more (the halo). Each worker runs every layer of the chain on its half of the rows plus
    the halo. The U-Net then runs as it is, on all intra-op threads (its maps are 64x64 and
    smaller: oneDNN's own split of them is as fast). Returns ``(segm_logits, merged)`` as the
    two parts' ``forward`` do, or None when the parts do not have DIGIT's shapes (the caller then
    runs them as they are).
    """
    if not (isinstance(segm_head, _SegmHead) and isinstance(merge, _Merge)):
        return None
    x = feature[0] if isinstance(feature, (list, tuple)) else feature
    if tuple(x.shape) != _VERIFIED:  # the slices were checked bit for bit on DIGIT's own shapes
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
    c_seg, c_enc = _out_channels(seg_chain), _out_channels(enc_convs)
    if not (
        _authors_kernels_kept(seg_chain, tuple(up.shape), half + seg_halo + enc_halo)
        and _authors_kernels_kept(enc_convs, (1, c_seg, h, w), half + enc_halo)
    ):
        return None

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
    return segm_logits, merge.unet(unet_in.to_mkldnn())
