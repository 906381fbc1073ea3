"""Training samples for 3D-hand (model-0 RGB, model-1 RGB + heatmaps) on the open hand.

The crop is the method's own (:func:`handzoo_3dhand.preprocess.threedhand_box`: the 2D joints'
box x2.2, square, the PIL resizes to 256, left hands mirrored). Targets for both of the authors'
phases (:mod:`handzoo_3dhand.losses`):

* ``params`` (22,): the parameters of the sample in the network's terms, for the synthetic
  pre-training (parameter regression): the global rotation in the network's frame, the pose
  projected onto the hand model's 6 PCA components (least squares: the synthetic pose has 45
  values), the 10 shape values, and the weak-perspective scale and translation fitted (least
  squares) to the crop's 2D joints of that hand;
* ``joints2d`` (21, 2) crop pixels, ``joints3d`` (21, 3) metres (camera frame, mirrored for left
  hands) with ``focal`` (crop pixels), for the training phase;
* ``mask`` (256, 256) float, the hand's silhouette in the crop (1 on the hand), with
  ``mask_valid``, for the training phase's mask term (:func:`handzoo_3dhand.losses.mask_loss`).
  The mask is rendered (:func:`handzoo.render.raster.rasterize`): the hand model of the record's
  side (closed at the wrist, as the generator renders it) posed with the record's
  ``global_orient``, ``hand_pose``, ``betas`` and moved by the record's ``transl`` or else so
  its root joint lies on the record's wrist (``joints3d[0]``), seen through the crop's camera: ``A @ K`` for the affine map ``A``
  from the image to the crop (the in-plane rotation, then the box and its resize), so it lies
  exactly where the crop shows the hand, and mirrored with the crop for left hands. Shards
  hold no masks, hence the rendering; a record's own image-space ``mask`` (a generator scene
  record of one hand) can be warped instead (``mask_source='record'``). A record whose
  parameters are for another hand model than the transform's gets ``mask_valid = 0`` (unless
  its own mask is used).

Augmentation: the crop's expansion (scale) and centre (shift), in-plane rotation, colour, and the
flip (left hands mirrored into right ones, the network's hand model being right-handed). The
authors publish no training code; the unofficial trainer jitters the crop's corners (scale and
shift) and adds Gaussian pixel noise, with neither rotation nor flip. The rotation here
(``30 deg * clip(N(0, 1), -2, 2)`` for 60 % of the samples, H2ONet's and Hand4Whole's law;
``rotation_deg=0`` turns it off) turns the image about the hand's centre before the crop, and
the 3D joints and the global rotation with it about the camera's axis, so the targets stay
consistent. There is no random flip of right hands: a mirrored right hand is a left hand, which
the right-handed model does not represent (left hands are mirrored into right ones instead).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch

from handzoo.errors import ConfigError
from handzoo.geometry.flip import flip_axis_angle
from handzoo.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from handzoo.handmodels.placement import record_hand_vertices
from handzoo.render.raster import rasterize
from handzoo.train.augment import camera_roll, colour_jitter, roll_global_orient, sample_rotation
from handzoo.types import LEFT, RIGHT

from .mesh import ROOT_ROTATION, decode_hand
from .preprocess import BOX_FACTOR, CROP_SIZE, crop_hand, draw_heatmaps, image_to_crop, threedhand_box

__all__ = ["ThreeDHandTrainTransform", "crop_affine", "MASK_SOURCES"]

#: where the ``mask`` target comes from: rendered from the record's hand, the record's own
#: image-space ``mask`` warped into the crop (rendered when the record has none), or no mask
MASK_SOURCES = ("render", "record", "none")


def crop_affine(box: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """(3, 3) image -> crop map of an inclusive square box resized to ``size`` (the map of
    :func:`handzoo_3dhand.preprocess.image_to_crop` as a matrix; last row ``0 0 1``)."""
    box = np.asarray(box, dtype=np.float64)
    inv = size / (box[2] - box[0] + 1.0)
    return np.array([[inv, 0.0, (0.5 - box[0]) * inv - 0.5], [0.0, inv, (0.5 - box[1]) * inv - 0.5], [0.0, 0.0, 1.0]])


class ThreeDHandTrainTransform:
    """Record (``image``, ``K``, ``side``, ``joints3d``, ``global_orient``, ``hand_pose``, ``betas``)
    -> ``img`` (3 or 24, 256, 256) and the targets of both training phases.

    Args:
        hand_model: the hand model of the network (``'openhand'``), built in PCA mode.
        num_pca: pose PCA components (6).
        with_heatmaps: model-1's 24-channel input (RGB + 21 Gaussian joint heatmaps).
        scale_jitter: box expansion ``2.2 * exp(U(-a, a))``.
        shift: joints' centre shift ``U(-s, s)`` of their box side.
        rotation_deg: in-plane rotation ``r * clip(N(0, 1), -2, 2)`` degrees (0 = off).
        rotation_prob: share of samples rotated.
        colour: colour-jitter strength (0 = off).
        intermediate: the authors' intermediate resize (320; None: one resize, faster).
        augment: False gives the evaluation crop.
        mask_source: ``'render'`` (default), ``'record'`` or ``'none'`` (see :data:`MASK_SOURCES`
            and the module's docstring).
        seed: base seed.

    Raises:
        ConfigError: an unknown ``mask_source``.
    """

    def __init__(
        self,
        hand_model: str = "openhand",
        num_pca: int = 6,
        with_heatmaps: bool = False,
        scale_jitter: float = 0.15,
        shift: float = 0.05,
        rotation_deg: float = 30.0,
        rotation_prob: float = 0.6,
        colour: float = 1.0,
        intermediate: int | None = None,
        augment: bool = True,
        mask_source: str = "render",
        seed: int = 0,
    ) -> None:
        self.hand_model_name, self.num_pca = hand_model, int(num_pca)
        self.with_heatmaps = bool(with_heatmaps)
        self.scale_jitter, self.shift, self.colour = float(scale_jitter), float(shift), float(colour)
        self.rotation_deg, self.rotation_prob = float(rotation_deg), float(rotation_prob)
        self.intermediate = intermediate
        self.augment, self.seed = bool(augment), int(seed)
        if mask_source not in MASK_SOURCES:
            raise ConfigError(f"unknown mask_source {mask_source!r}", hint=f"use one of {', '.join(MASK_SOURCES)}")
        self.mask_source = mask_source
        self._hm = None
        self._mask_models: dict[int, Any] | None = None

    @property
    def hand_model(self) -> Any:
        if self._hm is None:
            from .model import build_hand_model

            self._hm = build_hand_model(self.hand_model_name, num_pca=self.num_pca)
        return self._hm

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_hm": None, "_mask_models": None}

    @property
    def mask_models(self) -> dict[int, Any]:
        """The full-pose hand models (right and left, closed at the wrist for the open hand) that
        render the masks."""
        if self._mask_models is None:
            from handzoo.handmodels import hand_model

            name = self.hand_model_name
            kw: dict[str, Any] = {"closed_wrist": True} if name == "openhand" else {}
            self._mask_models = {
                side: hand_model(name, side=label, flat_hand_mean=False, dtype=torch.float64, **kw).eval()
                for side, label in ((RIGHT, "right"), (LEFT, "left"))
            }
        return self._mask_models

    def render_mask(self, rec: dict[str, Any], K: np.ndarray, size: int = CROP_SIZE) -> np.ndarray | None:
        """(size, size) float32 silhouette of the record's hand in the camera ``K`` (any 3x3
        intrinsics, e.g. ``A @ K`` of a crop), or None when the record cannot place the hand
        (e.g. its parameters are for another hand model).

        The hand is placed by :func:`handzoo.handmodels.placement.record_hand_vertices`: the hand
        model of the record's side posed with ``global_orient``, ``hand_pose`` (full 45 values;
        ``flat_hand_mean`` records, the default, hold the pose without the model's mean) and
        ``betas``, moved by ``transl`` or else so its root joint lies on ``joints3d[0]``.
        """
        side = int(np.asarray(rec["side"]).reshape(-1)[0])
        model = self.mask_models[RIGHT if side != LEFT else LEFT]
        v = record_hand_vertices(model, self.hand_model_name, rec)
        if v is None:
            return None
        with torch.no_grad():
            frags = rasterize(v.float(), model.faces.long(), torch.as_tensor(K, dtype=torch.float32), (size, size))
        return frags.mask[0].numpy().astype(np.float32)

    def _mask(self, rec: dict[str, Any], image_to_crop: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, float]:
        """The crop's ``(mask, valid)`` (unmirrored) for the image -> crop map ``image_to_crop`` (3, 3)."""
        S = CROP_SIZE
        if self.mask_source == "none":
            return np.zeros((S, S), np.float32), 0.0
        own = rec.get("mask")
        if self.mask_source == "record" and own is not None:
            m = np.asarray(own, np.float32)
            m = m / 255.0 if m.max() > 1.0 else m
            warped = cv2.warpAffine(m, image_to_crop[:2], (S, S), flags=cv2.INTER_LINEAR, borderValue=0)
            return warped.astype(np.float32), 1.0
        mask = self.render_mask(rec, image_to_crop @ K, S)
        if mask is None:
            return np.zeros((S, S), np.float32), 0.0
        return mask, 1.0

    def _params(self, go: np.ndarray, hp: np.ndarray, betas: np.ndarray, uv: np.ndarray) -> np.ndarray:
        """The 22 parameters ``[s, tx, ty, rot(3), pca, betas(10)]`` of a right hand in the crop."""
        hm = self.hand_model
        dt = hm.v_template.dtype
        comps = hm.hand_components.double()  # (num_pca, 45)
        rhs = torch.as_tensor(hp, dtype=torch.float64) - hm.hand_mean.double()
        pca = torch.linalg.lstsq(comps.T, rhs[:, None]).solution[:, 0]
        R0 = axis_angle_to_matrix(torch.tensor([ROOT_ROTATION], dtype=torch.float64))[0]
        R = axis_angle_to_matrix(torch.as_tensor(go, dtype=torch.float64)[None])[0] @ R0.T
        rot = matrix_to_axis_angle(R[None])[0]
        b = torch.as_tensor(np.asarray(betas)[:10], dtype=dt)[None]
        with torch.no_grad():
            out = decode_hand(
                hm,
                torch.ones(1, dtype=dt),
                torch.zeros(1, 2, dtype=dt),
                rot[None].to(dt),
                pca[None].to(dt),
                b,
                with_mano=False,
            )
        xy = out["joints3d"][0, :, :2].numpy()
        # uv = s * xy + t (least squares over the 21 joints)
        A = np.concatenate([xy.reshape(-1, 1), np.tile(np.eye(2), (21, 1))], axis=1)
        s, tx, ty = np.linalg.lstsq(A, np.asarray(uv, np.float64).reshape(-1), rcond=None)[0]
        return np.concatenate([[s, tx, ty], rot.numpy(), pca.numpy(), np.asarray(betas, np.float64)[:10]])

    def __call__(self, rec: dict[str, Any], index: int = 0) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, int(index)])
        left = int(rec["side"]) == LEFT
        image = rec["image"]
        h_img, w_img = image.shape[:2]
        K = np.asarray(rec["K"], np.float64)
        j3 = np.asarray(rec["joints3d"], np.float64)
        uv = j3[:, :2] / j3[:, 2:] * np.array([K[0, 0], K[1, 1]]) + K[:2, 2]
        go = np.asarray(rec["global_orient"], np.float64)
        hp = np.asarray(rec["hand_pose"], np.float64)
        cam = j3.copy()
        factor, pts = BOX_FACTOR, uv
        turn = np.eye(3)  # the in-plane rotation of the image (3x3), identity when not rotated
        if self.augment:
            factor = BOX_FACTOR * float(np.exp(rng.uniform(-self.scale_jitter, self.scale_jitter)))
            side = float(np.max(uv.max(0) - uv.min(0)))
            pts = uv + rng.uniform(-self.shift, self.shift, 2) * side
            image = (colour_jitter(image, rng, self.colour) * 255.0 + 0.5).astype(np.uint8)
            rot = sample_rotation(rng, self.rotation_deg, self.rotation_prob)
            if rot:  # turn the image about the hand's centre; the 3D targets roll with it
                a = np.deg2rad(rot)
                R2 = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
                centre = (uv.min(0) + uv.max(0)) / 2.0
                A = np.concatenate([R2, (centre - R2 @ centre)[:, None]], axis=1)
                image = cv2.warpAffine(image, A, (w_img, h_img), flags=cv2.INTER_LINEAR, borderValue=0)
                turn[:2] = A
                uv, pts = uv @ R2.T + A[:, 2], pts @ R2.T + A[:, 2]
                roll = camera_roll(A)
                cam, go = cam @ roll.T, roll_global_orient(roll, go)
        box = threedhand_box(pts, w_img, h_img, factor)
        crop = crop_hand(image, box, CROP_SIZE, self.intermediate).astype(np.float32) / 255.0
        uv_crop = image_to_crop(uv, box)
        chans = [crop.transpose(2, 0, 1)]
        if self.with_heatmaps:
            chans.append(draw_heatmaps(uv_crop, CROP_SIZE))
        img = np.concatenate(chans, axis=0)
        mask, mask_valid = self._mask(rec, crop_affine(box) @ turn, K)
        if left:  # mirror the crop, its mask, the 2D and 3D joints and the parameters into a right hand
            img = img[:, :, ::-1]
            mask = mask[:, ::-1]
            uv_crop = np.stack([CROP_SIZE - 1.0 - uv_crop[:, 0], uv_crop[:, 1]], axis=1)
            cam[:, 0] = -cam[:, 0]
            go, hp = flip_axis_angle(go), flip_axis_angle(hp)
        focal = float(K[0, 0]) * CROP_SIZE / float(box[2] - box[0] + 1)
        f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
        return {
            "img": f32(np.ascontiguousarray(img)),
            "params": f32(self._params(go, hp, np.asarray(rec["betas"]), uv_crop)),
            "joints2d": f32(uv_crop),
            "joints2d_valid": np.ones(21, np.float32),
            "joints3d": f32(cam),
            "joints3d_valid": np.float32(1.0),
            "focal": np.float32(focal),
            "mask": f32(np.ascontiguousarray(mask)),
            "mask_valid": np.float32(mask_valid),
        }
