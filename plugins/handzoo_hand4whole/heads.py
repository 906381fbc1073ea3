"""Pose2Pose's two heads: PositionNet (3D heatmaps + soft-argmax) and RotationNet.

PositionNet predicts, for each of the 21 joints, a ``D x H x W`` volume (8x8x8 for the hand
model) with one 1x1 convolution and reads the joint position off it with a soft-argmax
(:func:`soft_argmax_3d`). RotationNet samples a 512-channel feature map at each joint's (x, y)
(:func:`sample_joint_features`), appends the joint coordinates, and regresses the root and
finger rotations in 6D from all joints together; betas and the camera come from the globally
average-pooled backbone features.

At float32 CPU inference (eval mode, no autograd, oneDNN present) the two 1x1 convolutions run as
pre-packed oneDNN convolutions, RotationNet's with its BatchNorm folded (in float64) and its ReLU
fused (:class:`handzoo.backbones.fusion.FusedConv2d`); the same numbers to float32 rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from handzoo.backbones.fusion import FusedConv2d, PlanCache, mkldnn_available, weights_key
from handzoo.errors import InputError
from handzoo.interfaces import Head

__all__ = ["soft_argmax_3d", "sample_joint_features", "PositionHead", "RotationHead"]


def soft_argmax_3d(heatmaps: torch.Tensor) -> torch.Tensor:
    """Expected (x, y, z) voxel coordinates under a softmax over each joint's whole volume.

    Args:
        heatmaps: (B, J, D, H, W) logits.

    Returns:
        (B, J, 3) coordinates ``(x, y, z)`` in voxel units: x in ``[0, W - 1]`` along the last
        axis, y along H, z along D.
    """
    b, j, d, h, w = heatmaps.shape
    prob = F.softmax(heatmaps.reshape(b, j, d * h * w), dim=2).reshape(b, j, d, h, w)
    dtype, dev = prob.dtype, prob.device
    x = (prob.sum(dim=(2, 3)) * torch.arange(w, dtype=dtype, device=dev)).sum(dim=2, keepdim=True)
    y = (prob.sum(dim=(2, 4)) * torch.arange(h, dtype=dtype, device=dev)).sum(dim=2, keepdim=True)
    z = (prob.sum(dim=(3, 4)) * torch.arange(d, dtype=dtype, device=dev)).sum(dim=2, keepdim=True)
    return torch.cat((x, y, z), dim=2)


def sample_joint_features(features: torch.Tensor, joints_xy: torch.Tensor) -> torch.Tensor:
    """Bilinearly sample a feature map at joint positions given in feature-map pixels.

    Pixel ``0`` and ``size - 1`` are the first and last feature centres (``align_corners=True``);
    points outside the map read zeros.

    Args:
        features: (B, C, H, W).
        joints_xy: (B, J, 2+) positions; only x and y are used.

    Returns:
        (B, J, C).
    """
    h, w = features.shape[2:]
    gx = joints_xy[..., 0] / (w - 1) * 2 - 1
    gy = joints_xy[..., 1] / (h - 1) * 2 - 1
    grid = torch.stack((gx, gy), dim=2)[:, :, None, :]
    sampled = F.grid_sample(features, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return sampled[..., 0].transpose(1, 2).contiguous()


def _features(features: list[torch.Tensor] | torch.Tensor) -> torch.Tensor:
    return features[-1] if isinstance(features, (list, tuple)) else features


def _fused_conv(
    cache: PlanCache, x: torch.Tensor, conv: nn.Conv2d, bn: nn.BatchNorm2d | None, relu: bool
) -> FusedConv2d | None:
    """The cached oneDNN form of ``relu?(bn?(conv(x)))`` for float32 CPU inference, else None."""
    if (
        torch.is_grad_enabled()
        or conv.training
        or x.dtype != torch.float32
        or x.device.type != "cpu"
        or conv.weight.dtype != torch.float32
        or not mkldnn_available()
    ):
        return None
    tensors = [*conv.parameters()] + ([*bn.parameters(), *bn.buffers()] if bn is not None else [])
    key = weights_key(tensors)
    if cache.get("key") != key:
        with torch.inference_mode(False), torch.no_grad():
            cache.update(key=key, module=FusedConv2d(conv, bn, relu))
    return cache["module"]


class PositionHead(Head):
    """PositionNet: 1x1 conv to ``num_joints * D`` channels, then :func:`soft_argmax_3d`.

    Args:
        in_channels: backbone channels.
        num_joints: joints predicted (21).
        heatmap_shape: (D, H, W) of each joint's volume; H and W must equal the feature map's.
    """

    def __init__(self, in_channels: int = 2048, num_joints: int = 21, heatmap_shape: Sequence[int] = (8, 8, 8)) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.heatmap_shape = tuple(int(s) for s in heatmap_shape)
        self.heatmap = nn.Conv2d(in_channels, num_joints * self.heatmap_shape[0], kernel_size=1)
        self._plan = PlanCache()

    def forward(self, features: list[torch.Tensor] | torch.Tensor, **ctx: Any) -> dict[str, torch.Tensor]:
        """Return ``{'joint_img': (B, J, 3)}`` in heatmap voxel units."""
        feat = _features(features)
        d, h, w = self.heatmap_shape
        if tuple(feat.shape[2:]) != (h, w):
            raise InputError(f"PositionHead expects {h}x{w} features, got {tuple(feat.shape[2:])}")
        fused = _fused_conv(self._plan, feat, self.heatmap, None, relu=False)
        heat = fused(feat) if fused is not None else self.heatmap(feat)
        volumes = heat.reshape(feat.shape[0], self.num_joints, d, h, w)
        return {"joint_img": soft_argmax_3d(volumes)}


class RotationHead(Head):
    """RotationNet: 6D root and finger rotations from joint-sampled features; betas and camera.

    Args:
        in_channels: backbone channels.
        num_joints: joints sampled (21).
        num_rot_joints: rotations predicted: root + ``num_rot_joints - 1`` finger joints (16).
        num_betas: shape coefficients (10).
        mid_channels: channels of the joint-feature conv (512).
    """

    def __init__(
        self,
        in_channels: int = 2048,
        num_joints: int = 21,
        num_rot_joints: int = 16,
        num_betas: int = 10,
        mid_channels: int = 512,
    ) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.num_rot_joints = num_rot_joints
        self.joint_conv = nn.Conv2d(in_channels, mid_channels, kernel_size=1)
        self.joint_bn = nn.BatchNorm2d(mid_channels)
        self._plan = PlanCache()
        joint_feat = num_joints * (mid_channels + 3)
        self.joint_feat = joint_feat
        self.root_pose = nn.Linear(joint_feat, 6)
        self.hand_pose = nn.Linear(joint_feat, (num_rot_joints - 1) * 6)
        self.betas = nn.Linear(in_channels, num_betas)
        self.camera = nn.Linear(in_channels, 3)

    def forward(self, features: list[torch.Tensor] | torch.Tensor, **ctx: Any) -> dict[str, torch.Tensor]:
        """Run the head.

        Args:
            features: backbone features (B, C, H, W) (or a list whose last item they are).
            **ctx: ``joint_img`` (B, J, 3) from :class:`PositionHead` (the caller detaches it).

        Returns:
            ``root_pose_6d`` (B, 6), ``hand_pose_6d`` (B, 6 * (R - 1)), ``betas`` (B, num_betas),
            ``cam_param`` (B, 3) = (t_x, t_y, depth logit).
        """
        feat = _features(features)
        joint_img = ctx.get("joint_img")
        if joint_img is None or tuple(joint_img.shape[1:]) != (self.num_joints, 3):
            got = None if joint_img is None else tuple(joint_img.shape)
            raise InputError(f"RotationHead needs joint_img of shape (B, {self.num_joints}, 3), got {got}")
        pooled = feat.mean(dim=(2, 3))
        betas = self.betas(pooled)
        cam_param = self.camera(pooled)
        fused = _fused_conv(self._plan, feat, self.joint_conv, self.joint_bn, relu=True)
        joint_feat = fused(feat) if fused is not None else F.relu(self.joint_bn(self.joint_conv(feat)))
        sampled = torch.cat((sample_joint_features(joint_feat, joint_img), joint_img), dim=2)
        flat = sampled.reshape(feat.shape[0], self.joint_feat)
        return {
            "root_pose_6d": self.root_pose(flat),
            "hand_pose_6d": self.hand_pose(flat),
            "betas": betas,
            "cam_param": cam_param,
        }
