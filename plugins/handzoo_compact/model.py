"""``CompactHand``: a small handzoo-native method composed from the registries.

backbone (any registered backbone; the shipped card's is timm MobileNetV3-Small, from scratch) -> ``ManoCamHead``
(global rotation, finger rotations, shape, weak-perspective camera) -> a hand model (``openhand``
by default) that poses the mesh. Each hand is cut out by a perspective-correct crop camera
(:mod:`handzoo_compact.crop`); left hands are mirrored in and out, so the network sees right hands.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from handzoo.geometry.rotations import matrix_to_axis_angle, rot6d_to_matrix
from handzoo.interfaces import Method
from handzoo.query import HandQuery
from handzoo.registry import build
from handzoo.types import LEFT, HandOutput

from .crop import DEFAULT_K, CropCamera, crop_camera, warp_to_crop

__all__ = ["CompactHand", "IMAGE_MEAN", "IMAGE_STD", "to_input_tensor", "hand_box"]

IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)


def to_input_tensor(crops: np.ndarray) -> torch.Tensor:
    """(N, S, S, 3) uint8 RGB crops -> (N, 3, S, S) float, ImageNet-normalised."""
    x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(IMAGE_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGE_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def hand_box(query: HandQuery, i: int, j: int) -> np.ndarray:
    """The box of hand ``j`` of image ``i``: the given box, else the 2D joints' box, else the image."""
    if query.boxes is not None and len(query.boxes[i]) > j:
        return np.asarray(query.boxes[i][j], np.float64)
    if query.joints2d is not None and len(query.joints2d[i]) > j:
        uv = np.asarray(query.joints2d[i][j], np.float64)
        return np.concatenate([uv.min(0), uv.max(0)])
    h, w = query.images[i].shape[:2]
    return np.array([0.0, 0.0, w - 1.0, h - 1.0])


