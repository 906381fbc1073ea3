"""The ResNet-34 trunk (timm) and the 24-channel stem of 3D-hand, as registered parts.

The authors' network is torchvision's ResNet-34 with the same module names as timm's ``resnet34``
(``conv1``, ``bn1``, ``layer1``..``layer4``). Their checkpoints also hold ``conv11``, a second
7x7 stride-2 stem convolution taking 24 channels (RGB + 21 keypoint heatmaps) used by model-1
*instead of* ``conv1``. Here the stem is its own part (:class:`ThreeDHandStem`) that replaces the
trunk's ``conv1`` when given, so a model holds only the stem it uses.

In eval mode without autograd the trunk runs a cached copy with every BatchNorm folded (in
float64) into the preceding convolution, in NHWC layout (same numbers to float rounding): on a
float32 CPU model the oneDNN plan of :func:`handzoo.backbones.fusion.fused_resnet_trunk` (ReLUs and
residual sums inside the convolutions; the 3x3 stride-1 convolutions of ``layer3`` and
``layer4`` switch to Winograd F(2x2, 3x3) at large batches, see :mod:`.winograd`), else folded
eager modules. Model-1's 24-channel stem convolves each keypoint heatmap only around the block
where it is nonzero (:mod:`.mapstem`; about 20% of a batch-1 forward on the heatmaps handzoo
draws). The copy is rebuilt whenever a parameter or buffer changes and is not part of the
state dict.

On the CPU, large batches run the high-resolution stages (stem, max-pool, ``layer1``, ``layer2``) in chunks of
a few images, then ``layer3`` and ``layer4`` on the whole batch. Each image's result is the same
(every operation is per image), but no intermediate map outgrows the C library's size limit for
recycled heap memory (32 MiB): a 32-image batch otherwise maps fresh zeroed pages for its
134 MB stem output, its 200 MB channels-last input copy and each 32 MiB ``layer1`` map on every
call (about 10% of the CPU time, spent in the kernel). A chunk's channels-last copy of the input
goes into a small per-thread buffer the backbone keeps between calls.

A CPU batch of at least as many images as torch has threads is split into that many equal parts,
each run on a kept pool thread (:mod:`handzoo.backbones.workers`) with one OpenMP thread (images left over run afterwards on all
threads): the parts share no data, so no thread waits for another between operations (3dhand-rgb2d
at batch 32 on 2 cores, alternated in one process: 48.3 vs 58.0 ms/image wall, 95 vs 102 ms/image
CPU, than one batch on two OpenMP threads). Each image's result is the same either way.
``PARALLEL_BATCH = False`` turns the split off.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections import OrderedDict
from typing import Any

import timm
import torch
from torch import nn

from handzoo.backbones.fusion import (
    FusedConv2d,
    PlanCache,
    fold_bn,
    fold_conv_bn,
    fused_resnet_trunk,
    module_weights_key,
)
from handzoo.backbones.workers import run_parallel
from handzoo.errors import ConfigError
from handzoo.interfaces import Backbone

from .mapstem import SparseMapStem
from .winograd import WinogradConv2d

__all__ = ["ThreeDHandResNet", "ThreeDHandStem", "fold_batchnorm"]

_STAGES = ("conv1", "bn1", "act1", "maxpool", "layer1", "layer2", "layer3", "layer4")
_ARCHS = ("resnet18", "resnet34", "resnet50")
#: leading input channels that are the image (the rest of a wider stem's input are keypoint heatmaps)
_COLOUR_CHANNELS = 3
#: largest stem output (bytes) of one chunk of the high-resolution stages (see the module docstring)
CHUNK_BYTES = 16 * 2**20
#: split a CPU batch of several images across threads, one OpenMP thread each (see the module docstring)
PARALLEL_BATCH = True


class ThreeDHandStem(nn.Conv2d):
    """The first convolution of model-1 (the authors' ``conv11``): 7x7, stride 2, no bias.

    Args:
        in_channels: input channels (24 = RGB + 21 heatmaps).
        out_channels: the trunk's stem width (64 for ResNet-34).
    """

    def __init__(self, in_channels: int = 24, out_channels: int = 64) -> None:
        super().__init__(in_channels, out_channels, kernel_size=7, stride=2, padding=3, bias=False)


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """Fold every ``convX`` / ``bnX`` pair and ``downsample`` (conv, bn) of a ResNet in place.

    Works on timm/torchvision ResNet stages (stem ``conv1``/``bn1`` and Basic/Bottleneck blocks).
    """
    for parent in [module, *module.modules()]:
        names = dict(parent.named_children())
        for name, child in list(names.items()):
            if isinstance(child, nn.Conv2d) and name.startswith("conv"):
                bn_name = "bn" + name[len("conv") :]
                bn = names.get(bn_name)
                if isinstance(bn, nn.BatchNorm2d):
                    setattr(parent, name, fold_conv_bn(child, bn))
                    setattr(parent, bn_name, nn.Identity())
        ds = names.get("downsample")
        if isinstance(ds, nn.Sequential) and len(ds) == 2 and isinstance(ds[1], nn.BatchNorm2d):
            parent.downsample = nn.Sequential(fold_conv_bn(ds[0], ds[1]))
    return module


def _winograd_blocks(fused_blocks: list[nn.Module], blocks: nn.Sequential) -> None:
    """Give fused blocks Winograd 3x3 stride-1 convolutions (see :mod:`.winograd`), in place.

    The weights are folded with their BatchNorm in float64 and transformed before the one rounding.
    """
    for block, fused_block in zip(blocks, fused_blocks):
        convs = getattr(fused_block, "convs", None)
        if not isinstance(convs, nn.ModuleList) or not isinstance(block, nn.Module):
            return
        for i, name in enumerate(("conv1", "conv2", "conv3")[: len(convs)]):
            conv, bn = getattr(block, name, None), getattr(block, "bn" + name[-1], None)
            direct = convs[i]
            if not isinstance(conv, nn.Conv2d) or not isinstance(bn, nn.BatchNorm2d):
                continue
            if conv.kernel_size != (3, 3) or conv.stride != (1, 1) or conv.padding != (1, 1):
                continue
            if conv.dilation != (1, 1) or conv.groups != 1 or not isinstance(direct, FusedConv2d):
                continue
            bias = conv.bias.detach().double() if conv.bias is not None else None
            weight64, _ = fold_bn(conv.weight.detach().double(), bias, bn)
            convs[i] = WinogradConv2d(direct, weight64)


class ThreeDHandResNet(Backbone):
    """Stride-32 ResNet features (512 channels, 8x8 for a 256x256 crop for ResNet-34).

    Args:
        name: timm architecture (``resnet34`` for the authors' weights).
        stem: an optional replacement of ``conv1`` (a :class:`ThreeDHandStem`, its config dict,
            or None for the RGB stem).
        pretrained: load timm's ImageNet weights (needs the network or timm's cache).
        fuse_inference: fold BatchNorm for inference (see the module docstring).
    """

    strides = (32,)

    def __init__(
        self,
        name: str = "resnet34",
        stem: nn.Module | dict[str, Any] | None = None,
        pretrained: bool = False,
        fuse_inference: bool = True,
    ) -> None:
        super().__init__()
        if name not in _ARCHS:
            raise ConfigError(f"unsupported 3D-hand trunk {name!r}", hint=f"one of: {', '.join(_ARCHS)}")
        net = timm.create_model(name, pretrained=pretrained, num_classes=0, global_pool="")
        for stage in _STAGES:
            self.add_module(stage, getattr(net, stage))
        if stem is not None:
            if isinstance(stem, dict):
                from handzoo.registry import build

                stem = build("backbones", stem)
            if not isinstance(stem, nn.Conv2d) or stem.out_channels != self.conv1.out_channels:
                raise ConfigError(
                    f"the stem must be a convolution with {self.conv1.out_channels} output channels",
                    hint="use {'type': 'ThreeDHandStem', 'in_channels': 24}",
                )
            self.conv1 = stem
        self.in_channels = int(self.conv1.in_channels)
        self.out_channels = (net.num_features,)
        self.fuse_inference = fuse_inference
        # the plan is no registered submodule; copies and pickles of the model start without it
        self._fused_cache: dict[str, object] = PlanCache()

    def _state_key(self) -> tuple:
        """The key of every parameter and buffer (what the plan is built from), the tree walk kept
        in the plan's cache (:func:`~handzoo.backbones.fusion.module_weights_key`)."""
        return module_weights_key(self, self._fused_cache)

    def _fused(self) -> nn.Module:
        key = self._state_key()
        if self._fused_cache.get("key") != key:
            with torch.inference_mode(False), torch.no_grad():
                trunk = nn.Sequential(OrderedDict((s, copy.deepcopy(getattr(self, s))) for s in _STAGES)).eval()
                fused = fused_resnet_trunk(trunk)  # oneDNN plan (float32 CPU); else folded eager copy
                # where layer3 starts: the plan lists blocks, the eager copy the stages
                split = 2 + len(self.layer1) + len(self.layer2) if fused is not None else _STAGES.index("layer3")
                if fused is None:
                    fused = fold_batchnorm(trunk).to(memory_format=torch.channels_last)
                else:
                    if self.in_channels > _COLOUR_CHANNELS:  # model-1: heatmaps convolved by block
                        fused[0] = SparseMapStem(fused[0], colour_channels=_COLOUR_CHANNELS)
                    n3, n4 = len(self.layer3), len(self.layer4)
                    _winograd_blocks(list(fused)[-n3 - n4 : -n4], trunk.layer3)
                    _winograd_blocks(list(fused)[-n4:], trunk.layer4)
            # the high-resolution stages and the rest, for chunked batches (each half keeps its bound calls)
            self._fused_cache.update(key=key, module=fused, halves=(fused[:split], fused[split:]))
        return self._fused_cache["module"]  # type: ignore[return-value]

    def _input_buffer(self, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        """A channels-last buffer of ``shape`` kept between calls (one per thread); a batch of
        fewer images (a batch's last chunk) gets the leading images of the kept one."""
        buffers: dict = self._fused_cache.setdefault("inputs", {})
        key = threading.get_ident()
        buf = buffers.get(key)
        if buf is not None and tuple(buf.shape[1:]) == shape[1:] and buf.shape[0] >= shape[0]:
            if buf.dtype == like.dtype and buf.device == like.device:
                return buf[: shape[0]]
        if buf is None or tuple(buf.shape) != shape or buf.dtype != like.dtype or buf.device != like.device:
            if len(buffers) >= 4:
                buffers.clear()
            with torch.inference_mode(False):
                buf = torch.empty(shape, dtype=like.dtype, device=like.device, memory_format=torch.channels_last)
            buffers[key] = buf
        return buf

    def _run_fused(self, images: torch.Tensor) -> torch.Tensor:
        """The folded trunk on a CPU batch split across threads (see the module docstring)."""
        fused = self._fused()
        if not isinstance(fused, nn.Sequential) or images.dim() != 4 or images.device.type != "cpu":
            return fused(images.contiguous(memory_format=torch.channels_last))
        threads = torch.get_num_threads()
        n = images.shape[0]
        parts = min(threads, n) if PARALLEL_BATCH else 1
        if parts < 2:
            return self._run_chunks(fused, images)
        per = n // parts
        outs = run_parallel(
            [functools.partial(self._run_chunks, fused, images[i * per : (i + 1) * per]) for i in range(parts)],
            threads_each=threads // parts,
        )
        if parts * per < n:  # the few images left over: one part, every thread on it
            outs.append(self._run_chunks(fused, images[parts * per :]))
        return torch.cat(outs).contiguous(memory_format=torch.channels_last)

    def _run_chunks(self, fused: nn.Sequential, images: torch.Tensor) -> torch.Tensor:
        """The folded trunk, the high-resolution stages in chunks (see the module docstring)."""
        n, _, h, w = images.shape
        per_image = self.conv1.out_channels * ((h + 1) // 2) * ((w + 1) // 2) * images.element_size()
        chunk = max(1, CHUNK_BYTES // max(per_image, 1))
        if n <= chunk:
            return fused(images.contiguous(memory_format=torch.channels_last))
        high, low = self._fused_cache["halves"]  # type: ignore[misc]
        channels_last = images.is_contiguous(memory_format=torch.channels_last)
        parts = []
        for start in range(0, n, chunk):
            x = images[start : start + chunk]
            if not channels_last:
                x = self._input_buffer(tuple(x.shape), x).copy_(x)
            parts.append(high(x))
        return low(torch.cat(parts).contiguous(memory_format=torch.channels_last))

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Return ``[features]`` of shape (B, C, H/32, W/32)."""
        if self.fuse_inference and not self.training and not torch.is_grad_enabled():
            return [self._run_fused(images)]
        x = images
        for stage in _STAGES:
            x = getattr(self, stage)(x)
        return [x]
