"""SMHR (Ren, Zhu, Zhang; CVIU 2023) as a handzoo Method and hand detector.

Pipeline: whole image -> zero-pad to a square (top/right) -> resize to 224 (single-hand) or 384
(multi-hand) -> BGR, ImageNet mean/std -> ResNet-50 trunk -> CSP neck (stride 4, 256 channels)
-> centre heatmap -> sigmoid, 5x5 max-pool suppression, top-K centres -> at each centre the
122 MANO values (left block, right block), the left/right logits (multi-hand model), texture and
light (photometric models) -> the block of the hand's side through the hand model
(``flat_hand_mean=True``: no ``hands_mean``) -> translation from the fixed virtual camera
(focal 512, principal point at the input centre, ``t_z = c + 0.8``) -> camera-space vertices and
joints, 2D joints in the input image.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from handzoo.errors import ConfigError, InputError
from handzoo.interfaces import Detections, HandDetector, HandModel, Loss, Method
from handzoo.query import HandQuery, load_images
from handzoo.types import LEFT, RIGHT, HandOutput

from .decode import (
    ALBEDO_MEAN,
    LEFT_BLOCK,
    RIGHT_BLOCK,
    adjacent_faces,
    center_scores,
    decode_translation,
    nms,
    project,
    sh_vertex_colors,
    split_block,
    topk_centers,
    vertex_normals_sh,
    virtual_intrinsics,
)
from .heads import gather_cells
from .preprocess import SquareLetterbox, prepare_images

__all__ = ["SMHR", "SMHR_MANO_TIPS", "DEFAULT_BACKBONE", "DEFAULT_NECK"]

# Fingertip vertices (thumb, index, middle, ring, pinky) of the authors' MANO layer: the left
# hand's middle tip is 445 (MANO_LEFT's vertex order differs there).
SMHR_MANO_TIPS: dict[str, tuple[int, int, int, int, int]] = {
    "right": (745, 317, 444, 556, 673),
    "left": (745, 317, 445, 556, 673),
}
DEFAULT_BACKBONE: dict[str, Any] = {"type": "SMHRResNetTrunk", "name": "resnet50"}
DEFAULT_NECK: dict[str, Any] = {"type": "SMHRCSPNeck"}
_SIDES = {RIGHT: "right", LEFT: "left"}
_CHUNK_PIXELS = 2**18  # input pixels per chunk of trunk + neck at inference


def _build(kind: str, cfg: Any) -> Any:
    if isinstance(cfg, nn.Module):
        return cfg
    from handzoo.registry import build

    return build(kind, dict(cfg))


def _non_persistent(module: nn.Module) -> None:
    # hand-model arrays come from the user's files: never saved with (or expected in) the weights
    for sub in module.modules():
        for name, buf in list(sub.named_buffers(recurse=False)):
            sub.register_buffer(name, buf, persistent=False)


class SMHR(Method, HandDetector):
    """SMHR's single-stage multi-hand network with its pre- and post-processing.

    Args:
        backbone: config (or module) of the trunk; default timm ``resnet50``
            (:class:`~handzoo_smhr.backbone.TimmResNetTrunk`).
        neck: config (or module) of the CSP neck (:class:`~handzoo_smhr.neck.CSPNeck`).
        heads: the heads present, e.g. ``['hm', 'params', 'texture', 'light', 'handmap']``, or a
            config/module of :class:`~handzoo_smhr.heads.SMHRHeads`.
        hand_model: ``'mano'`` (the user's MANO files; the authors' weights need it),
            ``'openhand'`` (no MANO), a config dict (``side`` is set per hand), or a mapping
            ``{'right': HandModel, 'left': HandModel}``.
        mano_dir: folder with ``MANO_RIGHT.pkl`` / ``MANO_LEFT.pkl`` (default ``$HANDZOO_MANO_DIR``).
        input_size: square network input (224 single-hand, 384 multi-hand).
        max_hands: centres kept per image (the authors: 4 at 384, else 1).
        score_threshold: hands scoring below are marked invalid (0: every top-K centre is a hand,
            as in the authors' demo).
        nms_kernel: max-pool suppression window (5).
        focal: virtual focal length in network pixels (512).
        depth_offset: added to the depth code (0.8 m).
        down_ratio: stride of the heads' map (4).
        fix_left_shapedirs: MANO only: correct the sign bug of the official ``MANO_LEFT.pkl``. The
            authors trained with the file as is, so the default (False) keeps it.
        channels_last: run the neck's and heads' convolutions in NHWC (faster on CPU; same
            numbers to rounding), and the trunk's when it fuses (``backbone`` with
            ``fuse_inference: True``). The default trunk stays NCHW with its BatchNorms apart,
            so its float32 rounding is the authors' own (see :meth:`exact_layers`).
        sparse_heads: evaluate the heads other than ``hm`` only at the detected centres (the same
            numbers to rounding, a fraction of the work); False runs them on the whole map.
        winograd: at float32 CPU inference with ``sparse_heads``, run the fusion convolution and
            the ``hm`` head's 3x3 convolution on the whole map as Winograd F(2x2, 3x3) (2.25x
            fewer products, float32 error of a direct convolution), and read the other heads'
            input at the centres from the direct convolution (the plain path's values there).

    ``model(images)`` returns a :class:`~handzoo.types.HandOutput` with ``max_hands`` hands per
    image; ``model.detect(images)`` returns :class:`~handzoo.interfaces.Detections`.
    """

    num_joints = 21

    def __init__(
        self,
        backbone: Mapping[str, Any] | nn.Module | None = None,
        neck: Mapping[str, Any] | nn.Module | None = None,
        heads: Sequence[str] | Mapping[str, Any] | nn.Module = ("hm", "params"),
        hand_model: str | Mapping[str, Any] | HandModel = "mano",
        mano_dir: str | os.PathLike[str] | None = None,
        input_size: int = 224,
        max_hands: int = 1,
        score_threshold: float = 0.0,
        nms_kernel: int = 5,
        focal: float = 512.0,
        depth_offset: float = 0.8,
        down_ratio: int = 4,
        fix_left_shapedirs: bool = False,
        channels_last: bool = True,
        sparse_heads: bool = True,
        winograd: bool = True,
        losses: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        if input_size % 32:
            raise ConfigError(f"SMHR's input size must be a multiple of 32, got {input_size}", hint="use 224 or 384")
        if max_hands < 1:
            raise ConfigError(f"max_hands must be at least 1, got {max_hands}")
        self.input_size = int(input_size)
        self.max_hands = int(max_hands)
        self.score_threshold = float(score_threshold)
        self.nms_kernel = int(nms_kernel)
        self.focal = float(focal)
        self.depth_offset = float(depth_offset)
        self.down_ratio = int(down_ratio)
        self.loss_cfgs = [dict(c) for c in (losses or [])]
        self.backbone = _build("backbones", backbone or DEFAULT_BACKBONE)
        neck_cfg = dict(neck or DEFAULT_NECK) if not isinstance(neck, nn.Module) else neck
        if isinstance(neck_cfg, dict):
            neck_cfg.setdefault("in_channels", tuple(self.backbone.out_channels[-3:]))
        self.neck = _build("backbones", neck_cfg) if isinstance(neck_cfg, dict) else neck_cfg
        if isinstance(heads, nn.Module):
            self.heads = heads
        else:
            hcfg = (
                dict(heads) if isinstance(heads, Mapping) and "type" in heads else {"type": "SMHRHeads", "heads": heads}
            )
            hcfg.setdefault("in_channels", self.neck.out_channels)
            self.heads = _build("heads", hcfg)
        self.has_handedness = "handmap" in self.heads.names
        self.has_texture = "texture" in self.heads.names and "light" in self.heads.names
        self.map_size = self.input_size // self.down_ratio
        self.channels_last = channels_last
        self.sparse_heads = sparse_heads
        self.winograd = winograd
        # the configuration exact_layers(False) restores
        self._fast_config = (
            channels_last,
            sparse_heads,
            winograd,
            getattr(self.backbone, "fuse_inference", None),
            getattr(self.neck, "fast", None),
        )
        self._set_memory_format()
        sides = ("right", "left") if self.has_handedness else ("right",)
        self.hand_models = nn.ModuleDict(
            {s: self._hand_model(hand_model, s, mano_dir, fix_left_shapedirs) for s in sides}
        )
        for s, hm in self.hand_models.items():
            _non_persistent(hm)
            if self.has_texture:
                adj = adjacent_faces(hm.faces.cpu().numpy(), hm.num_vertices)
                self.register_buffer(f"_adjacency_{s}", torch.as_tensor(adj), persistent=False)
        self.register_buffer("K_net", virtual_intrinsics(self.input_size, self.focal), persistent=False)

    # -- parts ---------------------------------------------------------------------------------

    @staticmethod
    def _hand_model(spec: Any, side: str, mano_dir: Any, fix_left: bool) -> HandModel:
        if isinstance(spec, Mapping) and ("right" in spec or "left" in spec):
            spec = spec.get(side)
            if spec is None:
                raise ConfigError(f"no {side} hand model given", hint="pass {'right': ..., 'left': ...}")
        if isinstance(spec, HandModel):
            if getattr(spec, "side", side) != side:
                raise ConfigError(f"the {side} hand model given is a {spec.side} hand")
            return spec
        cfg: dict[str, Any] = dict(spec) if isinstance(spec, Mapping) else {"type": str(spec).lower()}
        name = str(cfg.get("type", "")).lower()
        cfg["side"] = side
        cfg.setdefault("flat_hand_mean", True)  # the authors add no hands_mean
        if name == "mano":
            cfg.setdefault("tip_vertex_ids", SMHR_MANO_TIPS[side])
            cfg.setdefault("mano_dir", mano_dir)
            cfg.setdefault("fix_left_shapedirs", fix_left)
        return _build("hand_models", cfg)

    def _trunk_nhwc(self) -> bool:
        """Whether the trunk runs channels-last: only a fused trunk does (see ``channels_last``)."""
        return self.channels_last and bool(getattr(self.backbone, "fuse_inference", True))

    def _set_memory_format(self) -> None:
        nhwc = (self.neck, self.heads) if self.channels_last else ()
        if self._trunk_nhwc():
            nhwc = (self.backbone, *nhwc)
        for part in (self.backbone, self.neck, self.heads):
            part.to(memory_format=torch.channels_last if part in nhwc else torch.contiguous_format)

    def exact_layers(self, enable: bool = True) -> SMHR:
        """Run the authors' exact sequence of layers (NCHW weights, unfused trunk, plain neck,
        dense heads) or, with ``enable=False``, the configuration the model was built with.
        Returns the model.

        The default configuration computes the same function (float64 parity 1e-13) with the
        authors' trunk as is, the fusion convolution's BatchNorm folded (in float64; NCHW,
        whose float32 sums are as accurate as the authors'), packed matrix products for the
        non-overlapping transposed convolutions, NHWC elsewhere in the neck and heads, and the
        heads other than ``hm`` read at the centres only: its float32 outputs stay within the
        authors' own float32 noise floor.
        """
        channels_last, sparse, winograd, fuse, fast = (False,) * 5 if enable else self._fast_config
        if fuse is not None:
            self.backbone.fuse_inference = fuse
        if fast is not None:
            self.neck.fast = fast
        self.channels_last, self.sparse_heads, self.winograd = channels_last, sparse, winograd
        self._set_memory_format()
        return self

    @property
    def faces(self) -> torch.Tensor:
        """Triangles of the right-hand mesh (the left one: ``extras['faces_left']``)."""
        return self.hand_models["right"].faces

    # -- network -------------------------------------------------------------------------------

    def features(self, img: torch.Tensor) -> torch.Tensor:
        """The neck's stride-4 map (B, 256, S/4, S/4) of a normalised input (B, 3, S, S)."""
        fmt = torch.channels_last if self._trunk_nhwc() else torch.contiguous_format
        img = img.contiguous(memory_format=fmt)
        step = max(1, _CHUNK_PIXELS // (img.shape[-2] * img.shape[-1]))
        if self.training or torch.is_grad_enabled() or img.device.type != "cpu" or img.shape[0] <= step:
            return self.neck(self.backbone(img))
        # CPU inference on a large batch: trunk and neck in chunks of ~2^18 input pixels (one
        # image at 384, five at 224: measured faster than two at 224 for batch 8); each image's map is the same, and the caches hold a chunk's working set
        return torch.cat([self.neck(self.backbone(img[i : i + step])) for i in range(0, img.shape[0], step)])

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Run the network and decode the hands at the centres.

        Args:
            batch: ``img`` (B, 3, S, S) normalised BGR input; optional ``ind`` (B, K) flat centre
                cells to decode instead of the detected ones (training on annotated centres) and
                ``side`` (B, K) their sides.

        Returns:
            ``hm`` (B, 1, S/4, S/4) centre logits; ``ind``, ``score`` (B, K); ``params``
            (B, K, 122); ``side`` (B, K); ``global_orient``, ``hand_pose``, ``betas``,
            ``cam_t`` (B, K, ...) of the chosen block; ``vertices`` (B, K, V, 3) and
            ``joints3d`` (B, K, 21, 3) in the virtual camera (metres); ``joints2d_net``
            (B, K, 21, 2) network-input pixels. With the heads: ``handedness`` (B, K, 2)
            probabilities (left, right), ``handmap`` (B, 2, S/4, S/4) logits (training),
            ``texture`` (B, K, 2334), ``light`` (B, K, 27), ``albedo``, ``vertex_colors``.
        """
        img = batch.get("img") if isinstance(batch, Mapping) else None
        s = self.input_size
        if not isinstance(img, torch.Tensor) or img.dim() != 4 or tuple(img.shape[1:]) != (3, s, s):
            got = tuple(img.shape) if isinstance(img, torch.Tensor) else type(img).__name__
            raise InputError(f"SMHR expects batch['img'] of shape (B, 3, {s}, {s}), got {got}")
        names = [n for n in self.heads.names if n != "hm"]
        given = batch.get("ind")
        out: dict[str, torch.Tensor] = {}
        net = self._winograd_net(img, given, names)
        if net is not None:
            out["hm"], ind, score, at = net
        else:
            feat = self.features(img)
            hm = self.heads.hm(feat)
            out["hm"] = hm
            ind, score = self._centres(hm, given)
            if self.training and self.has_handedness:
                out["handmap"] = self.heads.handmap(feat)
            if self.sparse_heads:
                at = self.heads.at(feat, ind, names)
            else:
                at = {n: gather_cells(getattr(self.heads, n)(feat), ind) for n in names}
        out["ind"], out["score"] = ind, score
        params = at["params"]
        out["params"] = params
        if self.has_handedness:
            prob = center_scores(at["handmap"])
            out["handedness"] = prob
            side = torch.where(prob[..., 0] > prob[..., 1], LEFT, RIGHT)
        else:
            side = torch.full_like(ind, RIGHT)
        if batch.get("side") is not None:
            side = batch["side"].to(device=ind.device, dtype=torch.long)
        out["side"] = side
        left = (side == LEFT)[..., None]
        theta = torch.where(left, params[..., LEFT_BLOCK], params[..., RIGHT_BLOCK])
        blk = split_block(theta)
        cam_t = decode_translation(
            blk["transl_code"], ind, self.map_size, self.down_ratio, s, self.focal, self.depth_offset
        )
        out.update(global_orient=blk["global_orient"], hand_pose=blk["hand_pose"], betas=blk["betas"], cam_t=cam_t)
        verts, joints = self._pose(blk["global_orient"], blk["hand_pose"], blk["betas"], cam_t, side)
        out["vertices"], out["joints3d"] = verts, joints
        out["joints2d_net"] = project(joints, self.K_net.to(joints.dtype))
        if self.has_texture:
            out["texture"], out["light"] = at["texture"], at["light"]
            out.update(self._colours(at["texture"], at["light"], verts, side))
        return out

    def _centres(self, hm: torch.Tensor, given: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ind, score)``: the given cells and their scores, or the top-K after max-pool suppression."""
        if given is not None:
            ind = given.to(device=hm.device, dtype=torch.long)
            return ind, center_scores(hm)[:, 0].reshape(hm.shape[0], -1).gather(1, ind)
        score, ind = topk_centers(nms(center_scores(hm.detach()), self.nms_kernel), self.max_hands)
        return ind, score

    def _winograd_net(
        self, img: torch.Tensor, given: torch.Tensor | None, names: Sequence[str]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, torch.Tensor]] | None:
        """float32 CPU inference with ``winograd``: ``(hm, ind, score, heads at the centres)``, or
        None where it does not apply (the plain path of :meth:`features` then runs).

        Trunk and neck run in chunks of ~2^18 input pixels (see :meth:`features`); in each chunk
        the fusion convolution and the ``hm`` head's 3x3 convolution run as Winograd F(2x2, 3x3)
        on the whole map, the centres are decoded, and the other heads read the fusion map at
        the centres from the direct convolution (the values of the plain path, bit for bit).
        """
        if (
            not self.winograd
            or not self.sparse_heads
            or self.training
            or torch.is_grad_enabled()
            or img.device.type != "cpu"
            or img.dtype != torch.float32
            or not hasattr(self.neck, "inference_maps")
            or not hasattr(self.heads, "hm_winograd")
        ):
            return None
        fmt = torch.channels_last if self._trunk_nhwc() else torch.contiguous_format
        img = img.contiguous(memory_format=fmt)
        step = max(1, _CHUNK_PIXELS // (img.shape[-2] * img.shape[-1]))
        parts = []
        for i in range(0, img.shape[0], step):
            maps = self.neck.inference_maps(self.backbone(img[i : i + step]), reuse=True)
            if maps is None:
                return None
            cat, feat = maps
            hm = self.heads.hm_winograd(feat)
            ind, score = self._centres(hm, None if given is None else given[i : i + step])
            parts.append((hm, ind, score, self.neck.centre_patches(cat, ind)))
            del cat, feat
        hm, ind, score, patches = (
            torch.cat([p[j] for p in parts]) if len(parts) > 1 else parts[0][j] for j in range(4)
        )
        return hm, ind, score, self.heads.at(None, ind, names, patches=patches)

    # split hands by side without host syncs: None = off the CPU only (a class default)
    sync_free_sides: bool | None = None

    def _sync_free(self, side: torch.Tensor) -> bool:
        return side.device.type != "cpu" if self.sync_free_sides is None else bool(self.sync_free_sides)

    def _pose(
        self, go: torch.Tensor, hp: torch.Tensor, betas: torch.Tensor, transl: torch.Tensor, side: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Hand model of each hand's side; (B, K, V, 3) vertices and (B, K, 21, 3) joints."""
        b, k = side.shape
        flat = side.reshape(-1)
        num_v = self.hand_models["right"].num_vertices
        if self._sync_free(flat):
            # no host sync (CUDA graphs): every hand through each side's model, then
            # a per-row select; on the CPU the split below (half the work) is cheaper
            args = (go.reshape(-1, 3), hp.reshape(-1, 45), betas.reshape(-1, 10), transl.reshape(-1, 3))
            verts, joints = self.hand_models["right"](*args)
            if "left" in self.hand_models:
                vl, jl = self.hand_models["left"](*args)
                left = (flat == LEFT)[:, None, None]
                verts, joints = (
                    torch.where(left, vl.to(verts.dtype), verts),
                    torch.where(left, jl.to(joints.dtype), joints),
                )
            return verts.reshape(b, k, num_v, 3), joints.reshape(b, k, self.num_joints, 3)
        verts = go.new_zeros(b * k, num_v, 3)
        joints = go.new_zeros(b * k, self.num_joints, 3)
        for code, name in _SIDES.items():
            sel = (flat == code).nonzero().reshape(-1)
            if sel.numel() == 0:
                continue
            if name not in self.hand_models:
                raise ConfigError("a left hand was decoded but the model has no left hand model")
            v, j = self.hand_models[name](
                go.reshape(-1, 3)[sel], hp.reshape(-1, 45)[sel], betas.reshape(-1, 10)[sel], transl.reshape(-1, 3)[sel]
            )
            verts = verts.index_copy(0, sel, v.to(verts.dtype))
            joints = joints.index_copy(0, sel, j.to(joints.dtype))
        return verts.reshape(b, k, num_v, 3), joints.reshape(b, k, self.num_joints, 3)

    def _albedo_mean(self, like: torch.Tensor) -> torch.Tensor:
        """The mean albedo on ``like``'s device and dtype, made once (no host copy per forward)."""
        cache = self.__dict__.setdefault("_albedo_means", {})
        key = (like.device, like.dtype)
        if key not in cache:
            cache[key] = like.new_tensor(ALBEDO_MEAN)
        return cache[key]

    def _colours(
        self, texture: torch.Tensor, light: torch.Tensor, verts: torch.Tensor, side: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Albedo (mean + predicted offsets) and SH-shaded colours; meshes of other sizes: none."""
        b, k, num_v, _ = verts.shape
        if texture.shape[-1] != 3 * num_v:
            return {}
        albedo = texture.reshape(b * k, num_v, 3) + self._albedo_mean(texture)
        colours = albedo.new_zeros(albedo.shape)
        flat = side.reshape(-1)
        if self._sync_free(flat):  # no host sync (see _pose)
            for code, name in _SIDES.items():
                if name not in self.hand_models:
                    continue
                normals = vertex_normals_sh(
                    verts.reshape(b * k, num_v, 3), self.hand_models[name].faces, getattr(self, f"_adjacency_{name}")
                )
                c, _ = sh_vertex_colors(albedo, light.reshape(b * k, -1), normals)
                colours = torch.where((flat == code)[:, None, None], c.to(colours.dtype), colours)
            return {"albedo": albedo.reshape(b, k, num_v, 3), "vertex_colors": colours.reshape(b, k, num_v, 3)}
        for code, name in _SIDES.items():
            sel = (flat == code).nonzero().reshape(-1)
            if sel.numel() == 0:
                continue
            normals = vertex_normals_sh(
                verts.reshape(b * k, num_v, 3)[sel], self.hand_models[name].faces, getattr(self, f"_adjacency_{name}")
            )
            c, _ = sh_vertex_colors(albedo[sel], light.reshape(b * k, -1)[sel], normals)
            colours = colours.index_copy(0, sel, c)
        return {"albedo": albedo.reshape(b, k, num_v, 3), "vertex_colors": colours.reshape(b, k, num_v, 3)}

    # -- pre / post ------------------------------------------------------------------------------

    def preprocess(self, query: HandQuery) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Letterbox every image (boxes and sides of the query are not used: SMHR finds the hands).

        Returns:
            ``({'img': (B, 3, S, S)}, {'letterbox': [SquareLetterbox per image]})``.
        """
        ref = self.K_net
        img, boxes = prepare_images(query.images, self.input_size, device=ref.device)
        dtype = next((p.dtype for p in self.parameters()), torch.float32)
        return {"img": img.to(device=ref.device, dtype=dtype)}, {"letterbox": boxes}

    def postprocess(self, raw: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> HandOutput:
        """Map the hands to the input images.

        ``joints3d``/``vertices`` stay in the virtual camera; ``extras['K']`` (B, H, 3, 3) is
        that camera in input-image pixels (focal ``512 S / size``), so ``joints2d`` are exact
        projections with it. ``extras['boxes']`` holds each hand's box (the projected mesh's
        extent, clipped to the image) and ``extras['centers']`` its centre cell in input pixels.
        """
        boxes_lb: list[SquareLetterbox] = meta["letterbox"]
        joints = raw["joints3d"]
        device, dtype = joints.device, joints.dtype
        b, k = raw["ind"].shape
        to_in = torch.as_tensor(np.stack([lb.to_input() for lb in boxes_lb]), device=device, dtype=dtype)  # (B,3,3)
        K_in = to_in @ self.K_net.to(dtype)
        K_hand = K_in[:, None].expand(b, k, 3, 3)
        joints2d = project(joints, K_hand)
        verts2d = project(raw["vertices"], K_hand)
        size = torch.as_tensor([[lb.width, lb.height] for lb in boxes_lb], device=device, dtype=dtype)[:, None, :]
        lo = torch.minimum(verts2d.amin(2), size).clamp(min=0)
        hi = torch.minimum(verts2d.amax(2), size).clamp(min=0)
        cell = raw["ind"]
        cu = ((cell % self.map_size) * self.down_ratio).to(dtype)
        cv = torch.div(cell, self.map_size, rounding_mode="floor").to(dtype) * self.down_ratio
        centres = (to_in[:, None, :2, :2] @ torch.stack((cu, cv), -1)[..., None])[..., 0] + to_in[:, None, :2, 2]
        score = raw["score"].to(dtype)
        valid = score >= self.score_threshold
        hm = self.hand_models["right"]
        left_model = self.hand_models["left"] if "left" in self.hand_models else None
        extras: dict[str, Any] = {
            "K": K_hand,
            "boxes": torch.cat((lo, hi), -1),
            "centers": centres,
            "center_heatmap": center_scores(raw["hm"]),
            "faces_left": left_model.faces if left_model is not None else hm.faces[:, [0, 2, 1]],
        }
        for key in ("handedness", "texture", "light", "albedo", "vertex_colors"):
            if key in raw:
                extras[key] = raw[key]
        return HandOutput(
            joints3d=joints,
            side=raw["side"],
            score=score,
            valid=valid,
            joints2d=joints2d,
            vertices=raw["vertices"],
            faces=hm.faces,
            mano={"global_orient": raw["global_orient"], "hand_pose": raw["hand_pose"], "betas": raw["betas"]},
            cam_t=raw["cam_t"],
            root_relative=False,
            extras=extras,
        )

    # -- detector ------------------------------------------------------------------------------

    def detect(self, images: Any) -> list[Detections]:
        """SMHR's hands as detections: the valid hands' boxes, sides and centre scores per image."""
        out = self.predict(load_images(images) if not isinstance(images, HandQuery) else images)
        boxes = out.extras["boxes"].detach().cpu().double().numpy()
        sides = out.side.detach().cpu().numpy()
        scores = out.score.detach().cpu().double().numpy()
        valid = out.valid.detach().cpu().numpy()
        return [Detections(boxes[i][valid[i]], sides[i][valid[i]], scores[i][valid[i]]) for i in range(out.batch_size)]

    # -- training ------------------------------------------------------------------------------

    def losses(self) -> dict[str, Loss]:
        """The weakly supervised losses of the card's ``losses:`` list (default: all of them)."""
        from .losses import default_loss_configs

        cfgs = self.loss_cfgs or default_loss_configs(self.has_handedness, self.has_texture)
        built = {}
        for cfg in cfgs:
            loss = _build("losses", cfg)
            built[getattr(loss, "name", cfg["type"])] = loss
        return built
