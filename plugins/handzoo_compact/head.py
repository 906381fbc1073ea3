"""The compact model's head: feature map -> MANO-layout parameters and a weak-perspective camera."""

from __future__ import annotations

import torch
from torch import nn

from handzoo.interfaces import Head

__all__ = ["ManoCamHead", "NUM_BETAS"]

NUM_BETAS = 10


class ManoCamHead(Head):
    """Regress hand parameters from the last feature map, keeping its spatial layout.

    A 1x1 convolution reduces the channels, the (small) map is flattened, and an MLP predicts
    the global rotation (6D, rows), the 15 finger rotations (axis-angle, MANO layout), the shape
    ``betas`` and a weak-perspective camera ``(s, tx, ty)`` in normalised crop coordinates
    (``[-1, 1]`` across the crop). Outputs start near the rest hand facing the camera.

    Args:
        in_channels: channels of the feature map.
        feature_size: side of the (square) feature map.
        reduce_channels: channels after the 1x1 convolution.
        hidden: width of the MLP.
        num_betas: shape coefficients.
    """

    def __init__(
        self,
        in_channels: int,
        feature_size: int = 4,
        reduce_channels: int = 64,
        hidden: int = 512,
        num_betas: int = NUM_BETAS,
    ) -> None:
        super().__init__()
        self.num_betas = int(num_betas)
        self.reduce = nn.Sequential(
            nn.Conv2d(in_channels, reduce_channels, 1, bias=False), nn.BatchNorm2d(reduce_channels), nn.ReLU(True)
        )
        self.feature_size = int(feature_size)
        self.pool = nn.AdaptiveAvgPool2d(self.feature_size)
        flat = reduce_channels * self.feature_size**2
        self.mlp = nn.Sequential(nn.Linear(flat, hidden), nn.ReLU(True), nn.Linear(hidden, hidden), nn.ReLU(True))
        self.out = nn.Linear(hidden, 6 + 45 + self.num_betas + 3)
        nn.init.zeros_(self.out.weight)
        with torch.no_grad():
            self.out.bias.zero_()
            self.out.bias[:6] = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
            self.out.bias[-3] = 1.0

    def forward(self, features: list[torch.Tensor] | torch.Tensor, **ctx: object) -> dict[str, torch.Tensor]:
        """``features``: the backbone's maps (the last is used) -> named raw predictions."""
        x = features[-1] if isinstance(features, (list, tuple)) else features
        x = self.pool(self.reduce(x)).flatten(1)
        y = self.out(self.mlp(x))
        nb = self.num_betas
        return {
            "global_rot6d": y[:, :6],
            "hand_pose": y[:, 6:51],
            "betas": y[:, 51 : 51 + nb],
            "cam": y[:, 51 + nb :],
        }
