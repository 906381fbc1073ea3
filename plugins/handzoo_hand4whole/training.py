"""Training samples for Hand4Whole's hand branch on a hand model with parameters (the open hand).

The crop is the method's own (:func:`handzoo_hand4whole.preprocess.hand4whole_box`: the box
clipped, made square and enlarged 1.25x, one bilinear warp to 256x256, left hands mirrored) and
the targets are the authors' (:class:`handzoo_hand4whole.losses.Hand4WholeLoss`): heatmap-space
joints with their truncation mask, the 48 pose values and 10 shape values (mirrored for left
hands), the wrist-relative 3D joints. Augmentation as the authors describe: scale
(``1 + 0.25 * clip(N(0, 1), -1, 1)``), in-plane rotation (``30 deg * clip(N(0, 1), -2, 2)`` for
60 % of the samples; the global rotation and the 3D joints turn with the image about the
camera's axis), box shift, colour, and the flip (left hands are mirrored into right ones).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from handzoo.geometry.flip import flip_axis_angle
from handzoo.imaging.transforms import crop_matrix, warp_crop, xyxy_to_xywh
from handzoo.train.augment import camera_roll, colour_jitter, jitter_box, roll_global_orient, sample_rotation
from handzoo.types import LEFT

from .losses import joint_img_targets
from .model import Hand4WholeHand
from .preprocess import hand4whole_box

__all__ = ["Hand4WholeTrainTransform"]


class Hand4WholeTrainTransform:
    """Record (``image``, ``K``, ``bbox``, ``side``, ``joints3d``, ``global_orient``, ``hand_pose``,
    ``betas``) -> ``img`` (3, 256, 256) in [0, 1] and the targets of the hand branch's losses.

    Args:
        scale_factor: crop scale ``1 + a * clip(N(0, 1), -1, 1)`` (the authors' 0.25).
        rotation_deg: rotation ``r * clip(N(0, 1), -2, 2)`` degrees (the authors' 30).
        rotation_prob: share of samples rotated (the authors' 0.6).
        shift: box-centre shift ``U(-s, s)`` box sides.
        colour: colour-jitter strength (0 = off).
        augment: False gives the evaluation crop.
        seed: base seed.
    """

    def __init__(
        self,
        scale_factor: float = 0.25,
        rotation_deg: float = 30.0,
        rotation_prob: float = 0.6,
        shift: float = 0.08,
        colour: float = 1.0,
        augment: bool = True,
        seed: int = 0,
    ) -> None:
        self.scale_factor, self.shift, self.colour = float(scale_factor), float(shift), float(colour)
        self.rotation_deg, self.rotation_prob = float(rotation_deg), float(rotation_prob)
        self.augment, self.seed = bool(augment), int(seed)

    def __call__(self, rec: dict[str, Any], index: int = 0) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, int(index)])
        left = int(rec["side"]) == LEFT
        box = np.asarray(rec["bbox"], np.float64)
        image = rec["image"]
        scale, rot = 1.0, 0.0
        if self.augment:
            box = jitter_box(box, rng, 0.0, self.shift)
            scale = 1.0 + self.scale_factor * float(np.clip(rng.normal(), -1.0, 1.0))
            rot = sample_rotation(rng, self.rotation_deg, self.rotation_prob)
            image = (colour_jitter(image, rng, self.colour) * 255.0 + 0.5).astype(np.uint8)
        h_img, w_img = image.shape[:2]
        h, w = Hand4WholeHand.input_size
        bb = hand4whole_box(xyxy_to_xywh(box), w_img, h_img)
        if bb is None:  # a shifted box left the image: the plain box
            bb = hand4whole_box(xyxy_to_xywh(np.asarray(rec["bbox"], np.float64)), w_img, h_img)
        crop = warp_crop(image.astype(np.float32), bb, (w, h), scale=scale, rot=rot, flip=left).image / 255.0
        M = crop_matrix(w_img, bb, (w, h), scale=scale, rot=rot, flip=left)
        K = np.asarray(rec["K"], np.float64)
        j3 = np.asarray(rec["joints3d"], np.float64)
        uv = j3[:, :2] / j3[:, 2:] * np.array([K[0, 0], K[1, 1]]) + K[:2, 2]
        uv_crop = uv @ M[:, :2].T + M[:, 2]
        rel = j3 - j3[:1]
        go = np.asarray(rec["global_orient"], np.float64)
        hp = np.asarray(rec["hand_pose"], np.float64)
        if left:  # the network sees a right hand: mirror the 3D joints and the parameters
            rel = rel * np.array([-1.0, 1.0, 1.0])
            go, hp = flip_axis_angle(go), flip_axis_angle(hp)
        # the crop's in-plane rotation (its linear part without the mirror) is a camera roll
        Rz = camera_roll(crop_matrix(w_img, bb, (w, h), scale=scale, rot=rot))
        rel = rel @ Rz.T
        go = roll_global_orient(Rz, go)
        joint_img, trunc = joint_img_targets(
            torch.as_tensor(uv_crop)[None],
            torch.as_tensor(j3)[None],  # a roll keeps the depths
            input_size=(h, w),
            heatmap_shape=Hand4WholeHand.heatmap_shape,
            bbox_3d_size=Hand4WholeHand.bbox_3d_size,
        )
        f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
        return {
            "img": f32(np.ascontiguousarray(crop.transpose(2, 0, 1))),
            "joint_img": f32(joint_img[0].numpy()),
            "joint_trunc": f32(trunc[0].numpy()),
            "is_3D": np.float32(1.0),
            "mano_pose": f32(np.concatenate([go, hp])),
            "mano_pose_valid": np.ones(48, np.float32),
            "mano_shape": f32(np.asarray(rec["betas"])[:10]),
            "mano_shape_valid": np.float32(1.0),
            "joint_cam": f32(rel),
            "joint_valid": np.ones((21, 1), np.float32),
        }
