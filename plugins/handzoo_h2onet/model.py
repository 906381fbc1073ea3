"""H2ONet single-frame and multi-frame methods (Xu et al., CVPR 2023).

Both networks predict a mesh (778 vertices on MANO's topology, 1609 on the open hand's) at a
canonical orientation with spiral convolutions, a 6D
global rotation ("rows" convention, pytorch3d's) applied about the root joint, and 21 2D joints in
the crop. The multi-frame model reads frames (t, t-short, t-long), classifies finger and hand
occlusion, adds occlusion-weighted vertex offsets and a rotation correction for frame t.

Raw outputs (``forward``) keep the authors' names: ``pred_verts3d_wo_gr``, ``pred_joints3d_wo_gr``,
``pred_verts3d_w_gr``, ``pred_joints3d_w_gr``, ``pred_joints_img``, ``pred_glob_rot(_mat)``,
``pred_occ`` (MF; frames stacked along the batch, frame t first).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from handzoo.errors import ConfigError, InputError
from handzoo.geometry.rotations import rot6d_to_matrix
from handzoo.handmodels.method_hand import build_method_hand_model
from handzoo.interfaces import HandModel, Method
from handzoo.query import HandQuery, make_query
from handzoo.types import HandOutput, HandSlots

from .assets import MANO_TIP_VERTEX_IDS, load_finger_vertex_ids, load_mesh_hierarchy
from .hierarchy import openhand_finger_vertex_ids, openhand_hierarchy
from .preprocess import CropMeta, crop_hands, to_image_pixels

__all__ = ["H2ONetSF", "H2ONetMF", "INPUT_SIZE", "SF_ARCHITECTURE", "MF_ARCHITECTURE", "build_hand_model"]

INPUT_SIZE = 128
_FLIP = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))


def build_hand_model(
    hand_model: str | Mapping[str, Any] | HandModel, mano_dir: str | os.PathLike | None = None
) -> HandModel:
    """The right-hand model whose topology and joint regressor H2ONet uses, through ``HAND_MODELS``.

    A name or a config gets H2ONet's settings where it does not set them: right side and joints
    regressed from the mesh (``joint_regressor='vertices'``: the model's ``J_regressor`` plus one-hot
    fingertip rows, the authors' tips on MANO). A trained regressor (the authors'
    ``mano_joint_reg``) is the hand-model option ``joint_regressor=`` (a (21, V) matrix).

    Raises:
        ConfigError: a hand model other than ``'mano'``/``'openhand'``, or one without a (21, V)
            ``joint_regressor``.
    """
    hm = build_method_hand_model(
        hand_model,
        method="H2ONet",
        defaults={"side": "right", "joint_regressor": "vertices"},
        mano_defaults={"tip_vertex_ids": MANO_TIP_VERTEX_IDS},
        mano_dir=mano_dir,
        right_only=False,
    )
    reg = getattr(hm, "joint_regressor", None)
    if (
        not isinstance(reg, torch.Tensor)
        or reg.dim() != 2
        or reg.shape[0] != 21
        or not hasattr(hm, "set_joint_regressor")
    ):
        raise ConfigError("H2ONet needs a hand model with a (21, V) joint_regressor", hint="use 'mano' or 'openhand'")
    return hm


def _part(kind: str, cfg: Mapping[str, Any] | nn.Module, **inject: Any) -> Any:
    """Build one part from a config (``inject`` adds what only the method knows) or pass a module through."""
    from handzoo.registry import build

    if isinstance(cfg, nn.Module):
        return cfg
    return build(kind, {**dict(cfg), **inject})


# The authors' networks as config trees of registered parts (the cards' ``architecture``).
_HAND_MODEL = {"type": "mano", "side": "right", "tip_vertex_ids": MANO_TIP_VERTEX_IDS, "joint_regressor": "vertices"}
_LOSSES = {
    "stage1": {"type": "H2ONetLoss", "with_rotation": False},
    "stage2": {"type": "H2ONetLoss", "with_rotation": True},
}
SF_ARCHITECTURE: dict[str, Any] = {
    "type": "H2ONetSF",
    "backbone": {"type": "H2ONetDenseStack"},
    "decoder": {"type": "H2ONetMeshDecoder", "latent": 256, "channels": (32, 64, 128, 256)},
    "rotation_head": {"type": "H2ONetRotationHead"},
    "hand_model": _HAND_MODEL,
    "losses": _LOSSES,
}
MF_ARCHITECTURE: dict[str, Any] = {
    **SF_ARCHITECTURE,
    "type": "H2ONetMF",
    "rotation_head": {"type": "H2ONetFusedRotationHead"},
    "occlusion_head": {"type": "H2ONetOcclusionHead"},
    "offset_head": {"type": "H2ONetOffsetHead", "channels": 32},
}


class _H2ONetBase(Method):
    """Shared construction, pre- and post-processing of both H2ONet networks.

    Each part is built through the registries from a config (or given built); the cards'
    ``architecture:`` hold the trees (:data:`SF_ARCHITECTURE`, :data:`MF_ARCHITECTURE`). The mesh
    parts (decoder, offset head) are given the mesh hierarchy of the hand model's topology.

    Args:
        hand_model: ``'mano'`` (778 vertices, the authors' hierarchy read from ``template_dir``,
            regressor from MANO), ``'openhand'`` (1609 vertices, handzoo's own hierarchy decimated
            from the shipped open hand, its regressor; needs no file), a ``HAND_MODELS`` config
            (e.g. with ``joint_regressor=`` a trained (21, V) matrix) or a built hand model (see
            :func:`build_hand_model`).
        backbone: a ``BACKBONES`` config or module (default ``H2ONetDenseStack``).
        decoder: a ``HEADS`` config or module (default ``H2ONetMeshDecoder``).
        rotation_head: a ``HEADS`` config or module.
        losses: ``{name: LOSSES config}`` of :meth:`losses` (default stage 1 and stage 2).
        template_dir: ``'mano'`` only: folder with the authors' ``transform.pkl`` (default
            ``$HANDZOO_H2ONET_TEMPLATE_DIR``).
        mano_dir: ``'mano'`` only: folder with ``MANO_RIGHT.pkl`` (default ``$HANDZOO_MANO_DIR``).

    The 21 x V joint regressor is a trained parameter, as in the authors' code (their
    ``mano_joint_reg`` is an ``nn.Parameter`` the optimiser updates): it starts as the hand
    model's regressor (MANO's ``J_regressor`` plus one-hot fingertip rows), this module owns it
    (state key ``joint_regressor``) and the hand model computes the joints with it. The checkpoint
    holds the learned copy, which ``handzoo convert`` keeps in the local weights file. It is
    MANO-derived (listed in ``mano_derived_keys``, so ``handzoo push`` refuses it); weights
    without it (e.g. from the Hub) load with the initial value and a warning, since the joints
    then only approximate the trained model's.
    """

    multi_frame = False
    _ARCH: dict[str, Any] = SF_ARCHITECTURE

    def __init__(
        self,
        hand_model: str | Mapping[str, Any] | HandModel = "mano",
        backbone: Mapping[str, Any] | nn.Module | None = None,
        decoder: Mapping[str, Any] | nn.Module | None = None,
        rotation_head: Mapping[str, Any] | nn.Module | None = None,
        losses: Mapping[str, Mapping[str, Any]] | None = None,
        template_dir: str | os.PathLike | None = None,
        mano_dir: str | os.PathLike | None = None,
    ) -> None:
        super().__init__()
        hm = build_hand_model(hand_model, mano_dir)
        name = getattr(hm, "name", "")
        if name == "openhand":
            mesh = openhand_hierarchy()
        elif name == "mano":
            mesh = load_mesh_hierarchy(template_dir)
        else:
            raise ConfigError(f"H2ONet has mesh hierarchies for 'mano' and 'openhand', not {name!r}")
        self.hand_model = name
        nv = mesh.num_vertices[0]
        if tuple(hm.joint_regressor.shape) != (21, nv):
            raise ConfigError(f"joint regressor must be (21, {nv}), got {tuple(hm.joint_regressor.shape)}")
        arch = self._ARCH
        self.backbone = _part("backbones", backbone or arch["backbone"])
        self.decoder = _part("heads", decoder or arch["decoder"], mesh=mesh)
        self.rotation_head_cfg = rotation_head or arch["rotation_head"]
        # trained with the network; the hand model regresses the joints with this very tensor
        self.joint_regressor = nn.Parameter(hm.joint_regressor.detach().clone().to(torch.float32))
        hm.set_joint_regressor(self.joint_regressor)
        self.hand = hm
        for sub in hm.modules():  # the hand model's arrays come from the user's files: never saved
            for key, buf in list(sub.named_buffers(recurse=False)):
                sub.register_buffer(key, buf, persistent=False)
        self.register_buffer("faces", torch.tensor(mesh.faces[0], dtype=torch.long), persistent=False)
        self._mesh = mesh
        self.loss_configs = {k: dict(v) for k, v in (losses or arch["losses"]).items()}
        # state-dict keys holding MANO-derived data (never uploaded; see handzoo.hub.mano_keys)
        self.mano_derived_keys: tuple[str, ...] = ("joint_regressor",) if name == "mano" else ()
        self.register_load_state_dict_pre_hook(_keep_initial_joint_regressor)
        # load_state_dict(assign=True) replaces the parameter: hand it to the hand model again
        self.register_load_state_dict_post_hook(_share_joint_regressor)

    # -- network ---------------------------------------------------------------------------
    def _place(
        self, verts: torch.Tensor, rot6d: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Joints, rotation matrix, root, rotated vertices (root at the origin) and rotated joints.

        Gradients flow as in the authors' code: the single-frame model regresses joints from
        the live vertices and re-adds a live root; the multi-frame model detaches both.
        """
        joints = self.hand.regress_joints(verts.detach() if self.multi_frame else verts)
        rot = rot6d_to_matrix(rot6d, convention="rows")
        root = joints[:, :1]
        verts_w = torch.matmul(verts.detach() - root.detach(), rot.transpose(1, 2))
        root_add = root.detach() if self.multi_frame else root
        joints_w = torch.matmul(joints.detach() - root.detach(), rot.transpose(1, 2)) + root_add
        return joints, rot, root_add, verts_w, joints_w

    def losses(self) -> dict[str, Any]:
        """The training losses built from ``losses`` (default: stage 1, canonical mesh; stage 2,
        with rotation), given the mesh faces and the frame mode."""
        from handzoo.registry import build

        return {
            name: build("losses", {**cfg, "faces": self.faces, "multi_frame": self.multi_frame})
            for name, cfg in self.loss_configs.items()
        }

    # -- user-facing -----------------------------------------------------------------------
    def _device(self) -> torch.device:
        return self.joint_regressor.device

    def _output(self, raw: Mapping[str, torch.Tensor], meta: Mapping[str, Any], n: int) -> HandOutput:
        """Hands of the first ``n`` network rows, padded into (B, H) by image."""
        crop: CropMeta = meta["crop"]
        verts = raw["pred_verts3d_w_gr"][:n]
        joints = raw["pred_joints3d_w_gr"][:n]
        rot = raw["pred_glob_rot_mat"][:n]
        root = joints[:, :1]
        verts, joints = verts - root, joints - root
        left = crop.flipped.to(verts.device)
        sign = torch.where(left, -1.0, 1.0).to(verts.dtype)[:, None, None]
        flip = _FLIP.to(rot)
        verts = torch.cat((verts[..., :1] * sign, verts[..., 1:]), -1)
        joints = torch.cat((joints[..., :1] * sign, joints[..., 1:]), -1)
        rot = torch.where(left[:, None, None], flip @ rot @ flip, rot)
        root_pos = meta.get("root")
        if root_pos is not None:
            verts, joints = verts + root_pos[:, None], joints + root_pos[:, None]
        uv = raw["pred_joints_img"][:n] * INPUT_SIZE
        joints2d = to_image_pixels(uv, crop)
        dev = verts.device
        b, h = int(crop.num_images), int(crop.max_hands)
        pad = HandSlots(crop.image_index, crop.slot, b, h, dev).pad

        extras: dict[str, Any] = {"global_rotation": pad(rot)}
        if "pred_occ" in raw:
            p = torch.softmax(raw["pred_occ"][:n], dim=1)[:, 1]
            extras["finger_occlusion_prob"] = pad(p[:, :5])
            extras["hand_occlusion_prob"] = pad(p[:, 5])
        valid = pad(torch.ones(n, dtype=torch.bool, device=dev), False)
        return HandOutput(
            joints3d=pad(joints),
            side=pad(crop.flipped.long().to(dev)),
            score=valid.to(verts.dtype),
            valid=valid,
            joints2d=pad(joints2d),
            vertices=pad(verts),
            faces=self.faces,
            mano=None,
            root_relative=root_pos is None,
            extras=extras,
        )

    def _root(self, query: HandQuery, rows: list[tuple[int, int]]) -> torch.Tensor | None:
        """(N, 3) camera-frame wrists of the given (image, hand) rows, or None."""
        if query.root is None:
            return None
        arr = np.stack([query.root[i][j] for i, j in rows]).astype(np.float32) if rows else np.zeros((0, 3), np.float32)
        return torch.as_tensor(arr, device=self._device())


