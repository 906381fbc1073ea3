"""HRNet-W32 in its pose-estimation form (DIGIT's backbone).

The stem, ``layer1``, the transitions and the stages are HRNet-W32's, built from timm's own
blocks (``timm.models.hrnet.HighResolutionModule`` with timm's ResNet ``BasicBlock`` and
``Bottleneck``; their parameter names equal the pose code's). What makes it the *pose* variant,
and why timm's ``hrnet_w32`` model does not fit as a whole: the last stage-4 module fuses into
the highest-resolution branch only (``multi_scale_output=False``), and there is no
classification head (no ``incre``/``downsamp``/``final_layer``/``classifier`` modules). The
output is one 32-channel map at stride 4 (64x64 for a 256x256 crop).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from timm.models.hrnet import HighResolutionModule
from timm.models.resnet import BasicBlock, Bottleneck
from torch import nn

from handzoo.interfaces import Backbone

__all__ = ["DigitHRNet", "HRNET_W32_STAGES"]

# (modules, branch channels) of stages 2-4; four BasicBlocks per branch
HRNET_W32_STAGES: tuple[tuple[int, tuple[int, ...]], ...] = ((1, (32, 64)), (4, (32, 64, 128)), (3, (32, 64, 128, 256)))


def _conv_bn_relu(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _transition(prev: Sequence[int], cur: Sequence[int]) -> nn.ModuleList:
    """Branch adapters between stages: a 3x3 conv where widths change, stride-2 convs for new branches."""
    layers: list[nn.Module] = []
    for i, c in enumerate(cur):
        if i < len(prev):
            layers.append(_conv_bn_relu(prev[i], c, 1) if prev[i] != c else nn.Identity())
        else:
            steps = [
                _conv_bn_relu(prev[-1], c if k == i - len(prev) else prev[-1], 2) for k in range(i + 1 - len(prev))
            ]
            layers.append(nn.Sequential(*steps))
    return nn.ModuleList(layers)


class DigitHRNet(Backbone):
    """HRNet-W32 (pose variant): (B, 3, H, W) -> [(B, 32, H/4, W/4)].

    Args:
        stages: ``(num_modules, branch_channels)`` of stages 2, 3 and 4.
        blocks_per_branch: BasicBlocks in every branch of every module.
    """

    strides = (4,)

    def __init__(
        self,
        stages: Sequence[tuple[int, Sequence[int]]] = HRNET_W32_STAGES,
        blocks_per_branch: int = 4,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        down = nn.Sequential(nn.Conv2d(64, 256, 1, bias=False), nn.BatchNorm2d(256))
        self.layer1 = nn.Sequential(Bottleneck(64, 64, downsample=down), *[Bottleneck(256, 64) for _ in range(3)])
        prev: list[int] = [256]
        for s, (num_modules, chans) in enumerate(stages):
            chans = list(chans)
            setattr(self, f"transition{s + 1}", _transition(prev, chans))
            modules = []
            for m in range(num_modules):
                last = s == len(stages) - 1 and m == num_modules - 1
                modules.append(
                    HighResolutionModule(
                        len(chans),
                        BasicBlock,
                        [blocks_per_branch] * len(chans),
                        list(chans),
                        chans,
                        "SUM",
                        multi_scale_output=not last,
                    )
                )
            setattr(self, f"stage{s + 2}", nn.Sequential(*modules))
            prev = chans
        self.num_stages = len(stages)
        self.out_channels = (prev[0],)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Return ``[feature]``: the highest-resolution branch after the last fusion."""
        x = self.relu(self.bn1(self.conv1(images)))
        x = self.relu(self.bn2(self.conv2(x)))
        ys = [self.layer1(x)]
        for s in range(self.num_stages):
            trans = getattr(self, f"transition{s + 1}")
            # existing branches pass through; new branches grow from the lowest-resolution one
            xs = [t(ys[i] if i < len(ys) else ys[-1]) for i, t in enumerate(trans)]
            stage = getattr(self, f"stage{s + 2}")
            for module in stage:
                xs = module(xs)
            ys = xs
        return [ys[0]]
