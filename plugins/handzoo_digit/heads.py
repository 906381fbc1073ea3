"""DIGIT's heads: part segmentation, segmentation/image merge, 2.5D joints, root depth + handedness.

Data flow (``C`` = 32 image channels at 64x64 for a 256x256 crop)::

    feature (B, 32, 64, 64) --DigitSegmHead--> part logits (B, 33, 128, 128)
    [feature, encode(softmax-free logits)] --DigitMerge--> merged (B, 544, 64, 64)
    merged --DigitJointHead--> 42 heatmaps + per-pixel depth -> 2.5D joints (soft-argmax)
    merged --DigitRootHandHead--> relative root depth (64 bins) and handedness logits (2)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from handzoo.interfaces import Head

__all__ = [
    "double_conv",
    "DigitSegmHead",
    "MiniUNet",
    "DigitMerge",
    "DigitJointHead",
    "DigitRootHandHead",
    "soft_argmax_2d",
    "soft_argmax_1d",
]


def double_conv(
    cin: int, cout: int, mid: int | None = None, final_relu: bool = True, final_bn: bool = True
) -> nn.Sequential:
    """conv3x3 -> BN -> ReLU -> conv3x3 [-> BN [-> ReLU]] (indices 0, 1, 3, 4 hold parameters)."""
    mid = mid or cout
    layers: list[nn.Module] = [nn.Conv2d(cin, mid, 3, padding=1), nn.BatchNorm2d(mid), nn.ReLU(inplace=True)]
    layers.append(nn.Conv2d(mid, cout, 3, padding=1))
    if final_bn:
        layers.append(nn.BatchNorm2d(cout))
        if final_relu:
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def _up2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=True)


class DigitSegmHead(Head):
    """Per-pixel part segmentation: x2 bilinear up-sampling, a double conv, then the classifier.

    Args:
        in_channels: backbone channels (32).
        hidden: channels after the up-sampling block (64; its first conv has ``in_channels // 2``).
        num_classes: background + 16 parts per hand (33).
    """

    def __init__(self, in_channels: int = 32, hidden: int = 64, num_classes: int = 33) -> None:
        super().__init__()
        self.decode = double_conv(in_channels, hidden, mid=in_channels // 2)
        # conv -> BN -> ReLU -> conv: the classifier ends on raw logits
        self.classify = nn.Sequential(*list(double_conv(hidden, num_classes).children())[:4])
        self.num_classes = num_classes

    def forward(self, features: list[torch.Tensor] | torch.Tensor, **ctx: Any) -> dict[str, torch.Tensor]:
        """Return ``{'segm_logits': (B, 33, 2h, 2w)}``."""
        x = features[0] if isinstance(features, (list, tuple)) else features
        return {"segm_logits": self.classify(self.decode(_up2(x)))}


class MiniUNet(nn.Module):
    """A three-level U-Net (bilinear up-sampling, skip concatenation) mapping C -> C channels."""

    def __init__(self, channels: int = 544) -> None:
        super().__init__()
        self.enc0 = double_conv(channels, 64)
        self.enc1 = double_conv(64, 128)
        self.enc2 = double_conv(128, 256)
        self.enc3 = double_conv(256, 256)
        self.dec1 = double_conv(512, 128, mid=256)
        self.dec2 = double_conv(256, 64, mid=128)
        self.dec3 = double_conv(128, 64, mid=64)
        self.out = nn.Conv2d(64, channels, 1)

    @staticmethod
    def _up_cat(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = _up2(x)
        dy, dx = skip.shape[2] - x.shape[2], skip.shape[3] - x.shape[3]
        if dy or dx:
            x = F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return torch.cat([skip, x], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        x1 = self.enc0(x)
        x2 = self.enc1(F.max_pool2d(x1, 2))
        x3 = self.enc2(F.max_pool2d(x2, 2))
        x4 = self.enc3(F.max_pool2d(x3, 2))
        y = self.dec1(self._up_cat(x4, x3))
        y = self.dec2(self._up_cat(y, x2))
        y = self.dec3(self._up_cat(y, x1))
        return self.out(y)


class DigitMerge(Head):
    """Encode the part logits (33 -> 512 channels, back to 64x64) and fuse them with the image feature.

    Args:
        image_channels: backbone channels (32).
        num_classes: segmentation classes (33).
        segm_channels: channels of the encoded segmentation (512).
    """

    def __init__(self, image_channels: int = 32, num_classes: int = 33, segm_channels: int = 512) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(num_classes, 64, 3, 1, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(64, segm_channels, 3, 1, 1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, 2),
        )
        self.unet = MiniUNet(image_channels + segm_channels)
        self.out_channels = image_channels + segm_channels

    def forward(self, features: list[torch.Tensor] | torch.Tensor, **ctx: Any) -> dict[str, torch.Tensor]:
        """``features`` = the image feature; ``segm_logits=`` the part logits. Returns ``{'merged'}``."""
        x = features[0] if isinstance(features, (list, tuple)) else features
        segm = self.encoder(ctx["segm_logits"])
        return {"merged": self.unet(torch.cat([x, segm], dim=1))}


def soft_argmax_2d(
    heatmaps: torch.Tensor, beta: float = 1.0, separable: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Spatial softmax and its expectation.

    Args:
        heatmaps: (B, J, H, W) logits.
        beta: softmax temperature (DIGIT: 1).
        separable: take the expectation from the two marginals (sum the probabilities over rows,
            then a 64-term weighted sum per axis) instead of one 4096-term weighted sum over the
            flattened grid. Mathematically the same; in float32 the flattened sum of values up to
            64 accumulates rounding (up to ~4e-4 pixel on a flat heatmap, and differently in
            each runtime), the separable one stays within ~1e-5 of the float64 value.

    Returns:
        ``(xy (B, J, 2), prob (B, J, H, W))``; ``xy`` in heatmap pixels with pixel centres at
        ``i + 0.5``. Without ``separable`` the expectation is one weighted sum over the flattened
        grid (the authors' summation order, so float32 results agree to the last bits).
    """
    b, j, h, w = heatmaps.shape
    flat = heatmaps.reshape(b * j, h * w)
    prob = F.softmax(beta * flat, dim=1)
    if separable:
        p4 = prob.reshape(b, j, h, w)
        xs = torch.arange(w, dtype=prob.dtype, device=prob.device) + 0.5
        ys = torch.arange(h, dtype=prob.dtype, device=prob.device) + 0.5
        x = (p4.sum(2) * xs).sum(-1)
        y = (p4.sum(3) * ys).sum(-1)
        return torch.stack([x, y], dim=-1), p4
    # the expectation uses a (B*J, H*W, 1) softmax as the authors' soft-argmax (a different
    # kernel from the one above: equal values, different last bits in float32)
    weights = F.softmax(beta * flat[..., None], dim=1)
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=prob.dtype, device=prob.device) + 0.5,
        torch.arange(w, dtype=prob.dtype, device=prob.device) + 0.5,
        indexing="ij",
    )
    grid = torch.stack([ys.reshape(-1), xs.reshape(-1)], dim=1)  # (H*W, 2) as (y, x)
    yx = (grid[None] * weights).sum(1).reshape(b, j, 2)
    return yx.flip(-1), prob.reshape(b, j, h, w)


