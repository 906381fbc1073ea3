"""Training samples for DIGIT from whole images with one or two hands (e.g. the open-hand generator).

DIGIT predicts 2.5D joints of a right and a left hand in one crop, their handedness, the
left-minus-right root depth and a per-pixel part segmentation; it has no hand model, so any
data with 2D/3D joints trains its joint, root, handedness and bone terms. The crop is the
method's own (the union of the hands' boxes, aspect fixed, x1.25, 256x256) with box scale and
shift jitter and colour jitter; targets come from :func:`handzoo_digit.targets.sample_targets`.
Part labels (``segm``) need a renderer that writes per-part masks, which the synthetic
generator does not: ``segm_valid`` is 0 and the segmentation term is off.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np

from handzoo.train.augment import colour_jitter, jitter_box

from .preprocess import crop_matrices, expand_box, union_box
from .targets import sample_targets

__all__ = ["DigitTrainTransform"]


class DigitTrainTransform:
    """Scene record (:func:`handzoo.train.data.sample_to_scene`) -> ``img`` and DIGIT's targets.

    Args:
        input_size: crop side (256).
        heatmap_size: DIGIT's heatmap side (64) and depth bins.
        segm_size: side of the part-label map (128).
        bbox_3d_size: depth range of the joints' bins (m).
        scale_jitter: box scale ``exp(U(-a, a))``.
        shift: box-centre shift ``U(-s, s)`` box sides.
        colour: colour-jitter strength (0 = off).
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
        colour: float = 1.0,
        augment: bool = True,
        seed: int = 0,
    ) -> None:
        self.input_size, self.heatmap_size, self.segm_size = int(input_size), int(heatmap_size), int(segm_size)
        self.bbox_3d_size = float(bbox_3d_size)
        self.scale_jitter, self.shift, self.colour = float(scale_jitter), float(shift), float(colour)
        self.augment, self.seed = bool(augment), int(seed)

    def __call__(self, rec: dict[str, Any], index: int = 0) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, int(index)])
        n = int(rec["n_hands"])
        image = np.asarray(rec["image"])
        box = union_box(np.asarray(rec["bbox"], np.float64)[:n], image.shape[:2])
        if self.augment:
            box = jitter_box(box, rng, self.scale_jitter, self.shift)
            image = (colour_jitter(image, rng, self.colour) * 255.0 + 0.5).astype(np.uint8)
        S = self.input_size
        xywh = expand_box(np.asarray(box, np.float32), 1.0, 1.25)
        trans, _ = crop_matrices(xywh, (S, S))
        patch = cv2.warpAffine(image, trans.astype(np.float32), (S, S), flags=cv2.INTER_LINEAR)
        sample = SimpleNamespace(
            K=rec["K"], side=np.asarray(rec["side"])[:n], joints3d=np.asarray(rec["joints3d"])[:n], joints_valid=None
        )
        t = sample_targets(
            sample,
            trans,
            input_size=(S, S),
            heatmap_size=(self.heatmap_size,) * 3,
            bbox_3d_size=self.bbox_3d_size,
        )
        f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
        return {
            "img": f32(np.ascontiguousarray(patch.transpose(2, 0, 1)) / 255.0),
            "joints25d": f32(t["joints25d"]),
            "joint_valid": f32(t["joint_valid"]),
            "rel_root_bin": f32(t["rel_root_bin"]),
            "root_valid": f32(t["root_valid"]),
            "hand_type": f32(t["hand_type"]),
            "hand_type_valid": f32(t["hand_type_valid"]),
            "segm": np.zeros((self.segm_size, self.segm_size), np.int64),
            "segm_valid": np.float32(0.0),
        }
