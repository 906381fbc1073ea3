"""Hand4Whole's hand-only Pose2Pose model (Moon, Choi, Lee, CVPRW 2022) as a handzoo Method.

Pipeline: 256x256 RGB crop in [0, 1] (left hands mirrored) -> ResNet-50 (8x8x2048) ->
PositionNet (21 joints from 8x8x8 heatmaps) -> RotationNet (6D root + 15 finger rotations,
10 betas, camera) -> MANO (right hand, ``flat_hand_mean=False``) -> vertices, and joints from the
MANO joint regressor applied to the *posed* mesh plus five fingertip vertices -> translation
into the virtual crop camera (focal 5000, principal point at the crop centre).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from handzoo.errors import InputError
from handzoo.geometry.cameras import project_points
from handzoo.geometry.flip import flip_axis_angle, flip_points
from handzoo.geometry.rotations import rot6d_to_axis_angle
from handzoo.handmodels.method_hand import build_method_hand_model, make_buffers_non_persistent
from handzoo.interfaces import HandModel, Loss, Method
from handzoo.query import HandQuery
from handzoo.types import LEFT, HandOutput, HandSlots

from .camera import camera_translation, crop_intrinsics, depth_scale, place_in_camera, project_to_heatmap
from .preprocess import HandCrops, crop_hands, intrinsics

__all__ = ["Hand4WholeHand", "HAND4WHOLE_MANO_TIPS", "build_hand_model", "DEFAULT_ARCHITECTURE"]

# Fingertip vertices (thumb, index, middle, ring, pinky) of the authors' joint set on MANO's
# right hand. NB: 445 for the middle tip (manopth and handzoo's MANO_TIP_IDS use 444).
HAND4WHOLE_MANO_TIPS = (745, 317, 445, 556, 673)

# The authors' hand-only Pose2Pose as a config tree of registered parts (the card's ``architecture``).
DEFAULT_ARCHITECTURE: dict[str, Any] = {
    "type": "Hand4WholeHand",
    "backbone": {"type": "Hand4WholeResNet", "arch": "resnet50"},
    "position_head": {"type": "Hand4WholePositionHead", "num_joints": 21, "heatmap_shape": (8, 8, 8)},
    "rotation_head": {"type": "Hand4WholeRotationHead", "num_joints": 21, "num_rot_joints": 16, "num_betas": 10},
    "hand_model": {
        "type": "mano",
        "side": "right",
        "flat_hand_mean": False,
        "tip_vertex_ids": HAND4WHOLE_MANO_TIPS,
        "joint_regressor": "vertices",
    },
    "losses": {"hand4whole": {"type": "Hand4WholeLoss"}},
}


def build_hand_model(
    hand_model: str | Mapping[str, Any] | HandModel,
    mano_dir: str | os.PathLike[str] | None = None,
    tip_vertex_ids: tuple[int, int, int, int, int] | None = None,
) -> HandModel:
    """The right-hand model the network's parameters drive, built through ``HAND_MODELS``.

    A name (``'mano'``/``'openhand'``) or a config gets Hand4Whole's settings where it does not
    set them: right side, ``flat_hand_mean=False``, and joints regressed from the posed mesh
    (``joint_regressor='vertices'``: the model's ``J_regressor`` plus five fingertip vertices,
    the authors' middle tip 445 on MANO). A built :class:`~handzoo.interfaces.HandModel` is used
    as given (its joints are the method's joints).

    Raises:
        ConfigError: unknown hand model name, or a left-hand model.
    """
    cfg: str | Mapping[str, Any] | HandModel = hand_model
    if tip_vertex_ids is not None and not isinstance(hand_model, HandModel):
        cfg = {**({"type": hand_model} if isinstance(hand_model, str) else dict(hand_model))}
        cfg["tip_vertex_ids"] = tuple(tip_vertex_ids)
    return build_method_hand_model(
        cfg,
        method="Hand4Whole",
        defaults={"side": "right", "flat_hand_mean": False, "joint_regressor": "vertices"},
        mano_defaults={"tip_vertex_ids": HAND4WHOLE_MANO_TIPS},
        mano_dir=mano_dir,
    )


def _part(kind: str, cfg: str | Mapping[str, Any] | nn.Module, defaults: Mapping[str, Any]) -> Any:
    """Build one part from a config (``defaults`` fill what it does not set) or pass a module through."""
    from handzoo.registry import build

    if isinstance(cfg, nn.Module):
        return cfg
    full = {**defaults, **dict(cfg)}
    return build(kind, full)


def _axis_angle(rot6d: torch.Tensor) -> torch.Tensor:
    aa = rot6d_to_axis_angle(rot6d, convention="columns")
    return torch.where(torch.isnan(aa), torch.zeros_like(aa), aa)  # the authors zero NaNs


class Hand4WholeHand(Method):
    """Hand4Whole's hand-only Pose2Pose network with preprocessing and decoding.

    Each part is built through the registries from a config (or given built), so any part can be
    swapped from the card's ``architecture:`` (see :data:`DEFAULT_ARCHITECTURE`) without editing
    this class. The heads read the backbone's last feature map; their ``in_channels`` default to
    its channels, so any backbone with a stride-32 map (e.g. ``TimmBackbone``) fits.

    Args:
        backbone: a ``BACKBONES`` config, a built backbone, or a ResNet name for
            ``Hand4WholeResNet`` (``resnet50`` for the released weights; ``resnet18`` for the
            paper's smaller variant).
        position_head: a ``HEADS`` config or module (default ``Hand4WholePositionHead``).
        rotation_head: a ``HEADS`` config or module (default ``Hand4WholeRotationHead``).
        hand_model: ``'mano'`` (the user's MANO files, needed by the authors' weights),
            ``'openhand'`` (no MANO; another mesh, same network outputs), a ``HAND_MODELS``
            config, or a right-hand :class:`~handzoo.interfaces.HandModel`; the joints are the
            hand model's (see :func:`build_hand_model`).
        losses: ``{name: LOSSES config}`` of :meth:`losses` (default the authors' L1 losses).
        mano_dir: folder with ``MANO_RIGHT.pkl`` (default ``$HANDZOO_MANO_DIR``).
        pretrained_backbone: start a named ResNet from timm's ImageNet weights (for training).
        tip_vertex_ids: fingertip vertices of the 21-joint set; default: the authors' MANO ids for
            ``'mano'``, the hand model's own ids otherwise.

    ``model(images, boxes=..., sides=..., K=...)`` returns a :class:`~handzoo.types.HandOutput`;
    see :meth:`preprocess` and :meth:`postprocess`.
    """

    input_size = (256, 256)  # (H, W)
    heatmap_shape = (8, 8, 8)  # (D, H, W)
    focal = (5000.0, 5000.0)
    camera_3d_size = 0.4
    bbox_3d_size = 0.3
    num_joints = 21

    def __init__(
        self,
        backbone: str | Mapping[str, Any] | nn.Module = "resnet50",
        position_head: Mapping[str, Any] | nn.Module | None = None,
        rotation_head: Mapping[str, Any] | nn.Module | None = None,
        hand_model: str | Mapping[str, Any] | HandModel = "mano",
        losses: Mapping[str, Mapping[str, Any]] | None = None,
        mano_dir: str | os.PathLike[str] | None = None,
        pretrained_backbone: bool = False,
        tip_vertex_ids: tuple[int, int, int, int, int] | None = None,
    ) -> None:
        super().__init__()
        arch = DEFAULT_ARCHITECTURE
        self.principal_point = (self.input_size[1] / 2, self.input_size[0] / 2)
        if isinstance(backbone, str):
            backbone = {**arch["backbone"], "arch": backbone, "pretrained": pretrained_backbone}
        self.backbone = _part("backbones", backbone, {})
        channels = int(self.backbone.out_channels[-1])
        self.position_head = _part("heads", position_head or arch["position_head"], {"in_channels": channels})
        self.rotation_head = _part("heads", rotation_head or arch["rotation_head"], {"in_channels": channels})
        # NHWC convolutions: same numbers (to float rounding), and much less time and memory traffic at
        # larger batches on CPU (oneDNN works in NHWC natively; NCHW is reordered at every layer)
        for part in (self.backbone, self.position_head, self.rotation_head):
            part.to(memory_format=torch.channels_last)
        self.hand_model = build_hand_model(hand_model, mano_dir, tip_vertex_ids)
        make_buffers_non_persistent(self.hand_model)
        self.loss_configs = {k: dict(v) for k, v in (losses or arch["losses"]).items()}
        self.depth_scale = depth_scale(self.focal, self.camera_3d_size, self.input_size)

    @property
    def joint_regressor(self) -> torch.Tensor:
        """(21, V) ``handzoo21`` joints from the posed mesh: the hand model's regressor."""
        return self.hand_model.joint_regressor

    # -- network -----------------------------------------------------------------------------

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Run the network on crops ``batch['img']`` (N, 3, 256, 256) in [0, 1].

        Returns (all in the network's right-hand frame, before any un-flip):
            ``joint_img`` (N, 21, 3) heatmap voxels; ``root_pose`` (N, 3), ``hand_pose`` (N, 45)
            axis-angle and ``mano_pose`` (N, 48) their concatenation; ``betas`` (N, 10);
            ``cam_t`` (N, 3) metres; ``vertices`` (N, V, 3) and ``joints3d`` (N, 21, 3) in the
            virtual crop camera (translation included); ``joint_cam`` (N, 21, 3) wrist-relative;
            ``joint_proj`` (N, 21, 2) projected joints in heatmap units (training target space).
        """
        img = batch.get("img") if isinstance(batch, Mapping) else None
        h, w = self.input_size
        if not isinstance(img, torch.Tensor) or img.dim() != 4 or tuple(img.shape[1:]) != (3, h, w):
            got = tuple(img.shape) if isinstance(img, torch.Tensor) else type(img).__name__
            raise InputError(f"Hand4WholeHand expects batch['img'] of shape (N, 3, {h}, {w}), got {got}")
        feats = self.backbone(img.contiguous(memory_format=torch.channels_last))
        joint_img = self.position_head(feats)["joint_img"]
        rot = self.rotation_head(feats, joint_img=joint_img.detach())
        n = img.shape[0]
        root_pose = _axis_angle(rot["root_pose_6d"]).reshape(n, 3)
        hand_pose = _axis_angle(rot["hand_pose_6d"].reshape(-1, 6)).reshape(
            n, 3 * (self.rotation_head.num_rot_joints - 1)
        )
        betas = rot["betas"]
        cam_t = camera_translation(rot["cam_param"], self.depth_scale)
        if n:  # the hand model's joints (its regressor on the posed mesh, Hand4Whole's settings)
            vertices, joints = self.hand_model(root_pose, hand_pose, betas)
        else:  # no hand in the batch (the hand model needs at least one)
            vertices = img.new_zeros(0, self.hand_model.num_vertices, 3)
            joints = img.new_zeros(0, self.num_joints, 3)
        joints3d = joints + cam_t[:, None, :]
        return {
            "joint_img": joint_img,
            "root_pose": root_pose,
            "hand_pose": hand_pose,
            "mano_pose": torch.cat((root_pose, hand_pose), dim=1),
            "betas": betas,
            "cam_t": cam_t,
            "vertices": vertices + cam_t[:, None, :],
            "joints3d": joints3d,
            "joint_cam": joints - joints[:, :1],
            "joint_proj": project_to_heatmap(
                joints3d, self.focal, self.principal_point, self.input_size, self.heatmap_shape[1:]
            ),
        }

    # -- pre / post ----------------------------------------------------------------------------

    def preprocess(self, query: HandQuery) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Crop the hands.

        Args:
            query: the validated input (:func:`handzoo.query.make_query`): ``boxes`` per image
                (default: each whole image is one hand crop), ``sides`` (default right; left
                hands are mirrored) and ``K``, the input camera's intrinsics, to place the hands
                in that camera (see :meth:`postprocess`).

        Returns:
            ``({'img': (N, 3, 256, 256)}, meta)`` with N the total number of hands.
        """
        crops = crop_hands(query, input_size=self.input_size, device=_device(self))
        return {"img": crops.images}, {"crops": crops, "K": intrinsics(query)}

    def postprocess(self, raw: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> HandOutput:
        """Un-flip left hands, map to the input image and pad into a :class:`HandOutput`.

        Left hands: x -> -x for vertices, joints and translation, and axis-angle components 1 and
        2 negated (the MANO parameters are then those of a left hand). 3D output is in the
        virtual camera of each crop, which in input pixels has focal ``5000 * box / 256`` and
        principal point the box centre; ``joints2d`` are its projections (exact). With ``K`` given
        to :meth:`preprocess`, each hand is moved into that camera instead
        (:func:`~handzoo_hand4whole.camera.place_in_camera`: same root pixel and image size, an
        approximation) and ``joints2d`` are its projections with ``K``. ``extras['K']`` holds the
        intrinsics used per hand.
        """
        crops: HandCrops = meta["crops"]
        joints = raw["joints3d"].clone()
        verts = raw["vertices"].clone()
        cam_t = raw["cam_t"].clone()
        root_pose, hand_pose = raw["root_pose"].clone(), raw["hand_pose"].clone()
        device, dtype = joints.device, joints.dtype
        left = torch.as_tensor(crops.side == LEFT, device=device)
        if bool(left.any()):
            joints[left] = flip_points(joints[left])
            verts[left] = flip_points(verts[left])
            cam_t[left] = flip_points(cam_t[left])
            root_pose[left] = flip_axis_angle(root_pose[left])
            hand_pose[left] = flip_axis_angle(hand_pose[left])
        boxes = torch.as_tensor(crops.boxes, dtype=torch.float64)
        K_used = crop_intrinsics(boxes, self.focal, self.principal_point, self.input_size).to(device, dtype)
        if meta.get("K") is not None and len(crops.side):
            K_real = meta["K"][torch.as_tensor(crops.image_index)].to(device, dtype)
            shift = place_in_camera(joints[:, 0], K_used, K_real)
            joints, verts, cam_t = joints + shift[:, None], verts + shift[:, None], cam_t + shift
            K_used = K_real
        joints2d = project_points(joints, K_used)
        box_xyxy = torch.cat((boxes[:, :2], boxes[:, :2] + boxes[:, 2:]), dim=1).to(device, dtype)

        b, h = crops.num_images, crops.max_hands
        pad = HandSlots(crops.image_index, crops.slot, b, h, device).pad

        valid = pad(torch.ones(len(crops.side), dtype=torch.bool, device=device), False)
        faces = self.hand_model.faces
        return HandOutput(
            joints3d=pad(joints),
            side=pad(torch.as_tensor(crops.side, device=device)),
            score=valid.to(dtype),
            valid=valid,
            joints2d=pad(joints2d),
            vertices=pad(verts),
            faces=faces,
            mano={"global_orient": pad(root_pose), "hand_pose": pad(hand_pose), "betas": pad(raw["betas"])},
            cam_t=pad(cam_t),
            root_relative=False,
            extras={
                "joint_img": pad(raw["joint_img"]),
                "crop_boxes": pad(box_xyxy),
                "K": pad(K_used),
                "faces_left": faces[:, [0, 2, 1]],
            },
        )

    def losses(self) -> dict[str, Loss]:
        """The training losses built from ``losses`` (default: the authors' L1 losses,
        :class:`~handzoo_hand4whole.losses.Hand4WholeLoss`)."""
        from handzoo.registry import build

        return {name: build("losses", cfg) for name, cfg in self.loss_configs.items()}


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device
