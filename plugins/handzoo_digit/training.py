"""Training samples for DIGIT from whole images with one or two hands (e.g. the open-hand generator).

DIGIT predicts 2.5D joints of a right and a left hand in one crop, their handedness, the
left-minus-right root depth and a per-pixel part segmentation; any data with 2D/3D joints trains
its joint, root, handedness and bone terms. The crop is the method's own (the union of the
hands' boxes, aspect fixed, x1.25, 256x256) with box scale and shift jitter, an optional in-plane
rotation and colour jitter; targets come from :func:`handzoo_digit.targets.sample_targets`.

Part labels (``segm``, 128x128: 0 background, 1-16 right hand, 17-32 left) are rendered for
each sample from a hand model's part assignment (:class:`handzoo_digit.parts.PartLabeller`) in
the crop's own camera, so they move with the image under every jitter and rotation: from the
record's vertices (the open-hand generator's), or from its hand-model parameters (e.g.
InterHand2.6M's MANO fits, with ``hand_model='mano'`` and the user's MANO files). A sample whose
hands cannot all be placed has ``segm_valid`` 0 (no segmentation loss for it); with
``hand_model=None``, or MANO files missing, the term is off for every sample (said once, as a
warning, when the transform is built).
"""

from __future__ import annotations

import os
import warnings
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np

from handzoo.errors import AssetError
from handzoo.train.augment import colour_jitter, jitter_box, sample_rotation

from .parts import PartLabeller, crop_intrinsics
from .preprocess import crop_matrices, expand_box, union_box
from .targets import sample_targets

__all__ = ["DigitTrainTransform"]