def _share_joint_regressor(module: _H2ONetBase, _incompatible: Any) -> None:
    """After loading, the hand model regresses joints with the (possibly replaced) parameter."""
    module.hand.set_joint_regressor(module.joint_regressor)


def _keep_initial_joint_regressor(module: _H2ONetBase, state_dict: dict, prefix: str, *_: Any) -> None:
    """Load weights that lack the joint regressor: keep the initial one, and say so."""
    key = prefix + "joint_regressor"
    if key in state_dict:
        return
    if module.hand_model == "mano":
        what = (
            "MANO's J_regressor plus fingertip vertices (the value training started from), an approximation of "
            "the regressor trained with the network; joints may differ slightly from the authors'. For the exact "
            "one, convert the authors' checkpoint locally (`handzoo convert <variant> <checkpoint>`)"
        )
    else:
        what = f"the {module.hand_model} J_regressor plus fingertip vertices (the value training started from)"
    warnings.warn(f"the H2ONet weights hold no joint regressor ({key}); using {what}", UserWarning, stacklevel=3)
    state_dict[key] = module.joint_regressor.detach().clone()


class H2ONetSF(_H2ONetBase):
    """Single-frame H2ONet.

    ``model(images, boxes=...)`` (the input contract of :func:`handzoo.query.make_query`): per
    image, ``boxes`` (N_i, 4) ``xyxy`` tight hand boxes, or ``joints2d=`` (N_i, 21, 2) pixels (the
    crop is the joints' box x1.5 made square, as the authors'); without either the whole image
    is one hand. ``sides=`` (left hands are mirrored in and out) and ``root=`` (N_i, 3)
    camera-frame wrist positions for absolute output.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rot_head = _part("heads", self.rotation_head_cfg)

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Run the network on ``batch['img']`` (B, 3, 128, 128) RGB in [0, 1]."""
        x = batch["img"]
        latent, joint_deep, rot_deep, uv = self.backbone(x)
        rot6d = self.rot_head(joint_deep, rot_deep)
        verts, _ = self.decoder(self.decoder.joint_features(latent, uv))
        joints, rot, root, verts_w, joints_w = self._place(verts, rot6d)
        return {
            "pred_verts3d_wo_gr": verts,
            "pred_joints3d_wo_gr": joints,
            "pred_verts3d_w_gr": verts_w + root,
            "pred_joints3d_w_gr": joints_w,
            "pred_joints_img": uv,
            "pred_glob_rot": rot6d,
            "pred_glob_rot_mat": rot,
        }

    def preprocess(self, query: HandQuery) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Crop every hand (left hands mirrored) to 128x128 RGB in [0, 1]; see the class docstring."""
        crops, meta = crop_hands(query, INPUT_SIZE, self._device())
        return {"img": crops}, {"crop": meta, "root": self._root(query, query.hand_index())}

    def postprocess(self, raw: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> HandOutput:
        """Root-relative (or ``root``-placed) hands in the input image's terms."""
        return self._output(raw, meta, raw["pred_joints_img"].shape[0])