class CompactHand(Method):
    """The compact open-data model (see the module docstring).

    Args:
        backbone: backbone config (``{'type': 'TimmBackbone', 'name': ..., 'out_indices': (4,)}``) or module.
        head: head config or module; ``in_channels`` is filled from the backbone when absent.
        hand_model: ``'openhand'`` / ``'mano'`` / a hand-model config / module (right hand).
        input_size: crop side in pixels.
        crop_scale: crop side / the hand box's longer side.
        losses: named loss configs (``{'default': {'type': 'CompactHandLoss'}}``).
        mano_dir: passed to the MANO hand model.
    """

    def __init__(
        self,
        backbone: dict | nn.Module,
        head: dict | nn.Module,
        hand_model: str | dict | nn.Module = "openhand",
        input_size: int = 128,
        crop_scale: float = 1.5,
        losses: dict[str, dict] | None = None,
        mano_dir: str | None = None,
    ) -> None:
        super().__init__()
        self.backbone = build("backbones", backbone)
        if isinstance(head, dict):
            head = dict(head)
            head.setdefault("in_channels", int(self.backbone.out_channels[-1]))
            head.setdefault("feature_size", max(1, int(input_size) // int(self.backbone.strides[-1])))
        self.head = build("heads", head)
        if isinstance(hand_model, str):
            hand_model = {"type": hand_model, "side": "right", "flat_hand_mean": True}
            if mano_dir is not None and hand_model["type"] == "mano":
                hand_model["mano_dir"] = mano_dir
        self.hand_model = build("hand_models", hand_model)
        self.input_size = int(input_size)
        self.crop_scale = float(crop_scale)
        self._loss_cfgs = dict(losses or {"default": {"type": "CompactHandLoss"}})
        self.register_buffer("faces", torch.as_tensor(self.hand_model.faces).long(), persistent=False)
        for p in self.hand_model.parameters():
            p.requires_grad_(False)

    # -- state: the hand model is rebuilt from the shipped asset, never saved -----------------
    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        """The network's weights (the hand model's arrays are not part of them)."""
        sd = super().state_dict(*args, **kwargs)
        prefix = kwargs.get("prefix", args[1] if len(args) > 1 else "")
        return type(sd)((k, v) for k, v in sd.items() if not k.startswith(prefix + "hand_model."))

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False):  # type: ignore[override]
        """Load network weights; the hand model keeps its own arrays."""
        full = dict(self.hand_model.state_dict(prefix="hand_model."))
        full.update(state_dict)
        return super().load_state_dict(full, strict=strict, assign=assign)

    def losses(self) -> dict[str, nn.Module]:
        """The training losses, built from the ``losses`` configs (they get this model's hand model)."""
        out = {}
        for name, cfg in self._loss_cfgs.items():
            cfg = dict(cfg)
            cfg.setdefault("hand_model", self.hand_model)
            out[name] = build("losses", cfg)
        return out

    # -- network -----------------------------------------------------------------------------
    def pose_hand(self, global_orient: torch.Tensor, hand_pose: torch.Tensor, betas: torch.Tensor):
        """Root-relative ``(vertices, joints)`` of the right hand model (float32, crop frame)."""
        dt = self.hand_model.v_template.dtype
        v, j = self.hand_model(global_orient.to(dt), hand_pose.to(dt), betas.to(dt))
        root = j[:, :1]
        return (v - root).float(), (j - root).float()

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``batch['img']`` (N, 3, S, S) normalised crops -> raw outputs in the crop frame.

        Returns ``global_rot6d``, ``hand_pose``, ``betas``, ``cam``, ``global_orient`` (axis-angle),
        ``vertices`` and ``joints3d`` (root-relative, metres), ``joints2d_n`` (weak-perspective
        projection in normalised crop coordinates).
        """
        raw = dict(self.head(self.backbone(batch["img"])))
        rot = rot6d_to_matrix(raw["global_rot6d"], convention="rows")
        go = matrix_to_axis_angle(rot)
        verts, joints = self.pose_hand(go, raw["hand_pose"], raw["betas"])
        cam = raw["cam"]
        raw.update(
            global_rotmat=rot,
            global_orient=go,
            vertices=verts,
            joints3d=joints,
            joints2d_n=cam[:, None, :1] * joints[..., :2] + cam[:, None, 1:3],
        )
        return raw

    # -- user-facing -------------------------------------------------------------------------
    def _device(self) -> torch.device:
        return self.head.out.weight.device

    def crop(
        self, image: np.ndarray, K: np.ndarray, box: np.ndarray, left: bool, **aug: Any
    ) -> tuple[np.ndarray, CropCamera]:
        """One hand's crop and crop camera (``aug``: ``scale``, ``angle``, ``shift`` overrides)."""
        cam = crop_camera(K, box, self.input_size, left, scale=aug.pop("scale", self.crop_scale), **aug)
        return warp_to_crop(image, cam), cam

    def preprocess(self, query: HandQuery) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Crop every hand with its crop camera (left hands mirrored) and normalise."""
        rows = query.hand_index()
        sides = query.hand_sides()
        crops, cams, Ks = [], [], []
        for i, j in rows:
            img = query.images[i]
            K = np.asarray(query.K[i], np.float64) if query.K is not None else DEFAULT_K(*img.shape[:2])
            c, cam = self.crop(img, K, hand_box(query, i, j), bool(sides[i][j] == LEFT))
            crops.append(c)
            cams.append(cam)
            Ks.append(K)
        s = self.input_size
        arr = np.stack(crops) if crops else np.zeros((0, s, s, 3), np.uint8)
        root = None
        if query.root is not None and rows:
            root = np.stack([np.asarray(query.root[i][j], np.float64) for i, j in rows])
        meta = {
            "rows": rows,
            "cams": cams,
            "K": Ks,
            "num_images": query.num_images,
            "max_hands": max(1, int(query.max_hands)),
            "root": root,
        }
        return {"img": to_input_tensor(arr).to(self._device())}, meta

    def postprocess(self, raw: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> HandOutput:
        """Hands in the input camera frame: root-relative (or at ``root=``), with 2D joints and ``cam_t``."""
        rows, cams = meta["rows"], meta["cams"]
        n = len(rows)
        dev = raw["joints3d"].device if n else self._device()
        b, h = int(meta["num_images"]), int(meta["max_hands"])
        nv = int(self.hand_model.num_vertices)
        J = raw["joints3d"].detach().double().cpu().numpy() if n else np.zeros((0, 21, 3))
        V = raw["vertices"].detach().double().cpu().numpy() if n else np.zeros((0, nv, 3))
        camp = raw["cam"].detach().double().cpu().numpy() if n else np.zeros((0, 3))
        joints = np.zeros((b, h, 21, 3))
        verts = np.zeros((b, h, nv, 3))
        j2d = np.zeros((b, h, 21, 2))
        cam_t = np.zeros((b, h, 3))
        side = np.zeros((b, h), np.int64)
        valid = np.zeros((b, h), bool)
        for r, ((i, j), cam) in enumerate(zip(rows, cams)):
            Rt = cam.R.T  # crop -> input camera (a rotation, with the mirror for left hands)
            s = max(float(camp[r, 0]), 1e-3)
            fc, half = cam.K[0, 0], cam.size / 2.0
            z = 2.0 * fc / (cam.size * s)
            root_c = np.array([camp[r, 1] * z * half / fc, camp[r, 2] * z * half / fc, z])
            root = Rt @ root_c
            jc, vc = J[r] @ Rt.T, V[r] @ Rt.T
            if meta.get("root") is not None:
                root = meta["root"][r]
            absj = jc + root
            K = meta["K"][r]
            uvw = absj @ K.T
            j2d[i, j] = uvw[:, :2] / np.maximum(uvw[:, 2:], 1e-6)
            joints[i, j] = absj if meta.get("root") is not None else jc
            verts[i, j] = (vc + root) if meta.get("root") is not None else vc
            cam_t[i, j] = root
            side[i, j] = LEFT if cam.left else 0
            valid[i, j] = True
        t = lambda a: torch.as_tensor(a, dtype=torch.float32, device=dev)  # noqa: E731
        v = torch.as_tensor(valid, device=dev)
        return HandOutput(
            joints3d=t(joints),
            side=torch.as_tensor(side, device=dev),
            score=v.float(),
            valid=v,
            joints2d=t(j2d),
            vertices=t(verts),
            faces=self.faces,
            mano=None,
            cam_t=t(cam_t),
            root_relative=meta.get("root") is None,
            extras={},
        )
