"""TemplateDemo: a tiny root-relative 3D joint regressor, the smallest complete handzoo Method."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from handzoo.interfaces import Method
from handzoo.query import HandQuery
from handzoo.types import RIGHT, HandOutput


class TemplateDemo(Method):
    """Regresses 21 root-relative joints from a 64x64 RGB image of a right hand.

    Args:
        input_size: side of the square network input.
        width: channels of the convolutional trunk.
    """

    def __init__(self, input_size: int = 64, width: int = 16) -> None:
        super().__init__()
        self.input_size = input_size
        self.trunk = nn.Sequential(
            nn.Conv2d(3, width, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width * 2, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )
        self.joints = nn.Linear(width * 2, 21 * 3)

    def preprocess(self, query: HandQuery) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Resize the whole images of a validated query (RGB uint8 (H, W, 3)) to the network input.

        ``query`` comes from :func:`handzoo.query.make_query`: images, boxes, sides, K, ... are
        already checked, so a method only reads the fields it uses (this one: the images).
        """
        tensors = []
        for img in query.images:
            t = torch.from_numpy(img).permute(2, 0, 1).float().div(255)[None]
            tensors.append(
                F.interpolate(t, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
            )
        device = self.joints.weight.device
        return {"image": torch.cat(tensors).to(device)}, {"sizes": query.image_sizes}

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Predict (B, 21, 3) root-relative joints in metres."""
        feat = self.trunk(batch["image"]).flatten(1)
        joints = self.joints(feat).view(-1, 21, 3) * 0.1
        return {"joints3d": joints - joints[:, :1]}

    def postprocess(self, raw: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> HandOutput:
        """Wrap the joints in a HandOutput with one right hand per image."""
        j = raw["joints3d"][:, None]
        b = j.shape[0]
        dev = j.device
        return HandOutput(
            joints3d=j,
            side=torch.full((b, 1), RIGHT, dtype=torch.long, device=dev),
            score=torch.ones(b, 1, device=dev),
            valid=torch.ones(b, 1, dtype=torch.bool, device=dev),
            root_relative=True,
        )