class H2ONetMF(_H2ONetBase):
    """Multi-frame H2ONet: frames t, t-short and t-long in, hands of frame t out.

    ``model(frames, boxes=...)``: ``frames`` three images (t, t-short, t-long) for one sample,
    or a list of B such triples; ``boxes`` (3, 4) or (B, 3, 4) ``xyxy`` per frame, or
    ``joints2d=`` (B, 3, 21, 2); ``sides=`` per sample; ``root=`` (B, 3). :meth:`make_query`
    turns these into a query of 3B frames (one hand each, frame t first). For video use
    :class:`~handzoo_h2onet.stream.H2ONetStream`, which keeps the past frames itself.

    Args:
        finger_vertex_ids: optional five arrays (thumb .. little) used instead of the template's
            per-finger vertex sets (``'mano'``: found in ``template_dir``, see
            :func:`~handzoo_h2onet.assets.load_finger_vertex_ids`; ``'openhand'``: derived from
            its skinning weights).
        occlusion_head: a ``HEADS`` config or module (default ``H2ONetOcclusionHead``).
        offset_head: a ``HEADS`` config or module (default ``H2ONetOffsetHead``); it is given the
            finest spiral and the finger vertex sets.
        **kwargs: see :class:`_H2ONetBase`.
    """

    multi_frame = True
    _ARCH = MF_ARCHITECTURE

    def __init__(
        self,
        finger_vertex_ids: list | None = None,
        occlusion_head: Mapping[str, Any] | nn.Module | None = None,
        offset_head: Mapping[str, Any] | nn.Module | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        nv = self._mesh.num_vertices[0]
        if finger_vertex_ids is not None:
            fingers = finger_vertex_ids
        elif self.hand_model == "openhand":
            fingers = openhand_finger_vertex_ids()
        else:
            fingers = load_finger_vertex_ids(kwargs.get("template_dir"), nv)
        self.occ_head = _part("heads", occlusion_head or MF_ARCHITECTURE["occlusion_head"])
        self.offset_head = _part(
            "heads",
            offset_head or MF_ARCHITECTURE["offset_head"],
            spiral=self._mesh.spirals[0],
            finger_vertex_ids=[np.asarray(f) for f in fingers],
        )
        self.rot_head = _part("heads", self.rotation_head_cfg)

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Run the network on ``batch['img_0'|'img_1'|'img_2']`` (each B, 3, 128, 128)."""
        x = torch.cat((batch["img_0"], batch["img_1"], batch["img_2"]), dim=0)
        b = batch["img_0"].shape[0]
        latent, joint_deep, rot_deep, uv = self.backbone(x)
        jfeat = self.decoder.joint_features(latent, uv)
        occ = self.occ_head(jfeat.detach())
        verts, last = self.decoder(jfeat)
        offset = self.offset_head(last, occ)
        verts = torch.cat((verts[:b] + offset, verts[b:]), dim=0)
        rot6d, rot6d_offset = self.rot_head(joint_deep, rot_deep, occ)
        joints, rot, root, verts_w, joints_w = self._place(verts, rot6d)
        rot_offset = rot6d_to_matrix(rot6d_offset)
        verts_w = torch.cat((torch.matmul(verts_w[:b], rot_offset.transpose(1, 2)), verts_w[b:]), dim=0)
        return {
            "pred_verts3d_w_gr": verts_w + root,
            "pred_joints3d_w_gr": joints_w,
            "pred_verts3d_wo_gr": verts,
            "pred_joints3d_wo_gr": joints,
            "pred_joints_img": uv,
            "pred_occ": occ,
            "pred_glob_rot_mat": rot,
            "pred_glob_rot_offset_mat": rot_offset,
        }

    def make_query(self, images: Any, boxes: Any = None, **ctx: Any) -> HandQuery:
        """The query of B frame triples: 3B images, one hand each (frame t, t-short, t-long).

        Per-sample ``sides`` and ``root`` are repeated over the sample's three frames.
        """
        if isinstance(images, HandQuery):
            return make_query(images, boxes, **ctx)
        samples = _frame_triples(images)
        b = len(samples)
        flat = [im for s in samples for im in s]
        fboxes = _per_frame(boxes, b, (4,), "boxes")
        fjoints = _per_frame(ctx.pop("joints2d", None), b, (21, 2), "joints2d")
        sides = ctx.pop("sides", None)
        if sides is not None and not isinstance(sides, (str, int)):
            sides = [s for s in list(sides) for _ in range(3)]
        root = ctx.pop("root", None)
        if root is not None:
            try:
                arr = np.asarray(root, dtype=np.float64)
            except (TypeError, ValueError):
                arr = np.zeros(0)
            if arr.size != 3 * b:
                raise InputError(f"root must be ({b}, 3) metres in the camera frame, got shape {arr.shape}")
            root = np.repeat(arr.reshape(b, 3), 3, axis=0)
        return make_query(flat, fboxes, joints2d=fjoints, sides=sides, root=root, **ctx)

    def preprocess(self, query: HandQuery) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Crop each frame with its own box (mirrored for left hands); see :meth:`make_query`."""
        counts = query.hand_counts
        if len(counts) % 3 or any(c != 1 for c in counts):
            raise InputError(
                f"H2ONet-MF needs 3 frames per sample with one hand each, got {len(counts)} frames with {counts} hands",
                hint="pass frames (t, t-short, t-long) with one box each, or use model.make_query(triples, boxes=...)",
            )
        b = len(counts) // 3
        crops, meta = crop_hands(query, INPUT_SIZE, self._device())
        crops = crops.view(b, 3, *crops.shape[1:])
        batch = {f"img_{i}": crops[:, i] for i in range(3)}
        rows = [(3 * i, 0) for i in range(b)]
        return batch, {"crop": meta.select(slice(0, 3 * b, 3)), "root": self._root(query, rows)}

    def postprocess(self, raw: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> HandOutput:
        """Hands of frame t (root-relative or ``root``-placed), with occlusion probabilities."""
        out = self._output(raw, meta, raw["pred_joints_img"].shape[0] // 3)
        out.extras["global_rotation_offset"] = raw["pred_glob_rot_offset_mat"][: out.batch_size, None]
        return out


def _frame_triples(images: Any) -> list[list[Any]]:
    if not isinstance(images, (list, tuple)) or len(images) == 0:
        raise InputError(
            "H2ONet-MF needs frames (t, t-short, t-long): pass a list of 3 images or a list of such triples",
            hint="for video use handzoo_h2onet.stream.H2ONetStream, which keeps the past frames",
        )
    if isinstance(images[0], (list, tuple)):
        triples = [list(s) for s in images]
    else:
        triples = [list(images)]
    for i, s in enumerate(triples):
        if len(s) != 3:
            raise InputError(f"sample {i} has {len(s)} frames; H2ONet-MF needs exactly 3 (t, t-short, t-long)")
    return triples


def _per_frame(value: Any, b: int, tail: tuple[int, ...], name: str) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != b * 3 * int(np.prod(tail)):
        raise InputError(f"{name} must have shape ({b}, 3, {', '.join(map(str, tail))}), got {arr.shape}")
    return arr.reshape(b * 3, *tail)