class DigitTrainTransform:
    """Scene record (:func:`handzoo.train.data.sample_to_scene`, or a one-hand shard record of
    :class:`handzoo.train.data.ShardSamples`) -> ``img`` and DIGIT's targets, part labels included.

    Args:
        input_size: crop side (256).
        heatmap_size: DIGIT's heatmap side (64) and depth bins.
        segm_size: side of the part-label map (128).
        bbox_3d_size: depth range of the joints' bins (m).
        scale_jitter: box scale ``exp(U(-a, a))``.
        shift: box-centre shift ``U(-s, s)`` box sides.
        scale_factor: > 0 switches to the authors' law: the expanded box is shifted by
            ``U(-shift, shift)`` of its width and height and scaled by ``1 + a * clip(N(0, 1), -1, 1)``
            (their 0.15 and 0.25); ``scale_jitter`` is then unused.
        rotation: in-plane rotation ``rotation * clip(N(0, 1), -2, 2)`` degrees with probability
            ``rotation_prob`` (0 = off); image, joints and part labels turn together.
        rotation_prob: share of rotated samples.
        flip: share of horizontally mirrored crops (the authors': 0.5). A mirrored right hand
            looks like a left one, so the hands swap slots: joints, handedness, the relative root
            depth (negated) and the part labels (1-16 <-> 17-32) follow.
        colour: colour-jitter strength (0 = off).
        channel_gain: per-channel gain ``U(1 - g, 1 + g)`` (the authors' colour augmentation, 0.2).
        hand_model: the model whose parts label the pixels (``'openhand'``, ``'mano'``), or None
            for no part labels.
        mano_dir: MANO files for ``hand_model='mano'`` (default ``$HANDZOO_MANO_DIR``).
        parts_file: per-vertex part ids (JSON) instead of the skinning argmax, e.g. the authors'
            ``vertex_segments_right_seal.json`` to fine-tune their released weights
            (:class:`handzoo_digit.parts.PartLabeller`).
        augment: False gives the evaluation crop.
        seed: base seed.
    """

    def __init__(
        self,
        input_size: int = 256,
        heatmap_size: int = 64,
        segm_size: int = 128,
        bbox_3d_size: float = 0.4,
        scale_jitter: float = 0.15,
        shift: float = 0.05,
        scale_factor: float = 0.0,
        rotation: float = 0.0,
        rotation_prob: float = 0.6,
        flip: float = 0.0,
        colour: float = 1.0,
        channel_gain: float = 0.0,
        hand_model: str | None = "openhand",
        mano_dir: str | os.PathLike | None = None,
        parts_file: str | os.PathLike | None = None,
        augment: bool = True,
        seed: int = 0,
    ) -> None:
        self.input_size, self.heatmap_size, self.segm_size = int(input_size), int(heatmap_size), int(segm_size)
        self.bbox_3d_size = float(bbox_3d_size)
        self.scale_jitter, self.shift, self.colour = float(scale_jitter), float(shift), float(colour)
        self.rotation, self.rotation_prob, self.flip = float(rotation), float(rotation_prob), float(flip)
        self.scale_factor, self.channel_gain = float(scale_factor), float(channel_gain)
        self.augment, self.seed = bool(augment), int(seed)
        self.labeller: PartLabeller | None = None
        if hand_model is None:
            warnings.warn(
                "DIGIT training: no hand model configured, so no part labels: segmentation loss off", stacklevel=2
            )
        else:
            try:
                self.labeller = PartLabeller(hand_model, mano_dir, parts_file)
            except AssetError as exc:
                warnings.warn(
                    f"DIGIT training: no part labels, segmentation loss off ({exc}); "
                    "to train it, give train_data.transform.mano_dir= or set $HANDZOO_MANO_DIR",
                    stacklevel=2,
                )

    def __call__(self, rec: dict[str, Any], index: int = 0) -> dict[str, np.ndarray]:
        """One training sample: ``img`` (3, S, S) in [0, 1] and the targets of
        :class:`~handzoo_digit.losses.DigitLoss` (``segm`` (G, G) int64, ``segm_valid``), drawn
        with the seed ``(seed, index)``."""
        rng = np.random.default_rng([self.seed, int(index)])
        n = int(rec.get("n_hands", 1))
        image = np.asarray(rec["image"])
        box = union_box(np.asarray(rec["bbox"], np.float64).reshape(-1, 4)[:n], image.shape[:2])
        angle, flip, move, scale = 0.0, False, np.zeros(2), 1.0
        if self.augment:
            if self.scale_factor > 0:  # the authors' law, on the expanded box below
                move = rng.uniform(-self.shift, self.shift, 2)
                scale = 1.0 + self.scale_factor * float(np.clip(rng.normal(), -1.0, 1.0))
            else:
                box = jitter_box(box, rng, self.scale_jitter, self.shift)
            x = colour_jitter(image, rng, self.colour)
            if self.channel_gain > 0:
                x = np.clip(x * rng.uniform(1 - self.channel_gain, 1 + self.channel_gain, 3).astype(np.float32), 0, 1)
            image = (x * 255.0 + 0.5).astype(np.uint8)
            angle = sample_rotation(rng, self.rotation, self.rotation_prob)
            flip = self.flip > 0 and bool(rng.random() < self.flip)
        S = self.input_size
        xywh = expand_box(np.asarray(box, np.float32), 1.0, 1.25)
        if self.scale_factor > 0 and self.augment:
            centre = xywh[:2] + xywh[2:] * (0.5 + move)
            xywh = np.concatenate([centre - xywh[2:] * scale / 2, xywh[2:] * scale]).astype(np.float32)
        trans, _ = crop_matrices(xywh, (S, S))
        if angle:
            turn = np.eye(3)
            turn[:2] = cv2.getRotationMatrix2D((S * 0.5, S * 0.5), angle, 1.0)
            trans = (turn @ np.vstack([trans, [0.0, 0.0, 1.0]]))[:2]
        if flip:  # crop pixel x -> S - 1 - x (pixel centres)
            trans = np.array([[-1.0, 0.0, S - 1.0], [0.0, 1.0, 0.0]]) @ np.vstack([trans, [0.0, 0.0, 1.0]])
        patch = cv2.warpAffine(image, trans.astype(np.float32), (S, S), flags=cv2.INTER_LINEAR)
        sides = np.asarray(rec["side"]).reshape(-1)[:n]
        sample = SimpleNamespace(
            K=rec["K"],
            side=(1 - sides) if flip else sides,  # RIGHT = 0, LEFT = 1: a mirrored hand changes slot
            joints3d=np.asarray(rec["joints3d"]).reshape(-1, 21, 3)[:n],
            joints_valid=np.asarray(rec["joints_valid"]).reshape(-1, 21)[:n] if "joints_valid" in rec else None,
        )
        t = sample_targets(
            sample,
            trans,
            input_size=(S, S),
            heatmap_size=(self.heatmap_size,) * 3,
            bbox_3d_size=self.bbox_3d_size,
        )
        G = self.segm_size
        segm, segm_valid = np.zeros((G, G), np.int64), False
        if self.labeller is not None:
            segm, segm_valid = self.labeller(rec, crop_intrinsics(rec["K"], trans, G / S), (G, G))
            if flip:  # the mirrored right hand's parts are the left hand's, and conversely
                segm = np.where(segm > 16, segm - 16, np.where(segm > 0, segm + 16, 0))
        f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
        return {
            "img": f32(np.ascontiguousarray(patch.transpose(2, 0, 1)) / 255.0),
            "joints25d": f32(t["joints25d"]),
            "joint_valid": f32(t["joint_valid"]),
            "rel_root_bin": f32(t["rel_root_bin"]),
            "root_valid": f32(t["root_valid"]),
            "hand_type": f32(t["hand_type"]),
            "hand_type_valid": f32(t["hand_type_valid"]),
            "segm": segm,
            "segm_valid": np.float32(segm_valid),
        }
