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

from handzoo.errors import ConfigError, InputError
from handzoo.geometry.cameras import project_points
from handzoo.geometry.flip import flip_axis_angle, flip_points
from handzoo.geometry.joint_orders import TO_HANDZOO21
from handzoo.geometry.rotations import rot6d_to_axis_angle
from handzoo.interfaces import HandModel, Loss, Method
from handzoo.query import HandQuery
from handzoo.types import LEFT, HandOutput

from .backbone import ResNetBackbone
from .camera import camera_translation, crop_intrinsics, depth_scale, place_in_camera, project_to_heatmap
from .heads import PositionHead, RotationHead
from .preprocess import HandCrops, crop_hands, intrinsics

__all__ = ["Hand4WholeHand", "HAND4WHOLE_MANO_TIPS", "build_hand_model", "joint_regressor21"]

# Fingertip vertices (thumb, index, middle, ring, pinky) of the authors' joint set on MANO's
# right hand. NB: 445 for the middle tip (manopth and handzoo's MANO_TIP_IDS use 444).
HAND4WHOLE_MANO_TIPS = (745, 317, 445, 556, 673)


def _make_buffers_non_persistent(module: torch.nn.Module) -> None:
    # Hand-model arrays come from the user's files at build time: they must never be saved
    # with (or expected in) the method's weights (MANO's licence forbids redistributing them).
    for sub in module.modules():
        for name, buf in list(sub.named_buffers(recurse=False)):
            sub.register_buffer(name, buf, persistent=False)


def build_hand_model(hand_model: str | HandModel, mano_dir: str | os.PathLike[str] | None = None) -> HandModel:
    """The right-hand model the network's parameters drive (``flat_hand_mean=False``)."""
    if isinstance(hand_model, HandModel):
        if getattr(hand_model, "side", "right") != "right":
            raise ConfigError("Hand4Whole needs a right-hand model (left hands are mirrored crops)")
        return hand_model
    from handzoo.handmodels import hand_model as make

    name = str(hand_model).lower()
    if name not in ("mano", "openhand"):
        raise ConfigError(f"unknown hand model {hand_model!r} for Hand4Whole", hint="use 'mano' or 'openhand'")
    kwargs: dict[str, Any] = {"flat_hand_mean": False}
    if name == "mano":
        kwargs["mano_dir"] = mano_dir
    return make(name, side="right", **kwargs)


def joint_regressor21(hand_model: HandModel, tips: tuple[int, ...] | None = None) -> torch.Tensor:
    """(21, V) matrix giving ``handzoo21`` joints from posed vertices, as the authors' regressor.

    Rows: the hand model's 16-joint regressor and one-hot rows for the five fingertip vertices
    (MANO order + tips = ``mano21``), reordered to ``handzoo21``.
    """
    reg = getattr(hand_model, "J_regressor", None)
    if reg is None or reg.dim() != 2 or reg.shape[0] != 16:
        raise ConfigError(
            "the hand model has no (16, V) J_regressor buffer", hint="use an LBS (MANO-layout) hand model"
        )
    num_v = reg.shape[1]
    tip_ids = tuple(tips or hand_model.tip_vertex_ids)
    onehot = torch.zeros(5, num_v, dtype=reg.dtype, device=reg.device)
    onehot[torch.arange(5), torch.as_tensor(tip_ids)] = 1.0
    mano21 = torch.cat([reg, onehot], dim=0)
    return mano21[list(TO_HANDZOO21["mano21"])].contiguous()


def _axis_angle(rot6d: torch.Tensor) -> torch.Tensor:
    aa = rot6d_to_axis_angle(rot6d, convention="columns")
    return torch.where(torch.isnan(aa), torch.zeros_like(aa), aa)  # the authors zero NaNs


class Hand4WholeHand(Method):
    """Hand4Whole's hand-only Pose2Pose network with preprocessing and decoding.

    Args:
        backbone: timm ResNet name (``resnet50`` for the released weights; ``resnet18`` for the
            paper's smaller variant).
        hand_model: ``'mano'`` (the user's MANO files, needed by the authors' weights),
            ``'openhand'`` (no MANO; another mesh, same network outputs) or a right-hand
            :class:`~handzoo.interfaces.HandModel`.
        mano_dir: folder with ``MANO_RIGHT.pkl`` (default ``$HANDZOO_MANO_DIR``).
        pretrained_backbone: start from timm's ImageNet weights (for training).
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
        backbone: str = "resnet50",
        hand_model: str | HandModel = "mano",
        mano_dir: str | os.PathLike[str] | None = None,
        pretrained_backbone: bool = False,
        tip_vertex_ids: tuple[int, int, int, int, int] | None = None,
    ) -> None:
        super().__init__()
        self.principal_point = (self.input_size[1] / 2, self.input_size[0] / 2)
        self.backbone = ResNetBackbone(backbone, pretrained=pretrained_backbone)
        channels = self.backbone.out_channels[-1]
        self.position_head = PositionHead(channels, self.num_joints, self.heatmap_shape)
        self.rotation_head = RotationHead(channels, self.num_joints, num_rot_joints=16, num_betas=10)
        # NHWC convolutions: same numbers (to float rounding), and much less time and memory traffic at
        # larger batches on CPU (oneDNN works in NHWC natively; NCHW is reordered at every layer)
        for part in (self.backbone, self.position_head, self.rotation_head):
            part.to(memory_format=torch.channels_last)
        hm = build_hand_model(hand_model, mano_dir)
        if tip_vertex_ids is None and getattr(hm, "name", "") == "mano":
            tip_vertex_ids = HAND4WHOLE_MANO_TIPS
        self.hand_model = hm
        self.register_buffer("joint_regressor", joint_regressor21(hm, tip_vertex_ids), persistent=False)
        _make_buffers_non_persistent(self.hand_model)
        self.depth_scale = depth_scale(self.focal, self.camera_3d_size, self.input_size)

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
        if n:
            vertices, _ = self.hand_model(root_pose, hand_pose, betas)
        else:  # no hand in the batch (the hand model needs at least one)
            vertices = img.new_zeros(0, self.hand_model.num_vertices, 3)
        joints = torch.einsum("jv,bvc->bjc", self.joint_regressor.to(vertices.dtype), vertices)
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
        crops = crop_hands(query, input_size=self.input_size)
        device = self.joint_regressor.device
        return {"img": crops.images.to(device)}, {"crops": crops, "K": intrinsics(query)}

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
        idx = torch.as_tensor(crops.image_index, device=device)
        slot = torch.as_tensor(crops.slot, device=device)

        def pad(x: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
            out = x.new_full((b, h) + tuple(x.shape[1:]), fill)
            out[idx, slot] = x
            return out

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
        """The authors' L1 training losses (:class:`~handzoo_hand4whole.losses.Hand4WholeLoss`)."""
        from .losses import Hand4WholeLoss

        return {"hand4whole": Hand4WholeLoss()}
