"""3D-hand (Boukhayma, de Bem, Torr, CVPR 2019) as a handzoo Method.

Pipeline: the authors' 2.2x square crop around the hand's 2D joints, 256x256 RGB in [0, 1]
(+ 21 keypoint heatmaps for model-1; left hands mirrored) -> ResNet-34 -> ``AvgPool2d(7)`` ->
linear layer + constant offset -> 22 numbers (weak-perspective scale and translation in crop
pixels, global axis-angle, 6 MANO pose PCA coefficients, 10 betas) -> right-hand model with the
root fixed at ``(pi, 0, 0)``, then the global rotation -> 778 vertices (MANO) and 21 joints
(16 skeleton joints + fingertip vertices 745, 333, 444, 555, 672 on MANO).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from handzoo.backbones.fusion import PlanCache, module_weights_key
from handzoo.backbones.workers import intra_op_threads
from handzoo.errors import ConfigError, InputError
from handzoo.geometry.flip import flip_axis_angle, flip_points
from handzoo.handmodels.method_hand import build_method_hand_model, make_buffers_non_persistent
from handzoo.interfaces import HandModel, Loss, Method
from handzoo.query import HandQuery
from handzoo.types import LEFT, HandOutput, HandSlots

from .mesh import decode_hand
from .preprocess import CROP_SIZE, DEFAULT_HEATMAP_SIGMA, INTERMEDIATE_SIZE, HandCrops, crop_to_image, make_crops

__all__ = ["ThreeDHand", "THREEDHAND_MANO_TIPS", "RGB_ARCHITECTURE", "RGB2D_ARCHITECTURE", "build_hand_model"]

# Fingertip vertices of the authors' joint set on MANO's right hand (thumb, index, middle, ring,
# pinky). NB: index 333 and pinky 672 differ from manopth's 317 / 673 and ring 555 from 556.
THREEDHAND_MANO_TIPS = (745, 333, 444, 555, 672)

_HAND_MODEL_TREE: dict[str, Any] = {
    "type": "mano",
    "side": "right",
    "use_pca": True,
    "num_pca_comps": 6,
    "flat_hand_mean": False,
    "tip_vertex_ids": list(THREEDHAND_MANO_TIPS),
}
_LOSSES_TREE: dict[str, Any] = {"pretrain": {"type": "ThreeDHandPretrainLoss"}, "train": {"type": "ThreeDHandLoss"}}
#: the config tree of the authors' model-0 (card ``3dhand-rgb``)
RGB_ARCHITECTURE: dict[str, Any] = {
    "type": "ThreeDHand",
    "backbone": {"type": "ThreeDHandResNet", "name": "resnet34"},
    "head": {"type": "ThreeDHandRegressor", "in_channels": 512, "num_pca": 6, "num_betas": 10},
    "hand_model": _HAND_MODEL_TREE,
    "with_heatmaps": False,
    "losses": _LOSSES_TREE,
}
#: the config tree of the authors' model-1 (card ``3dhand-rgb2d``): the 24-channel stem replaces conv1
RGB2D_ARCHITECTURE: dict[str, Any] = {
    **RGB_ARCHITECTURE,
    "backbone": {
        "type": "ThreeDHandResNet",
        "name": "resnet34",
        "stem": {"type": "ThreeDHandStem", "in_channels": 24},
    },
    "with_heatmaps": True,
}


def build_hand_model(
    hand_model: str | dict[str, Any] | HandModel = "mano",
    mano_dir: str | os.PathLike[str] | None = None,
    num_pca: int = 6,
) -> HandModel:
    """The right-hand model in PCA mode the 22 parameters drive.

    Args:
        hand_model: ``'mano'`` (the user's MANO files; the authors' fingertips), ``'openhand'``
            (no MANO; the open hand's own fingertips), a ``HAND_MODELS`` config dict, or a built
            right-hand model in PCA mode with ``num_pca`` components and ``flat_hand_mean=False``.
        mano_dir: folder with ``MANO_RIGHT.pkl`` (default ``$HANDZOO_MANO_DIR``).
        num_pca: pose PCA components.

    Raises:
        ConfigError: an unknown name, a left-hand model, or a model not in PCA mode.
    """
    hm = build_method_hand_model(
        hand_model,
        method="3D-hand",
        defaults={"side": "right", "use_pca": True, "num_pca_comps": num_pca, "flat_hand_mean": False},
        mano_defaults={"tip_vertex_ids": THREEDHAND_MANO_TIPS},
        mano_dir=mano_dir,
    )
    if not getattr(hm, "use_pca", False) or getattr(hm, "num_pca_comps", None) != num_pca:
        raise ConfigError(
            f"3D-hand needs a hand model in PCA mode with {num_pca} components",
            hint=f"build it with use_pca=True, num_pca_comps={num_pca}, flat_hand_mean=False",
        )
    return hm


def _build(kind: str, cfg: nn.Module | Mapping[str, Any] | None, default: dict[str, Any]) -> nn.Module:
    if isinstance(cfg, nn.Module):
        return cfg
    from handzoo.registry import build

    return build(kind, dict(cfg) if cfg is not None else default)


class ThreeDHand(Method):
    """Boukhayma et al.'s ResNet-34 MANO regressor (model-0: RGB; model-1: RGB + heatmaps).

    Args:
        backbone: the trunk (config or module); default ``{'type': 'ThreeDHandResNet',
            'name': 'resnet34'}``; model-1 adds ``stem: {'type': 'ThreeDHandStem', 'in_channels': 24}``.
        head: the regressor (config or module); default ``{'type': 'ThreeDHandRegressor'}``.
        hand_model: ``'mano'`` (needed by the authors' weights), ``'openhand'``, a
            ``HAND_MODELS`` config or a right-hand model in PCA mode (see :func:`build_hand_model`).
        mano_dir: folder with ``MANO_RIGHT.pkl`` (default ``$HANDZOO_MANO_DIR``).
        with_heatmaps: model-1's input (RGB + 21 keypoint heatmaps, 24 channels).
        keypoints_from: where model-1 gets 2D joints when a call gives none: a handzoo variant
            name (loaded with ``handzoo.load``), a dict of ``handzoo.load`` arguments
            (``{'name': ..., 'pretrained': ..., ...}``) or a built Method; its ``joints2d`` are used.
        heatmap_sigma: Gaussian standard deviation of the drawn heatmaps (256-crop pixels).
        intermediate_size: the authors' intermediate 320x320 resize (None: resize once).
        losses: ``LOSSES`` configs by name (default: ``pretrain`` = ThreeDHandPretrainLoss,
            ``train`` = ThreeDHandLoss), built by :meth:`losses`.

    ``model(images, boxes=..., joints2d=..., sides=..., K=...)`` returns a
    :class:`~handzoo.types.HandOutput` (see :meth:`postprocess`).
    """

    num_joints = 21

    def __init__(
        self,
        backbone: nn.Module | Mapping[str, Any] | None = None,
        head: nn.Module | Mapping[str, Any] | None = None,
        hand_model: str | Mapping[str, Any] | HandModel = "mano",
        mano_dir: str | os.PathLike[str] | None = None,
        with_heatmaps: bool = False,
        keypoints_from: str | Mapping[str, Any] | Method | None = None,
        heatmap_sigma: float = DEFAULT_HEATMAP_SIGMA,
        intermediate_size: int | None = INTERMEDIATE_SIZE,
        losses: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        default_backbone: dict[str, Any] = {"type": "ThreeDHandResNet", "name": "resnet34"}
        if with_heatmaps:
            default_backbone["stem"] = {"type": "ThreeDHandStem", "in_channels": 24}
        self.backbone = _build("backbones", backbone, default_backbone)
        self.head = _build("heads", head, {"type": "ThreeDHandRegressor"})
        self.with_heatmaps = bool(with_heatmaps)
        expected = 24 if self.with_heatmaps else 3
        self.in_channels = int(getattr(self.backbone, "in_channels", expected))
        if self.in_channels != expected:
            raise ConfigError(
                f"the backbone takes {self.in_channels} channels but the input has {expected}",
                hint="model-1 (with_heatmaps=True) needs the 24-channel stem ThreeDHandStem",
            )
        self.hand_model = build_hand_model(hand_model, mano_dir, num_pca=self.head.num_pca)
        make_buffers_non_persistent(self.hand_model)
        # a float64 copy of the hand model for float32 CPU inference (see forward); not a submodule
        self._decode_cache: dict[str, Any] = PlanCache()
        self.keypoints_from = keypoints_from
        self._keypoint_model: Method | None = keypoints_from if isinstance(keypoints_from, Method) else None
        self.heatmap_sigma = float(heatmap_sigma)
        self.intermediate_size = intermediate_size
        self.loss_cfg = (
            dict(losses)
            if losses is not None
            else {
                "pretrain": {"type": "ThreeDHandPretrainLoss"},
                "train": {"type": "ThreeDHandLoss"},
            }
        )

    # -- network -----------------------------------------------------------------------------

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Run the network on crops ``batch['img']`` (N, 3 or 24, 256, 256) in [0, 1].

        Returns (network frame: right hand, metres, no translation; 2D in crop pixels):
            ``params`` (N, 22), ``scale`` (N,), ``trans`` (N, 2), ``rot`` (N, 3),
            ``pose_pca`` (N, 6), ``betas`` (N, 10), ``vertices`` (N, V, 3), ``joints3d``
            (N, 21, 3), ``joints2d`` (N, 21, 2), ``vertices2d`` (N, V, 2), and the equivalent
            MANO ``global_orient`` (N, 3), ``hand_pose`` (N, 45), ``transl`` (N, 3).
        """
        img = batch.get("img") if isinstance(batch, Mapping) else None
        need = self.in_channels
        if (
            not isinstance(img, torch.Tensor)
            or img.dim() != 4
            or tuple(img.shape[2:]) != (CROP_SIZE, CROP_SIZE)
            or img.shape[1] < need
        ):
            got = tuple(img.shape) if isinstance(img, torch.Tensor) else type(img).__name__
            raise InputError(f"ThreeDHand expects batch['img'] of shape (N, {need}, 256, 256), got {got}")
        x = img[:, :need]  # model-0 reads the first 3 channels of a 24-channel input, as the authors'
        p = self.head(self.backbone(x))
        out = dict(p)
        parts = (p["scale"], p["trans"], p["rot"], p["pose_pca"], p["betas"])
        hand64 = self._float64_hand_model(p["rot"])
        if hand64 is None:
            out.update(decode_hand(self.hand_model, *parts))
        else:
            with intra_op_threads(1):  # small operations: faster on one thread
                decoded = decode_hand(hand64, *(t.double() for t in parts))
                out.update({k: v.to(p["rot"].dtype) for k, v in decoded.items()})
        return out

    def _float64_hand_model(self, like: torch.Tensor) -> HandModel | None:
        """The hand model in float64 when the network's output ``like`` is float32 on the CPU
        without autograd, else None.

        The hand model's own float32 rounding (blend shapes, the kinematic chain, skinning) costs
        about half of the authors' float32 noise floor on the vertices; posing in float64 and
        rounding once keeps the whole output within it (no slower: at batch 1 the hand model's
        many small operations cost more than their arithmetic, and they run on one intra-op
        thread). The copy is rebuilt when the hand model's tensors change.
        """
        if like.dtype != torch.float32 or like.device.type != "cpu" or torch.is_grad_enabled():
            return None
        key = module_weights_key(self.hand_model, self._decode_cache)
        if self._decode_cache.get("key") != key:
            with torch.inference_mode(False), torch.no_grad():
                hand64 = copy.deepcopy(self.hand_model).double()
            self._decode_cache.update(key=key, module=hand64)
        return self._decode_cache["module"]

    # -- pre / post ----------------------------------------------------------------------------

    def _keypoints(self, query: HandQuery) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
        """2D joints (per image (N_i, 21, 2)) and sides from ``keypoints_from``; None when not configured."""
        src = self.keypoints_from
        if src is None:
            return None
        if self._keypoint_model is None:
            import handzoo

            kwargs = dict(src) if isinstance(src, Mapping) else {"name": src}
            name = kwargs.pop("name", None)
            if not name:
                raise ConfigError("keypoints_from needs a variant name", hint="e.g. keypoints_from='hand4whole-hand'")
            self._keypoint_model = handzoo.load(name, **kwargs)
        kp = self._keypoint_model.predict(query.images, query.boxes, sides=query.sides, K=query.K)
        if kp.joints2d is None:
            raise ConfigError(
                "the keypoints_from model returns no 2D joints", hint="pick a model that outputs joints2d"
            )
        j2d = kp.joints2d.detach().cpu().double().numpy()
        side = kp.side.detach().cpu().numpy().astype(np.int64)
        valid = kp.valid.detach().cpu().numpy()
        n = query.num_images
        return [j2d[i][valid[i]] for i in range(n)], [side[i][valid[i]] for i in range(n)]

    def preprocess(self, query: HandQuery) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Crop the hands (see :mod:`handzoo_3dhand.preprocess`).

        Uses ``query.joints2d`` (the authors' crop rule and model-1's heatmaps), else the joints of
        ``keypoints_from``, else ``query.boxes`` (treated as the joints' tight box), else the whole
        image; ``query.sides`` (default right; with ``keypoints_from``, that model's sides unless given) and
        ``query.K`` (camera placement).

        Returns:
            ``({'img': (N, C, 256, 256)}, meta)`` with N the total number of hands.
        """
        joints2d = query.joints2d
        sides = query.hand_sides()
        if joints2d is None and self.keypoints_from is not None:
            joints2d, kp_sides = self._keypoints(query)  # type: ignore[misc]
            counts = [len(j) for j in joints2d]
            if query.sides is None or [len(s) for s in query.sides] != counts:
                sides = kp_sides
        crops = make_crops(
            query.images,
            query.boxes,
            joints2d,
            sides,
            with_heatmaps=self.with_heatmaps,
            heatmap_sigma=self.heatmap_sigma,
            intermediate=self.intermediate_size,
            device=self.head.fc.weight.device,
        )
        device = self.head.fc.weight.device
        dtype = self.head.fc.weight.dtype
        K = None
        if query.K is not None:
            K = torch.as_tensor(np.stack(query.K), dtype=torch.float64)
        return {"img": crops.images.to(device=device, dtype=dtype)}, {"crops": crops, "K": K}

    def postprocess(self, raw: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> HandOutput:
        """Un-mirror left hands, map 2D to the input image, place in the camera, pad.

        * ``joints2d``: the weak-perspective projections mapped from the crop to input pixels.
        * 3D: without ``K``, root-relative (wrist at the origin, ``root_relative=True``). With
          ``K`` the hand is placed in that camera: depth ``sqrt(fx fy) / (c s)`` (``c`` input
          pixels per crop pixel, ``s`` the predicted scale) and x, y so that the model's origin
          projects where the weak-perspective camera puts it (the usual weak-to-full perspective
          approximation); ``cam_t`` is that translation.
        * Left hands: x negated in 3D, u mirrored in the crop, axis-angles mirrored (components
          1 and 2 negated), so the MANO parameters are those of a left hand.
        * ``mano``: ``global_orient`` (rotation of the whole hand about the wrist), ``hand_pose``
          (45 axis-angle, to be added to MANO's hands mean: ``flat_hand_mean=False``), ``betas``.
        * ``extras``: ``crop_boxes`` (inclusive), ``scale``, ``trans`` (crop pixels),
          ``hand_pose_pca``, ``transl`` (MANO translation reproducing the mesh), ``vertices2d``
          (input pixels), ``K`` (per hand, when given), ``faces_left``.
        """
        crops: HandCrops = meta["crops"]
        joints = raw["joints3d"].clone()
        verts = raw["vertices"].clone()
        uv_j = raw["joints2d"].clone()
        uv_v = raw["vertices2d"].clone()
        trans = raw["trans"].clone()
        go, hp, transl = raw["global_orient"].clone(), raw["hand_pose"].clone(), raw["transl"].clone()
        device, dtype = joints.device, joints.dtype
        left = torch.as_tensor(crops.side == LEFT, device=device)
        if bool(left.any()):
            joints[left] = flip_points(joints[left])
            verts[left] = flip_points(verts[left])
            transl[left] = flip_points(transl[left])
            go[left] = flip_axis_angle(go[left])
            hp[left] = flip_axis_angle(hp[left])
            last = CROP_SIZE - 1.0
            uv_j[left, :, 0] = last - uv_j[left, :, 0]
            uv_v[left, :, 0] = last - uv_v[left, :, 0]
            trans[left, 0] = last - trans[left, 0]
        boxes = torch.as_tensor(crops.boxes, dtype=dtype, device=device)
        joints2d = crop_to_image(uv_j, boxes)
        verts2d = crop_to_image(uv_v, boxes)

        K_hand = None
        cam_t = None
        if meta.get("K") is not None and len(crops.side):
            K_hand = meta["K"][torch.as_tensor(crops.image_index)].to(device, dtype)
            c = (boxes[:, 2] - boxes[:, 0] + 1.0) / CROP_SIZE
            origin = crop_to_image(trans[:, None, :], boxes)[:, 0]  # where the model's origin projects
            fx, fy, cx, cy = K_hand[:, 0, 0], K_hand[:, 1, 1], K_hand[:, 0, 2], K_hand[:, 1, 2]
            tz = torch.sqrt(fx * fy) / (c * raw["scale"])
            cam_t = torch.stack(((origin[:, 0] - cx) * tz / fx, (origin[:, 1] - cy) * tz / fy, tz), dim=1)
            joints = joints + cam_t[:, None]
            verts = verts + cam_t[:, None]
            root_relative = False
        else:
            wrist = joints[:, :1].clone()
            joints = joints - wrist
            verts = verts - wrist
            root_relative = meta.get("K") is None

        b, h = crops.num_images, max(meta.get("max_hands", 0), crops.max_hands)
        pad = HandSlots(crops.image_index, crops.slot, b, h, device).pad

        valid = pad(torch.ones(len(crops.side), dtype=torch.bool, device=device), False)
        faces = self.hand_model.faces
        extras: dict[str, Any] = {
            "crop_boxes": pad(boxes),
            "scale": pad(raw["scale"]),
            "trans": pad(trans),
            "hand_pose_pca": pad(raw["pose_pca"]),
            "transl": pad(transl),
            "vertices2d": pad(verts2d),
            "faces_left": faces[:, [0, 2, 1]],
        }
        if K_hand is not None:
            extras["K"] = pad(K_hand)
        return HandOutput(
            joints3d=pad(joints),
            side=pad(torch.as_tensor(crops.side, device=device)),
            score=valid.to(dtype),
            valid=valid,
            joints2d=pad(joints2d),
            vertices=pad(verts),
            faces=faces,
            mano={"global_orient": pad(go), "hand_pose": pad(hp), "betas": pad(raw["betas"])},
            cam_t=pad(cam_t) if cam_t is not None else None,
            root_relative=root_relative,
            extras=extras,
        )

    def losses(self) -> dict[str, Loss]:
        """The synthetic pre-training and training losses (see :mod:`handzoo_3dhand.losses`)."""
        from handzoo.registry import build

        return {name: build("losses", cfg) for name, cfg in self.loss_cfg.items()}
