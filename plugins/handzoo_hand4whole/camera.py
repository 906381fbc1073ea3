"""Hand4Whole's virtual crop camera and the maps from it to the input image's camera.

The network sees a 256x256 crop and predicts the hand's translation for a *virtual* pinhole
camera of focal length 5000 px with its principal point at the crop centre. Only the depth is
constrained: ``t_z = sigmoid(gamma) * sqrt(fx * fy * s^2 / (H * W))`` with ``s`` = 0.4 m (the
hand's assumed 3D extent), so a hand filling the crop sits about ``5000 * 0.4 / 256`` = 7.8 m
away.

In input-image pixels the same camera has focal ``5000 * box_w / 256`` and its principal point at
the crop box centre (the crop is a pure scale + shift of the image), so the virtual-camera 3D
output projects exactly onto the input image with :func:`crop_intrinsics`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from handzoo.geometry.cameras import project_points, unproject_points

__all__ = [
    "depth_scale",
    "camera_translation",
    "project_to_heatmap",
    "crop_intrinsics",
    "place_in_camera",
]


def depth_scale(focal: Sequence[float], camera_3d_size: float, input_size: Sequence[int]) -> float:
    """``sqrt(fx * fy * s^2 / (H * W))``: the depth of a hand of 3D size ``s`` filling the crop."""
    return math.sqrt(focal[0] * focal[1] * camera_3d_size * camera_3d_size / (input_size[0] * input_size[1]))


def camera_translation(cam_param: torch.Tensor, k: float) -> torch.Tensor:
    """(t_x, t_y, gamma) -> (t_x, t_y, k * sigmoid(gamma)) (B, 3)."""
    t_z = torch.sigmoid(cam_param[:, 2]) * k
    return torch.cat((cam_param[:, :2], t_z[:, None]), dim=1)


def project_to_heatmap(
    points: torch.Tensor,
    focal: Sequence[float],
    principal_point: Sequence[float],
    input_size: Sequence[int],
    heatmap_size: Sequence[int],
) -> torch.Tensor:
    """Project virtual-camera points (B, N, 3) to heatmap units (B, N, 2), as the training loss.

    The depth gets ``+1e-4`` (the authors' guard against division by zero), then crop pixels are
    scaled by ``heatmap / input`` (``input_size`` and ``heatmap_size`` are (H, W)).
    """
    z = points[..., 2] + 1e-4
    x = points[..., 0] / z * focal[0] + principal_point[0]
    y = points[..., 1] / z * focal[1] + principal_point[1]
    x = x / input_size[1] * heatmap_size[1]
    y = y / input_size[0] * heatmap_size[0]
    return torch.stack((x, y), dim=-1)


def crop_intrinsics(
    boxes_xywh: torch.Tensor,
    focal: Sequence[float],
    principal_point: Sequence[float],
    input_size: Sequence[int],
) -> torch.Tensor:
    """Intrinsics (N, 3, 3), in input-image pixels, of the virtual camera of each crop.

    The crop maps the box centre to the patch centre and scales by ``input / box``, so
    ``f_img = f * box / input`` and ``c_img = box_origin + c * box / input`` (exact, no
    approximation).

    Args:
        boxes_xywh: (N, 4) the boxes actually cropped (after the 1.25x square expansion).
        focal, principal_point: the virtual camera in crop pixels ((fx, fy), (cx, cy)).
        input_size: (H, W) of the crop.
    """
    sx = boxes_xywh[:, 2] / input_size[1]
    sy = boxes_xywh[:, 3] / input_size[0]
    K = boxes_xywh.new_zeros(boxes_xywh.shape[0], 3, 3)
    K[:, 0, 0] = focal[0] * sx
    K[:, 1, 1] = focal[1] * sy
    K[:, 0, 2] = boxes_xywh[:, 0] + principal_point[0] * sx
    K[:, 1, 2] = boxes_xywh[:, 1] + principal_point[1] * sy
    K[:, 2, 2] = 1.0
    return K


def place_in_camera(root: torch.Tensor, K_virtual: torch.Tensor, K_real: torch.Tensor) -> torch.Tensor:
    """Translation (N, 3) that moves a hand from the virtual crop camera into a real camera.

    Approximation (documented in the model card): the hand keeps its shape and its orientation
    relative to the camera axes (both cameras share them; only focal lengths and principal points
    differ); its root is moved along the real camera's ray through the root's pixel, to the depth
    at which its image size stays the same, ``z_real = z_virtual * sqrt(fx fy)_real /
    sqrt(fx fy)_virtual``. The root then projects to the same pixel in both cameras and the rest of
    the hand to within the perspective difference between the two focal lengths.

    Args:
        root: (N, 3) root joint (wrist) in the virtual camera.
        K_virtual: (N, 3, 3) intrinsics of the virtual camera in input pixels (:func:`crop_intrinsics`).
        K_real: (N, 3, 3) the input image's real intrinsics.

    Returns:
        (N, 3) translation to add to joints, vertices and the camera translation.
    """
    uv = project_points(root[:, None, :], K_virtual)[:, 0]
    f_virtual = torch.sqrt(K_virtual[:, 0, 0] * K_virtual[:, 1, 1])
    f_real = torch.sqrt(K_real[:, 0, 0] * K_real[:, 1, 1])
    depth = root[:, 2] * f_real / f_virtual
    new_root = unproject_points(uv[:, None, :], depth[:, None], K_real)[:, 0]
    return new_root - root
