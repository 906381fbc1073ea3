"""SMHR's trunk: timm's ResNet (``resnet50`` for the released weights) up to ``layer4``.

The authors build a torchvision-style ResNet-50 inline (``conv1``, ``bn1``, ``layer1``..``layer4``,
stride on the 3x3 convolution); timm's ``resnet50`` has the same layers under the same names, so
the trunk's keys are the authors' own.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence

import torch
from torch import nn

from handzoo.backbones.fusion import fused_resnet_trunk
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
        self._fused_cache: dict[str, object] = {}  # a plain dict: the copy is no registered submodule

    def _state_key(self) -> tuple:
        def version(t: torch.Tensor) -> int:
            try:
                return t._version
            except RuntimeError:  # inference tensors cannot change in place
                return -1

        tensors = itertools.chain(self.body.parameters(), self.body.buffers())
        fmt = self.body.conv1.weight.is_contiguous(memory_format=torch.channels_last)
        return (fmt,) + tuple((t.data_ptr(), version(t), t.dtype, t.device) for t in tensors)

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
        if images.shape[0] <= step or images.device.type != "cpu":
            return list(self.body(images))
        parts = [self.body(images[i : i + step]) for i in range(0, images.shape[0], step)]
        return [torch.cat(maps) for maps in zip(*parts)]


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
