"""The regression head of 3D-hand: pooled trunk features -> 22 hand and camera parameters.

The authors pool the 8x8 stride-32 map of a 256x256 crop with ``AvgPool2d(7)`` (a 7x7 window,
stride 7), so only the top-left 7x7 cells reach the linear layer; the released weights were
trained that way and the head keeps it. A constant offset (not a learned parameter) is added to
the linear layer's output: scale 545 and translation (128, 128), i.e. a hand of the mean size
at the centre of the crop, everything else 0.

Layout of the 22 numbers: ``[s, tx, ty, rx, ry, rz, p1..p6, b1..b10]`` — weak-perspective scale
(crop pixels per metre) and translation (crop pixels), global rotation (axis-angle), 6 MANO pose
PCA coefficients and 10 shape coefficients.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from handzoo.errors import InputError
from handzoo.interfaces import Head

__all__ = ["ThreeDHandRegressor", "PARAM_SLICES", "MEAN_OFFSET"]

MEAN_OFFSET = (545.0, 128.0, 128.0)
PARAM_SLICES = {
    "scale": slice(0, 1),
    "trans": slice(1, 3),
    "rot": slice(3, 6),
    "pose_pca": slice(6, 12),
    "betas": slice(12, 22),
}


class ThreeDHandRegressor(Head):
    """``AvgPool2d(7)`` -> ``Linear(in_channels, 22)`` + the constant offset.

    Args:
        in_channels: trunk channels (512 for ResNet-34).
        num_pca: pose PCA coefficients (6 in the released weights).
        num_betas: shape coefficients (10).
        pool: pooling window (7, the authors' ``AvgPool2d(7)``).
    """

    def __init__(self, in_channels: int = 512, num_pca: int = 6, num_betas: int = 10, pool: int = 7) -> None:
        super().__init__()
        self.num_pca, self.num_betas = num_pca, num_betas
        self.num_params = 6 + num_pca + num_betas
        self.avgpool = nn.AvgPool2d(pool)
        self.fc = nn.Linear(in_channels, self.num_params)
        mean = torch.zeros(self.num_params)
        mean[:3] = torch.tensor(MEAN_OFFSET)
        self.register_buffer("mean", mean, persistent=False)

    def forward(self, features: list[torch.Tensor] | torch.Tensor, **ctx: Any) -> dict[str, torch.Tensor]:
        """Return ``params`` (N, 22) and its parts ``scale`` (N,), ``trans`` (N, 2), ``rot`` (N, 3),
        ``pose_pca`` (N, 6), ``betas`` (N, 10)."""
        x = features[-1] if isinstance(features, (list, tuple)) else features
        x = self.avgpool(x)
        if x.shape[-2:] != (1, 1):
            raise InputError(
                f"the 3D-hand head expects a 1x1 pooled map (a 256x256 crop), got {tuple(x.shape[-2:])}",
                hint="feed 256x256 crops (the method's preprocess makes them)",
            )
        params = self.fc(x.flatten(1)) + self.mean.to(x.dtype)
        n = self.num_pca
        return {
            "params": params,
            "scale": params[:, 0],
            "trans": params[:, 1:3],
            "rot": params[:, 3:6],
            "pose_pca": params[:, 6 : 6 + n],
            "betas": params[:, 6 + n :],
        }
