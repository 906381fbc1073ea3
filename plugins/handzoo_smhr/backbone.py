"""SMHR's trunk: timm's ResNet (``resnet50`` for the released weights) up to ``layer4``.

The authors build a torchvision-style ResNet-50 inline (``conv1``, ``bn1``, ``layer1``..``layer4``,
stride on the 3x3 convolution); timm's ``resnet50`` has the same layers under the same names, so
the trunk's keys are the authors' own.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from handzoo.backbones.fusion import PlanCache, fused_resnet_trunk, mkldnn_available, module_weights_key
from handzoo.interfaces import Backbone

__all__ = ["TimmResNetTrunk"]


class TimmResNetTrunk(Backbone):
    """timm ResNet feature extractor returning the maps of ``layer2``, ``layer3`` and ``layer4``.

    Args:
        name: timm model name (``resnet50``; ``resnet18``/``resnet34`` give a smaller trunk).
        out_indices: timm feature indices returned (2, 3, 4 = strides 8, 16, 32).
        pretrained: start from timm's ImageNet weights (training only; needs the network).
        fuse_inference: at inference (eval, no autograd) run a cached copy with every BatchNorm
            folded into its convolution (same numbers to float rounding; rebuilt when a weight
            changes): on a float32 CPU model in channels-last, the oneDNN plan of
            :func:`handzoo.backbones.fusion.fused_resnet_trunk` (ReLUs and residual sums fused).
            Off by default: the plain layers in NCHW round float32 exactly as the authors'
            trunk does, while the fused plan (about 25% faster) reorders the float32 sums and
            moves the trunk's maps by about twice the authors' own float32 error, which puts
            SMHR's heatmap, texture and light outside their float32 noise floor.

    Attributes:
        out_channels: channels of the returned maps (512, 1024, 2048 for ``resnet50``).
        strides: their strides (8, 16, 32).
    """

    def __init__(
        self,
        name: str = "resnet50",
        out_indices: Sequence[int] = (2, 3, 4),
        pretrained: bool = False,
        fuse_inference: bool = False,
    ) -> None:
        super().__init__()
        import timm

        self.name = name
        self.body = timm.create_model(name, pretrained=pretrained, features_only=True, out_indices=tuple(out_indices))
        self.out_channels = tuple(self.body.feature_info.channels())
        self.strides = tuple(self.body.feature_info.reduction())
        self.out_indices = tuple(out_indices)
        self.fuse_inference = fuse_inference
        # derived inference plans (no registered submodules; copies and pickles start empty)
        self._fused_cache: dict[str, object] = PlanCache()

    def _state_key(self) -> tuple:
        fmt = self.body.conv1.weight.is_contiguous(memory_format=torch.channels_last)
        return (fmt,) + module_weights_key(self.body, self._fused_cache)

    def _fused(self) -> nn.Module:
        key = self._state_key()
        if self._fused_cache.get("key") != key:
            from torch.fx.experimental.optimization import fuse

            with torch.inference_mode(False), torch.no_grad():
                trunk = _Stages(copy.deepcopy(self.body), self.out_indices).eval()
                # float32 CPU: the oneDNN plan (float64 folds, ReLU and residual sums fused)
                fused = fused_resnet_trunk(trunk, self.out_indices) if key[0] else None
                if fused is None:
                    fused = fuse(trunk, inplace=True)
                    if key[0]:
                        fused = fused.to(memory_format=torch.channels_last)
            self._fused_cache.update(key=key, module=fused)
        return self._fused_cache["module"]  # type: ignore[return-value]

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps for ``images`` (B, 3, H, W), highest resolution first.

        At CPU inference the plain trunk runs a large batch in chunks of about 2^18 input pixels
        (5 images at 224, 1 at 384): each image's maps are the same, and at 384 the working set
        of a whole batch overflows the caches (about 30% slower per image at batch 8).
        """
        if self.training or torch.is_grad_enabled():
            return list(self.body(images))
        if self.fuse_inference:
            return list(self._fused()(images))
        step = max(1, _CHUNK_PIXELS // (images.shape[-2] * images.shape[-1]))
        if images.device.type != "cpu":
            return list(self.body(images))
        run = self._blocked(images) or self.body
        if images.shape[0] <= step:
            return list(run(images))
        parts = [run(images[i : i + step]) for i in range(0, images.shape[0], step)]
        return [torch.cat(maps) for maps in zip(*parts)]

    def _blocked(self, images: torch.Tensor) -> _BlockedTrunk | None:
        """The blocked-layout plan (:class:`_BlockedTrunk`) where it computes the plain trunk's bits:
        float32 CPU with oneDNN, and PyTorch sending each of the plain trunk's convolutions to
        oneDNN (true with more than one thread; on one thread its 1x1 convolutions of small
        batches run another kernel, and the plain trunk runs)."""
        if images.dtype != torch.float32 or torch.get_num_threads() < 2 or not mkldnn_available():
            return None
        key = self._state_key()
        if self._fused_cache.get("blocked_key") != key:
            with torch.inference_mode(False), torch.no_grad():
                plan = _BlockedTrunk.build(self.body, self.out_indices)
            self._fused_cache.update(blocked_key=key, blocked=plan)
        return self._fused_cache["blocked"]  # type: ignore[return-value]


_CHUNK_PIXELS = 2**18  # input pixels per chunk of the plain trunk at inference


class _Stages(nn.Module):
    """A traceable copy of a timm ResNet trunk returning the stages ``out_indices`` (for fusion)."""

    def __init__(self, body: nn.Module, out_indices: tuple[int, ...]) -> None:
        super().__init__()
        self.conv1, self.bn1, self.act1, self.maxpool = body.conv1, body.bn1, body.act1, body.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = body.layer1, body.layer2, body.layer3, body.layer4
        self.out_indices = out_indices

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.act1(self.bn1(self.conv1(x)))
        feats = [x]
        x = self.maxpool(x)
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            feats.append(x)
        return tuple(feats[i] for i in self.out_indices)


# -- the blocked-layout plan ------------------------------------------------------------------------


def _bn_scale_shift(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """The float32 ``(scale, shift)`` PyTorch's CPU batch norm applies as ``fma(x, scale, shift)``:
    ``scale = float32(1 / sqrt(var + eps)) * weight`` in float32, ``shift`` read back from the batch
    norm itself (its output for x = 0)."""
    var = bn.running_var.detach().float().cpu().numpy()
    weight = bn.weight.detach().float().cpu().numpy() if bn.weight is not None else np.ones_like(var)
    inv = np.float32(1) / np.sqrt(var + np.float32(bn.eps))
    scale = torch.from_numpy((inv.astype(np.float32) * weight).astype(np.float32))
    shift = bn(torch.zeros(1, scale.numel(), 1, 1))[0, :, 0, 0].detach().clone()
    return scale, shift


class _BlockedConv:
    """A convolution (or a batch norm as a depthwise 1x1 convolution) on oneDNN blocked tensors,
    weights reordered once per input shape."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, conv: nn.Conv2d | None = None) -> None:
        self.weight = weight.detach().float().contiguous()
        self.bias = bias.detach().float().contiguous() if bias is not None else None
        self.padding = list(conv.padding) if conv is not None else [0, 0]
        self.stride = list(conv.stride) if conv is not None else [1, 1]
        self.dilation = list(conv.dilation) if conv is not None else [1, 1]
        self.groups = conv.groups if conv is not None else int(weight.shape[0])
        self._packed: dict[tuple[int, ...], torch.Tensor] = {}

    @classmethod
    def of_batchnorm(cls, bn: nn.BatchNorm2d) -> _BlockedConv:
        scale, shift = _bn_scale_shift(bn)
        return cls(scale.view(-1, 1, 1, 1), shift)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        shape = tuple(x.shape)
        w = self._packed.get(shape)
        if w is None:
            w = torch._C._nn.mkldnn_reorder_conv2d_weight(
                self.weight.to_mkldnn(), self.padding, self.stride, self.dilation, self.groups, list(shape)
            )
            if len(self._packed) > 8:
                self._packed.clear()
            self._packed[shape] = w
        return torch.mkldnn_convolution(x, w, self.bias, self.padding, self.stride, self.dilation, self.groups)


class _BlockedTrunk:
    """A timm ResNet trunk on oneDNN's blocked tensors from the stem to the returned maps.

    PyTorch runs each float32 convolution of an NCHW tensor through oneDNN by reordering the input
    into the blocked layout (16 channels per block), running the kernel and reordering the output
    back. This plan keeps the activations blocked between layers and runs the same kernels: each
    batch norm as a depthwise 1x1 convolution with the batch norm's own scale and shift (both
    compute ``fma(x, scale, shift)``), ReLU, max-pooling and residual sums on the blocked tensors
    (exact). The maps are the plain trunk's bit for bit (checked on a probe when built; otherwise
    :meth:`build` returns None) at about 15% less CPU time at SMHR's sizes.
    """

    def __init__(self, body: nn.Module, out_indices: tuple[int, ...]) -> None:
        self.stem = (_BlockedConv(body.conv1.weight, None, body.conv1), _BlockedConv.of_batchnorm(body.bn1))
        pool = body.maxpool
        self.pool = (pool.kernel_size, pool.stride, pool.padding, pool.dilation, pool.ceil_mode)
        self.layers = []
        for layer in (body.layer1, body.layer2, body.layer3, body.layer4):
            blocks = []
            for blk in layer:
                convs = [getattr(blk, f"conv{i}") for i in (1, 2, 3)]
                bns = [getattr(blk, f"bn{i}") for i in (1, 2, 3)]
                steps = [(_BlockedConv(c.weight, None, c), _BlockedConv.of_batchnorm(b)) for c, b in zip(convs, bns)]
                ds = blk.downsample
                down = (_BlockedConv(ds[0].weight, None, ds[0]), _BlockedConv.of_batchnorm(ds[1])) if ds else None
                blocks.append((steps, down))
            self.layers.append(blocks)
        self.out_indices = out_indices

    @classmethod
    def build(cls, body: nn.Module, out_indices: tuple[int, ...]) -> _BlockedTrunk | None:
        """The plan of a plain timm bottleneck ResNet on float32 CPU weights, or None."""
        blocks = [blk for layer in (body.layer1, body.layer2, body.layer3, body.layer4) for blk in layer]
        plain = all(
            hasattr(blk, "conv3")
            and all(isinstance(getattr(blk, f"act{i}"), nn.ReLU) for i in (1, 2, 3))
            and all(isinstance(getattr(blk, f"bn{i}"), nn.BatchNorm2d) for i in (1, 2, 3))
            and all(
                getattr(blk, n, None) is None or isinstance(getattr(blk, n), nn.Identity)
                for n in ("se", "aa", "drop_block", "drop_path")
            )
            and (blk.downsample is None or (isinstance(blk.downsample, nn.Sequential) and len(blk.downsample) == 2))
            for blk in blocks
        )
        w = body.conv1.weight
        if not plain or w.dtype != torch.float32 or w.device.type != "cpu" or not isinstance(body.bn1, nn.BatchNorm2d):
            return None
        plan = cls(body, out_indices)
        # the batch norms' arithmetic, checked on a probe against PyTorch's own
        probe = torch.linspace(-3.0, 3.0, 64 * 5 * 5).reshape(1, 64, 5, 5)
        bn = body.bn1
        if not torch.equal(plan.stem[1](probe.to_mkldnn()).to_dense(), bn(probe)):
            return None
        return plan

    def __call__(self, images: torch.Tensor) -> list[torch.Tensor]:
        conv, bn = self.stem
        x = torch.relu_(bn(conv(images.contiguous().to_mkldnn())))
        feats = [x]
        x = torch.nn.functional.max_pool2d(x, *self.pool)
        for blocks in self.layers:
            for steps, down in blocks:
                shortcut = x if down is None else down[1](down[0](x))
                for i, (c, b) in enumerate(steps):
                    x = b(c(x))
                    if i < 2:
                        x = torch.relu_(x)
                x = torch.relu_(torch.add(x, shortcut))
            feats.append(x)
        return [feats[i].to_dense() for i in self.out_indices]
