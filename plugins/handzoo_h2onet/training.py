"""Training samples for single-frame H2ONet on a hand model with parameters (the open hand).

Uses the method's own crop (:func:`handzoo_h2onet.preprocess.crop_hands`: the joints' box x1.5,
square, left hands mirrored) and builds the authors' targets: the canonical mesh and joints
without global rotation (root-relative), the same with the global rotation, the rotation
matrix, and the 2D joints in the crop normalised to [0, 1]. Augmentation: box scale and shift
(the crop's scale and translation), colour jitter; left hands are mirrored (the flip).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from handzoo.geometry.flip import flip_axis_angle
from handzoo.geometry.rotations import axis_angle_to_matrix
from handzoo.query import make_query
from handzoo.train.augment import colour_jitter, jitter_box
from handzoo.types import LEFT

from .model import INPUT_SIZE
from .preprocess import crop_hands

__all__ = ["H2ONetTrainTransform"]


class H2ONetTrainTransform:
    """Record (``image``, ``K``, ``bbox``, ``side``, ``joints3d``, ``global_orient``, ``hand_pose``,
    ``betas``) -> ``img`` and the targets of :class:`handzoo_h2onet.losses.H2ONetLoss`.

    Args:
        hand_model: hand model the parameters belong to (right side; ``openhand``).
        scale_jitter: box scale ``exp(U(-a, a))``.
        shift: box-centre shift ``U(-s, s)`` box sides.
        colour: colour-jitter strength (0 = off).
        augment: False gives the evaluation crop.
        seed: base seed.
    """

    def __init__(
        self,
        hand_model: str = "openhand",
        scale_jitter: float = 0.15,
        shift: float = 0.05,
        colour: float = 1.0,
        augment: bool = True,
        seed: int = 0,
    ) -> None:
        self.hand_model_name = hand_model
        self.scale_jitter, self.shift, self.colour = float(scale_jitter), float(shift), float(colour)
        self.augment, self.seed = bool(augment), int(seed)
        self._hm = None

    @property
    def hand_model(self) -> Any:
        if self._hm is None:
            from handzoo.registry import build

            self._hm = build("hand_models", {"type": self.hand_model_name, "side": "right", "flat_hand_mean": True})
        return self._hm

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_hm": None}

    def __call__(self, rec: dict[str, Any], index: int = 0) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, int(index)])
        left = int(rec["side"]) == LEFT
        box = np.asarray(rec["bbox"], np.float64)
        image = rec["image"]
        if self.augment:
            box = jitter_box(box, rng, self.scale_jitter, self.shift)
            image = (colour_jitter(image, rng, self.colour) * 255.0 + 0.5).astype(np.uint8)
        K = np.asarray(rec["K"], np.float64)
        query = make_query(image, box[None], sides=[int(rec["side"])], K=K)
        crops, meta = crop_hands(query, INPUT_SIZE)
        inv = meta.inverse[0].numpy()
        fwd = np.linalg.inv(np.vstack([inv, [0.0, 0.0, 1.0]]))[:2]
        j3 = np.asarray(rec["joints3d"], np.float64)
        uv = j3[:, :2] / j3[:, 2:] * np.array([K[0, 0], K[1, 1]]) + K[:2, 2]
        uv_crop = uv @ fwd[:, :2].T + fwd[:, 2]
        go = np.asarray(rec["global_orient"], np.float64)
        hp = np.asarray(rec["hand_pose"], np.float64)
        if left:
            go, hp = flip_axis_angle(go), flip_axis_angle(hp)
        hm = self.hand_model
        dt = hm.v_template.dtype
        with torch.no_grad():
            v, j = hm(
                torch.zeros(1, 3, dtype=dt),
                torch.as_tensor(hp, dtype=dt)[None],
                torch.as_tensor(np.asarray(rec["betas"]), dtype=dt)[None],
            )
            root = j[:, :1]
            v, j = (v - root)[0].double(), (j - root)[0].double()
            R = axis_angle_to_matrix(torch.as_tensor(go)[None])[0]
        f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
        return {
            "img": f32(crops[0].numpy()),
            "joints_img": f32(uv_crop / INPUT_SIZE),
            "gt_verts3d_wo_gr": f32(v.numpy()),
            "gt_joints3d_wo_gr": f32(j.numpy()),
            "gt_verts3d_w_gr": f32((v @ R.T).numpy()),
            "gt_joints3d_w_gr": f32((j @ R.T).numpy()),
            "gt_glob_rot_mat": f32(R.numpy()),
        }
