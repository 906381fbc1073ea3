"""From DIGIT's heatmap space to input-image pixels and camera metres.

DIGIT's 2.5D joints are (x, y) in 64x64 heatmap pixels and z in 64 depth bins spanning
``bbox_3d_size`` (0.4 m) centred on each hand's own root; the relative root depth (left minus
right) is a soft-argmax over 64 bins spanning ``bbox_3d_size_root`` (0.4 m). As in the authors'
evaluation (InterNet's), x, y go back through the crop's inverse affine map, and camera-space
joints follow from back-projection with an absolute root depth per hand:
``X = (u - cx) / fx * Z``.
"""

from __future__ import annotations

import torch

__all__ = ["heatmap_to_image", "bins_to_metres", "back_project", "part_palette"]


def heatmap_to_image(
    joints25d: torch.Tensor,
    inv_trans: torch.Tensor,
    input_size: tuple[int, int] = (256, 256),
    heatmap_size: tuple[int, int, int] = (64, 64, 64),
    bbox_3d_size: float = 0.4,
) -> torch.Tensor:
    """(B, J, 3) heatmap-space joints -> (B, J, 3): u, v input pixels and z metres (root-relative).

    Args:
        joints25d: x, y in heatmap pixels, z in depth bins.
        inv_trans: (B, 2, 3) patch -> image maps.
        input_size: ``(H, W)`` of the network input.
        heatmap_size: ``(D, H, W)`` of the heatmap volume.
        bbox_3d_size: metres spanned by the depth bins.
    """
    x = joints25d[..., 0] / heatmap_size[2] * input_size[1]
    y = joints25d[..., 1] / heatmap_size[1] * input_size[0]
    t = inv_trans.to(joints25d.dtype)
    u = t[:, 0, 0, None] * x + t[:, 0, 1, None] * y + t[:, 0, 2, None]
    v = t[:, 1, 0, None] * x + t[:, 1, 1, None] * y + t[:, 1, 2, None]
    z = bins_to_metres(joints25d[..., 2], heatmap_size[0], bbox_3d_size)
    return torch.stack([u, v, z], dim=-1)


def bins_to_metres(bins: torch.Tensor, num_bins: int, span: float) -> torch.Tensor:
    """Depth bins (0..num_bins, centre at num_bins / 2) -> metres over ``span``."""
    return (bins / num_bins * 2 - 1) * (span / 2)


def back_project(uvz: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """(B, J, 3) pixels + absolute depth -> (B, J, 3) camera coordinates, with (B, 3, 3) intrinsics."""
    f = torch.stack([K[:, 0, 0], K[:, 1, 1]], dim=1).to(uvz.dtype)
    c = torch.stack([K[:, 0, 2], K[:, 1, 2]], dim=1).to(uvz.dtype)
    x = (uvz[..., 0] - c[:, 0, None]) / f[:, 0, None] * uvz[..., 2]
    y = (uvz[..., 1] - c[:, 1, None]) / f[:, 1, None] * uvz[..., 2]
    return torch.stack([x, y, uvz[..., 2]], dim=-1)


def part_palette(num_classes: int = 33) -> torch.Tensor:
    """(num_classes, 3) uint8 colours: black background, warm hues for the right hand's 16 parts,
    cool hues for the left hand's."""
    import colorsys

    cols = [(0, 0, 0)]
    per_hand = (num_classes - 1) // 2
    for hand, (h0, h1) in enumerate(((0.95, 1.45), (0.45, 0.85))):
        for p in range(per_hand):
            h = (h0 + (h1 - h0) * p / max(per_hand - 1, 1)) % 1.0
            r, g, b = colorsys.hsv_to_rgb(h, 0.85 if p % 2 == 0 else 0.6, 0.95 if hand == 0 else 0.9)
            cols.append((int(r * 255), int(g * 255), int(b * 255)))
    while len(cols) < num_classes:
        cols.append((255, 255, 255))
    return torch.tensor(cols[:num_classes], dtype=torch.uint8)