def soft_argmax_1d(logits: torch.Tensor) -> torch.Tensor:
    """(B, N) logits -> (B,) expected bin index (bins at 0 .. N-1)."""
    prob = F.softmax(logits, dim=1)
    return (prob * torch.arange(logits.shape[1], dtype=prob.dtype, device=prob.device)).sum(1)


class DigitJointHead(Head):
    """42 2D heatmaps and per-pixel depth maps -> 2.5D joints.

    Outputs are in DIGIT's heatmap space: x, y in heatmap pixels (0..64), z in depth bins
    (0..64 spanning ``bbox_3d_size``, root-relative, the hand's root at bin 32).

    Args:
        in_channels: merged channels (544).
        num_joints: 42 (21 right, then 21 left; InterHand2.6M order).
        beta: soft-argmax temperature.
    """

    def __init__(self, in_channels: int = 544, num_joints: int = 42, beta: float = 1.0) -> None:
        super().__init__()
        self.heatmap = nn.Conv2d(in_channels, num_joints, 1)
        self.depth = nn.Conv2d(in_channels, num_joints, 1)
        self.beta = float(beta)
        self.separable_expectation = False  # set on the inference plan's copy (see soft_argmax_2d)

    def forward(self, features: list[torch.Tensor] | torch.Tensor, **ctx: Any) -> dict[str, torch.Tensor]:
        """Return ``joints25d`` (B, 42, 3), ``heatmaps`` and ``heatmap_prob`` (B, 42, 64, 64)."""
        x = features[0] if isinstance(features, (list, tuple)) else features
        hm = self.heatmap(x)
        depth = self.depth(x)
        # the inference plan and an ONNX export take the better-conditioned separable sums, so
        # torch and onnxruntime agree to float32 rounding (the exact path keeps the authors' order)
        sep = self.separable_expectation or torch.onnx.is_in_onnx_export()
        xy, prob = soft_argmax_2d(hm, self.beta, separable=sep)
        z = (prob * depth).sum(3).sum(2) if sep else (prob * depth).sum((2, 3))
        return {"joints25d": torch.cat([xy, z[..., None]], dim=2), "heatmaps": hm, "heatmap_prob": prob}


class DigitRootHandHead(Head):
    """A conv trunk with three max-pools and a global mean, then two MLPs.

    ``root_fc`` gives a 1D heatmap over ``root_bins`` bins of the left-minus-right root depth
    (soft-argmax -> bin); ``hand_fc`` gives the (right, left) presence logits.

    Args:
        in_channels: merged channels (544).
        root_bins: bins of the relative root depth (64).
    """

    def __init__(self, in_channels: int = 544, root_bins: int = 64) -> None:
        super().__init__()
        widths = (64, 128, 256, 512, 512, 512)
        layers: list[nn.Module] = []
        cin = in_channels
        for i, c in enumerate(widths):
            layers += [nn.Conv2d(cin, c, 3, 1, 1), nn.ReLU(inplace=True)]
            if i % 2 == 1:
                layers.append(nn.MaxPool2d(2, 2))
            cin = c
        self.trunk = nn.Sequential(*layers)
        self.root_fc = nn.Sequential(nn.Linear(512, 512), nn.ReLU(inplace=True), nn.Linear(512, root_bins))
        self.hand_fc = nn.Sequential(nn.Linear(512, 512), nn.ReLU(inplace=True), nn.Linear(512, 2))

    def forward(self, features: list[torch.Tensor] | torch.Tensor, **ctx: Any) -> dict[str, torch.Tensor]:
        """Return ``root_logits`` (B, 64), ``rel_root_bin`` (B,), ``hand_logits`` (B, 2)."""
        x = features[0] if isinstance(features, (list, tuple)) else features
        # the mean over an NCHW-contiguous map, as the authors reduce it (the inference plan's
        # trunk returns channels-last; a strided mean rounds differently)
        feat = self.trunk(x).contiguous().flatten(2).mean(2)
        root = self.root_fc(feat)
        return {"root_logits": root, "rel_root_bin": soft_argmax_1d(root), "hand_logits": self.hand_fc(feat)}
