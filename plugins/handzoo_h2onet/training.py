"""Training samples for single- and multi-frame H2ONet on a hand model with parameters (the open hand).

Uses the method's own crop (:func:`handzoo_h2onet.preprocess.crop_hands`: the joints' box x1.5,
square, left hands mirrored) and builds the authors' targets: the canonical mesh and joints
without global rotation (root-relative), the same with the global rotation, the rotation
matrix, and the 2D joints in the crop normalised to [0, 1]. Augmentation as the authors': crop
scale (``1 + 0.25 * clip(N(0, 1), -1, 1)``), in-plane rotation (``30 deg * clip(N(0, 1),
-2, 2)`` for 60 % of the samples; the global rotation and the rotated mesh and joints turn with
the crop about the camera's axis, the canonical ones do not), colour (the authors scale each
channel by ``U(0.8, 1.2)``; :func:`~handzoo.train.augment.colour_jitter` also varies saturation,
contrast, blur and noise) and the flip: left hands are mirrored into right ones, as the authors
do. handzoo adds a small box scale and shift before the crop. There is no random flip of right hands:
the authors flip only left hands (the network and its mesh are right-handed).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from handzoo.geometry.flip import flip_axis_angle
from handzoo.geometry.rotations import axis_angle_to_matrix
from handzoo.imaging.transforms import crop_matrix, warp_crop
from handzoo.train.augment import camera_roll, colour_jitter, jitter_box, sample_rotation
from handzoo.types import LEFT

from .model import INPUT_SIZE
from .preprocess import crop_box

__all__ = ["H2ONetTrainTransform", "H2ONetMFTrainTransform"]


class H2ONetTrainTransform:
    """Record (``image``, ``K``, ``bbox``, ``side``, ``joints3d``, ``global_orient``, ``hand_pose``,
    ``betas``) -> ``img`` and the targets of :class:`handzoo_h2onet.losses.H2ONetLoss`.

    Args:
        hand_model: hand model the parameters belong to (right side; ``openhand``).
        scale_factor: crop scale ``1 + a * clip(N(0, 1), -1, 1)`` (the authors' 0.25).
        scale_jitter: box scale ``exp(U(-a, a))`` before the crop (handzoo's; for the multi-frame
            transform the frames' own motion).
        shift: box-centre shift ``U(-s, s)`` box sides.
        rotation_deg: in-plane rotation ``r * clip(N(0, 1), -2, 2)`` degrees (the authors' 30).
        rotation_prob: share of samples rotated (the authors' 0.6).
        colour: colour-jitter strength (0 = off).
        augment: False gives the evaluation crop.
        seed: base seed.
    """

    def __init__(
        self,
        hand_model: str = "openhand",
        scale_jitter: float = 0.15,
        shift: float = 0.05,
        scale_factor: float = 0.25,
        rotation_deg: float = 30.0,
        rotation_prob: float = 0.6,
        colour: float = 1.0,
        augment: bool = True,
        seed: int = 0,
    ) -> None:
        self.hand_model_name = hand_model
        self.scale_jitter, self.shift, self.colour = float(scale_jitter), float(shift), float(colour)
        self.rotation_deg, self.rotation_prob = float(rotation_deg), float(rotation_prob)
        self.scale_factor = float(scale_factor)
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

    def _view(self, rng: np.random.Generator) -> tuple[float, float]:
        """The sample's crop scale and in-plane rotation (degrees): ``(1, 0)`` without augmentation."""
        if not self.augment:
            return 1.0, 0.0
        scale = 1.0 + self.scale_factor * float(np.clip(rng.normal(), -1.0, 1.0)) if self.scale_factor else 1.0
        return scale, sample_rotation(rng, self.rotation_deg, self.rotation_prob)

    def _targets3d(self, rec: dict[str, Any], roll: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The canonical and rotated mesh and joints (root-relative) and the rotation matrix.

        ``roll`` (3, 3): the crop's camera roll (:func:`~handzoo.train.augment.camera_roll`),
        applied after the global rotation (and after the mirror of a left hand).
        """
        go = np.asarray(rec["global_orient"], np.float64)
        hp = np.asarray(rec["hand_pose"], np.float64)
        if int(rec["side"]) == LEFT:
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
            if roll is not None:
                R = torch.as_tensor(roll, dtype=R.dtype) @ R
        f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
        return {
            "gt_verts3d_wo_gr": f32(v.numpy()),
            "gt_joints3d_wo_gr": f32(j.numpy()),
            "gt_verts3d_w_gr": f32((v @ R.T).numpy()),
            "gt_joints3d_w_gr": f32((j @ R.T).numpy()),
            "gt_glob_rot_mat": f32(R.numpy()),
        }

    def _frame(
        self,
        rec: dict[str, Any],
        rng: np.random.Generator,
        scale: float,
        shift: float,
        view: tuple[float, float] = (1.0, 0.0),
        colour_rng: np.random.Generator | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One augmented crop ``(img (3, 128, 128) in [0, 1], joints_img (21, 2) in [0, 1], roll (3, 3))``.

        The method's crop (:func:`handzoo_h2onet.preprocess.crop_box`, left hands mirrored) of the
        jittered box (``scale``, ``shift``), scaled and rotated about the box centre by ``view``
        (crop scale, degrees); ``roll`` is that rotation as a camera roll, for the 3D targets.
        ``colour_rng`` draws the colour jitter (default ``rng``).
        """
        crop_scale, rot = view
        box = np.asarray(rec["bbox"], np.float64)
        image = rec["image"]
        if self.augment:
            box = jitter_box(box, rng, scale, shift)
            image = (colour_jitter(image, colour_rng or rng, self.colour) * 255.0 + 0.5).astype(np.uint8)
        h_img, w_img = image.shape[:2]
        left = int(rec["side"]) == LEFT
        bb = crop_box(h_img, w_img, box, None)
        crop = warp_crop(image.astype(np.float32), bb, INPUT_SIZE, scale=crop_scale, rot=rot, flip=left)
        fwd = crop.transform
        K = np.asarray(rec["K"], np.float64)
        j3 = np.asarray(rec["joints3d"], np.float64)
        uv = j3[:, :2] / j3[:, 2:] * np.array([K[0, 0], K[1, 1]]) + K[:2, 2]
        uv_crop = uv @ fwd[:, :2].T + fwd[:, 2]
        roll = camera_roll(crop_matrix(w_img, bb, INPUT_SIZE, scale=crop_scale, rot=rot))  # the map without the mirror
        img = np.ascontiguousarray(crop.image.transpose(2, 0, 1) / 255.0, dtype=np.float32)
        return img, np.asarray(uv_crop / INPUT_SIZE, np.float32), roll

    def __call__(self, rec: dict[str, Any], index: int = 0) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, int(index)])
        view = self._view(rng)
        img, joints_img, roll = self._frame(rec, rng, self.scale_jitter, self.shift, view)
        return {"img": img, "joints_img": joints_img, **self._targets3d(rec, roll)}


# handzoo21 joints of each finger (thumb .. little): the occlusion classes of H2ONet-MF, then the hand
_FINGER_JOINTS = [list(range(1 + 4 * f, 5 + 4 * f)) for f in range(5)]


class H2ONetMFTrainTransform(H2ONetTrainTransform):
    """Record -> the three frames (t, t-short, t-long) of multi-frame H2ONet and their targets.

    A record with ``frames`` (a list of three records of one hand: t, t-short, t-long) gives
    those frames; a single-image record (a synthetic sample, a shard row) gives a short clip of
    a hand that holds its pose while the camera moves: each frame is its own crop of the image
    with its own box scale and shift (wider for the older frames); the crop scale, the in-plane
    rotation and the colour are one per sample, the same for the three frames (as the authors').
    Each frame may get a synthetic occluder (a random-coloured rectangle over part of the hand, probability
    ``occlude``); the occlusion labels ``gt_occ`` (3, 6) mark a finger occluded when at least 2
    of its 4 joints lie under the occluder, and the hand when at least half of its 21 joints do
    (the authors derive the labels from rendered vs segmented visibility; the synthetic data has
    no occluding objects). Targets are per frame, stacked as (3, ...); the loss takes frame t of
    every sample first, as the network's batch.

    Args:
        occlude: probability of an occluder in each frame.
        motion: box scale and shift of frames t-short / t-long, as multiples of the single-frame
            jitter.
        **kwargs: see :class:`H2ONetTrainTransform`.
    """

    def __init__(self, occlude: float = 0.4, motion: tuple[float, float] = (1.5, 2.5), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.occlude = float(occlude)
        self.motion = (float(motion[0]), float(motion[1]))

    def _occluder(self, img: np.ndarray, joints_img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draw an occluder on ``img`` (in place) and return the (6,) occlusion labels."""
        labels = np.zeros(6, np.int64)
        if not (self.augment and rng.random() < self.occlude):
            return labels
        uv = joints_img * INPUT_SIZE
        centre = uv[rng.integers(0, 21)] + rng.normal(0, 6, 2)
        half = rng.uniform(10, 40, 2)
        x0, y0 = np.clip(centre - half, 0, INPUT_SIZE).astype(int)
        x1, y1 = np.clip(centre + half, 0, INPUT_SIZE).astype(int)
        img[:, y0:y1, x0:x1] = rng.uniform(0, 1, (3, 1, 1)).astype(np.float32)
        under = (uv[:, 0] >= x0) & (uv[:, 0] < x1) & (uv[:, 1] >= y0) & (uv[:, 1] < y1)
        for f, ids in enumerate(_FINGER_JOINTS):
            labels[f] = int(under[ids].sum() >= 2)
        labels[5] = int(under.sum() >= 11)
        return labels

    def __call__(self, rec: dict[str, Any], index: int = 0) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, int(index)])
        frames = rec.get("frames") or [rec, rec, rec]
        if len(frames) != 3:
            from handzoo.errors import DatasetError

            raise DatasetError(f"H2ONet-MF trains on 3 frames (t, t-short, t-long), got {len(frames)}")
        rows = []
        view = self._view(rng)  # one crop scale and rotation for the clip, as the authors
        colour_seed = int(rng.integers(2**62))  # and one colour
        for fr, m in zip(frames, (1.0, *self.motion)):
            cr = np.random.default_rng(colour_seed)
            img, joints_img, roll = self._frame(fr, rng, self.scale_jitter * m, self.shift * m, view, cr)
            occ = self._occluder(img, joints_img, rng)
            rows.append({"img": img, "joints_img": joints_img, "gt_occ": occ, **self._targets3d(fr, roll)})
        out = {k: np.stack([r[k] for r in rows]) for k in rows[0] if k != "img"}
        out.update({f"img_{f}": rows[f]["img"] for f in range(3)})
        return out
