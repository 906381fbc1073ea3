"""Training samples for the compact model: augmented crops and targets in the crop frame.

The crop is the model's own (:meth:`CompactHand.crop`, perspective-correct, left hands mirrored);
augmentations as usual for hand-mesh training: crop scale, in-plane rotation, centre shift,
colour (brightness, contrast, saturation, per-channel gain), blur and pixel noise. The mirror of
left hands is the flip augmentation: the open hand's left model is the exact mirror of the right.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from handzoo.geometry.flip import flip_axis_angle
from handzoo.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from handzoo.types import LEFT

from .crop import crop_camera, warp_to_crop
from .model import IMAGE_MEAN, IMAGE_STD

__all__ = ["CompactTrainTransform", "augment_colour"]


def augment_colour(crop: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Random brightness/contrast/saturation/gain, blur and noise on a uint8 RGB crop -> float32 [0, 1]."""
    x = crop.astype(np.float32) / 255.0
    if strength <= 0:
        return x
    s = strength
    grey = x.mean(2, keepdims=True)
    x = grey + (x - grey) * rng.uniform(1 - 0.4 * s, 1 + 0.4 * s)  # saturation
    x = x * rng.uniform(1 - 0.3 * s, 1 + 0.3 * s) * rng.uniform(1 - 0.1 * s, 1 + 0.1 * s, 3)[None, None]
    m = x.mean()
    x = m + (x - m) * rng.uniform(1 - 0.3 * s, 1 + 0.3 * s)  # contrast
    if rng.random() < 0.3 * s:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.3, 1.2))
    if rng.random() < 0.5 * s:
        x = x + rng.normal(0, rng.uniform(0, 0.03), x.shape).astype(np.float32)
    return np.clip(x, 0.0, 1.0)


class CompactTrainTransform:
    """Sample (a dict with ``image``, ``K``, ``bbox``, ``side``, ``joints3d``, ``global_orient``,
    ``hand_pose``, ``betas``) -> network input and targets.

    Args:
        input_size: crop side (the model's).
        crop_scale: crop side / box side (the model's).
        scale_jitter: crop scale multiplied by ``exp(U(-a, a))``.
        rotation_deg: in-plane rotation ``U(-r, r)`` degrees.
        shift: box-centre shift ``U(-s, s)`` box sides.
        colour: colour augmentation strength (0 = off).
        augment: False gives the evaluation crop (no randomness).
        seed: base seed; each sample uses ``(seed, index, epoch counter)``.
    """

    def __init__(
        self,
        input_size: int = 128,
        crop_scale: float = 1.5,
        scale_jitter: float = 0.15,
        rotation_deg: float = 180.0,
        shift: float = 0.08,
        colour: float = 1.0,
        augment: bool = True,
        seed: int = 0,
    ) -> None:
        self.input_size = int(input_size)
        self.crop_scale = float(crop_scale)
        self.scale_jitter = float(scale_jitter)
        self.rotation = np.deg2rad(float(rotation_deg))
        self.shift = float(shift)
        self.colour = float(colour)
        self.augment = bool(augment)
        self.seed = int(seed)
        self._calls = 0

    def __call__(self, sample: dict[str, Any], index: int = 0) -> dict[str, np.ndarray]:
        self._calls += 1
        rng = np.random.default_rng([self.seed, int(index), self._calls])
        left = int(sample["side"]) == LEFT
        if self.augment:
            scale = self.crop_scale * float(np.exp(rng.uniform(-self.scale_jitter, self.scale_jitter)))
            angle = float(rng.uniform(-self.rotation, self.rotation))
            shift = tuple(float(v) for v in rng.uniform(-self.shift, self.shift, 2))
        else:
            scale, angle, shift = self.crop_scale, 0.0, (0.0, 0.0)
        cam = crop_camera(sample["K"], sample["bbox"], self.input_size, left, scale=scale, angle=angle, shift=shift)
        crop = warp_to_crop(sample["image"], cam)
        x = augment_colour(crop, rng, self.colour if self.augment else 0.0)
        x = (x - np.asarray(IMAGE_MEAN, np.float32)) / np.asarray(IMAGE_STD, np.float32)
        # targets in the crop frame of a right hand
        import torch

        go = np.asarray(sample["global_orient"], np.float64)
        hp = np.asarray(sample["hand_pose"], np.float64)
        if left:  # the left hand's parameters, mirrored, pose the right model
            go, hp = flip_axis_angle(go), flip_axis_angle(hp)
        M = np.diag([-1.0, 1.0, 1.0]) if left else np.eye(3)
        # crop frame = M R (input frame); a mirrored hand's rotation R_g becomes M R M (M R_g M)
        Rg = axis_angle_to_matrix(torch.as_tensor(go)[None]).numpy()[0]  # go already mirrored
        go_c = matrix_to_axis_angle(torch.as_tensor(cam.R @ M @ Rg)[None]).numpy()[0]
        j = np.asarray(sample["joints3d"], np.float64) @ cam.R.T
        uv = j[:, :2] / j[:, 2:] * cam.K[0, 0]
        return {
            "img": np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32),
            "gt_global_orient": go_c.astype(np.float32),
            "gt_hand_pose": hp.astype(np.float32),
            "gt_betas": np.asarray(sample["betas"], np.float32),
            "gt_joints2d_n": (uv / (cam.size / 2.0)).astype(np.float32),
        }
