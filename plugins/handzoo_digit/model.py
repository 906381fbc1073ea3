"""DIGIT (Fan et al., 3DV 2021) as a handzoo Method: two interacting hands from one crop.

Pipeline: one 256x256 RGB crop in [0, 1] around both hands -> HRNet-W32 (pose variant, 32 ch
@ 64x64) -> part segmentation (33 classes @ 128x128) -> segmentation encoded and merged with the
image feature (544 ch, a small U-Net) -> 42 2D heatmaps + per-pixel depth maps (soft-argmax:
2.5D joints, 21 right then 21 left in InterHand2.6M order), the left-minus-right root depth
(64 bins over 0.4 m) and handedness (right, left). The forward needs no segmentation target
(the authors' forward takes one and ignores it for prediction).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from handzoo.backbones.fusion import module_weights_key
from handzoo.backbones.workers import in_worker
from handzoo.errors import ConfigError, InputError
from handzoo.geometry.joint_orders import TO_HANDZOO21
from handzoo.interfaces import Loss, Method
from handzoo.query import HandQuery
from handzoo.types import LEFT, RIGHT, HandOutput

from .decode import back_project, bins_to_metres, heatmap_to_image, part_palette
from .fuse import authors_batch, fast_copy, nhwc_copy, run_chunks
from .heads import DigitJointHead
from .lanes import segm_and_merge_in_lanes
from .preprocess import crop_images

__all__ = ["DIGIT", "build_part"]

_DEFAULTS = {
    "backbone": {"type": "DigitHRNet"},
    "segm_head": {"type": "DigitSegmHead", "in_channels": 32, "hidden": 64, "num_classes": 33},
    "merge": {"type": "DigitMerge", "image_channels": 32, "num_classes": 33, "segm_channels": 512},
    "joint_head": {"type": "DigitJointHead", "in_channels": 544, "num_joints": 42, "beta": 1.0},
    "root_hand_head": {"type": "DigitRootHandHead", "in_channels": 544, "root_bins": 64},
}
_KINDS = {"backbone": "backbones", "losses": "losses"}
_IH = TO_HANDZOO21["interhand"]  # handzoo21 joint k = InterHand joint _IH[k] (per hand)
_PARTS = ("backbone", "segm_head", "merge", "joint_head", "root_hand_head")
_PLANS = {"authors": fast_copy, "nhwc": nhwc_copy}
# default CPU chunk per plan: two images keep the blocked plan's large maps in reused heap memory
# (fewer page faults than 4 or 8; one image per call costs more per image)
_CHUNKS = {"authors": 2, "nhwc": 8}


def build_part(kind: str, cfg: dict[str, Any] | nn.Module) -> nn.Module:
    """Build a registered part from ``{'type': ..., **kwargs}`` (an nn.Module passes through)."""
    if isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, Mapping) or "type" not in cfg:
        raise ConfigError(f"a DIGIT part must be a config dict with 'type' or a module, got {cfg!r}")
    from handzoo.registry import build

    return build(kind, dict(cfg))


class DIGIT(Method):
    """DIGIT's network with its crop, decoding and (optionally) training losses.

    Args:
        backbone, segm_head, merge, joint_head, root_hand_head: config dicts of the registered
            parts (or built modules); the defaults are the authors' architecture.
        losses: config of the training loss (``{'type': 'DigitLoss', ...}``) or None.
        input_size: crop side (256).
        heatmap_size: heatmap side and number of depth bins (64).
        bbox_3d_size: metres spanned by the joints' depth bins (0.4).
        bbox_3d_size_root: metres spanned by the relative-root-depth bins (0.4).
        box_expansion: growth of the two-hand box before cropping (1.25).
        nominal_depth: metres at which the right root is placed when no root depth is given
            (then ``root_relative=True`` and only the root-relative shape is meaningful).
        fuse_inference: run an inference plan of :mod:`handzoo_digit.fuse` (a cached copy of the
            parts) in eval mode without autograd.
        inference_plan: ``'authors'`` (default): float32 on the CPU runs the parts' own operations
            and kernels in oneDNN's blocked layout, without the layout conversions: outputs
            equal ``fuse_inference=False`` bit for bit. ``'nhwc'``: BatchNorm folded, fused
            channels-last oneDNN convolutions: faster on the CPU, outputs about two of the
            authors' float32 noise floors from theirs. Other devices run a folded copy.
        inference_chunk: with the inference plan, run CPU batches this many images at a time
            (None: 2 for the default plan, 8 for ``'nhwc'``; 0: the whole batch at once; other
            devices always run the whole batch). The default plan runs the chunks on all
            intra-op threads side by side, one thread each; a single image runs its HRNet
            branches side by side (up to four workers) and, on two or three threads, its
            segmentation head and merge encoder by row halves (see :mod:`handzoo_digit.lanes`),
            with the same outputs.
        hand_model, mano_dir: accepted for the common loader interface; DIGIT's network uses no
            hand model (part labels for training are rendered with one, see ``parts``).

    ``model(images, boxes=..., K=..., root=...)`` returns a :class:`~handzoo.types.HandOutput`
    with two hand slots per image, (right, left); see :meth:`preprocess` and :meth:`postprocess`.
    """

    def __init__(
        self,
        backbone: dict[str, Any] | nn.Module | None = None,
        segm_head: dict[str, Any] | nn.Module | None = None,
        merge: dict[str, Any] | nn.Module | None = None,
        joint_head: dict[str, Any] | nn.Module | None = None,
        root_hand_head: dict[str, Any] | nn.Module | None = None,
        losses: dict[str, Any] | nn.Module | None = None,
        input_size: int = 256,
        heatmap_size: int = 64,
        bbox_3d_size: float = 0.4,
        bbox_3d_size_root: float = 0.4,
        box_expansion: float = 1.25,
        nominal_depth: float = 0.6,
        fuse_inference: bool = True,
        inference_plan: str = "authors",
        inference_chunk: int | None = None,
        hand_model: Any = None,
        mano_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__()
        given = {
            "backbone": backbone,
            "segm_head": segm_head,
            "merge": merge,
            "joint_head": joint_head,
            "root_hand_head": root_hand_head,
        }
        for name in _PARTS:
            cfg = given[name] if given[name] is not None else _DEFAULTS[name]
            self.add_module(name, build_part(_KINDS.get(name, "heads"), cfg))
        self.criterion = build_part("losses", losses) if losses is not None else None
        self.input_size = (int(input_size), int(input_size))
        self.heatmap_size = (int(heatmap_size),) * 3
        self.bbox_3d_size = float(bbox_3d_size)
        self.bbox_3d_size_root = float(bbox_3d_size_root)
        self.root_bins = int(self.root_hand_head.root_fc[-1].out_features)
        self.box_expansion = float(box_expansion)
        self.nominal_depth = float(nominal_depth)
        self.fuse_inference = bool(fuse_inference)
        if inference_plan not in _PLANS:
            raise ConfigError(f"inference_plan must be one of {sorted(_PLANS)}, got {inference_plan!r}")
        self.inference_plan = inference_plan
        self.inference_chunk = None if inference_chunk is None else int(inference_chunk)
        self.hand_model_name = hand_model if isinstance(hand_model, str) else None
        self.mano_dir = mano_dir
        self._fused_cache: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        # copies and pickles leave the cached plan behind (it holds oneDNN tensors; rebuilt on use)
        state = self.__dict__.copy()
        state["_fused_cache"] = {}
        return state

    # -- network -------------------------------------------------------------------------------

    def _state_key(self) -> tuple:
        return module_weights_key(self, self._fused_cache)

    def _inference_parts(self) -> dict[str, nn.Module]:
        if not (self.fuse_inference and not self.training and not torch.is_grad_enabled()):
            return {name: getattr(self, name) for name in _PARTS}
        key = (self._state_key(), self.inference_plan)
        if self._fused_cache.get("key") != key:
            parts = {name: _PLANS[self.inference_plan](getattr(self, name)) for name in _PARTS}
            if isinstance(parts["joint_head"], DigitJointHead) and parts["joint_head"] is not self.joint_head:
                # a folded copy (the NHWC plan, other devices): float32-robust soft-argmax sums
                parts["joint_head"].separable_expectation = True
            self._fused_cache = {"key": key, "parts": parts}
        return self._fused_cache["parts"]

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Run the network on crops ``batch['img']`` (N, 3, 256, 256) in [0, 1].

        Returns:
            ``joints25d`` (N, 42, 3) heatmap space (x, y in 64-pixel units, z in depth bins);
            ``rel_root_bin`` (N,) left-minus-right root depth in bins; ``root_logits`` (N, 64);
            ``hand_logits`` and ``hand_prob`` (N, 2) (right, left); ``segm_logits``
            (N, 33, 128, 128); ``heatmaps`` (N, 42, 64, 64). With ``batch['targets']`` in training
            mode, also the loss terms (``loss`` and ``loss_*``).
        """
        img = batch.get("img") if isinstance(batch, Mapping) else None
        h, w = self.input_size
        if not isinstance(img, torch.Tensor) or img.dim() != 4 or tuple(img.shape[1:]) != (3, h, w):
            got = tuple(img.shape) if isinstance(img, torch.Tensor) else type(img).__name__
            raise InputError(f"DIGIT expects batch['img'] of shape (N, 3, {h}, {w}), got {got}")
        parts = self._inference_parts()
        fused = parts["backbone"] is not self.backbone
        chunk = self.inference_chunk if self.inference_chunk is not None else _CHUNKS[self.inference_plan]
        threads = torch.get_num_threads()
        workers = threads if _reads_blocked(parts["backbone"]) and img.shape[0] > 1 else 1
        if fused and img.device.type == "cpu" and ((chunk and img.shape[0] > chunk) or workers > 1):
            # a few images at a time: the same numbers per image, and activations small enough to
            # stay in the allocator's reused memory (large batches otherwise spend their time in
            # page faults of fresh multi-GB buffers); the blocked plan runs chunks side by side,
            # one thread each, with the kernels PyTorch picks for the whole batch on all threads
            with authors_batch(img.shape[0], threads):
                pieces = run_chunks(lambda c: self._run(parts, c, True), img, chunk, workers)
            out = {k: torch.cat([p[k] for p in pieces]) for k in pieces[0]}
        else:
            # the kernels PyTorch picks for this call on this thread count, also on the workers that
            # run the backbone's branches side by side at batch 1
            with authors_batch(img.shape[0], threads):
                out = self._run(parts, img, fused)
        if "pooled" in out:  # the plan's root/hand MLPs run on the whole batch, as the authors' do
            out.update(self._root_hand_outputs(parts["root_hand_head"].from_pooled(out.pop("pooled"))))
        targets = batch.get("targets")
        if targets is not None and self.criterion is not None and torch.is_grad_enabled():
            out.update(self.criterion(out, targets))
        return out

    @staticmethod
    def _run(parts: dict[str, nn.Module], img: torch.Tensor, fused: bool) -> dict[str, torch.Tensor]:
        nhwc = fused and not _reads_blocked(parts["backbone"])
        x = img.contiguous(memory_format=torch.channels_last) if nhwc else img
        feat = parts["backbone"](x)[0]
        # one image on two or three threads: the 128x128 maps by row halves on two workers (same values)
        threads = torch.get_num_threads()
        one = fused and img.shape[0] == 1 and not in_worker() and 2 <= threads <= 3
        both = segm_and_merge_in_lanes(parts["segm_head"], parts["merge"], feat) if one else None
        if both is not None:
            segm, merged = both
        else:
            segm = parts["segm_head"](feat)["segm_logits"]
            merged = parts["merge"](feat, segm_logits=segm)["merged"]
        # the CPU plan's merge returns its map in oneDNN's blocked layout, which the plan's heads read
        # (a plain copy only for a head that does not)
        root_hand = parts["root_hand_head"]
        blocked = (_reads_blocked(parts["joint_head"]), _reads_blocked(root_hand))
        plain = merged.to_dense() if merged.is_mkldnn and not all(blocked) else merged
        joints = parts["joint_head"](merged if blocked[0] else plain)
        out = {
            "joints25d": joints["joints25d"],
            "heatmaps": joints["heatmaps"],
            "segm_logits": segm.contiguous() if fused else segm,
        }
        if blocked[1]:  # pooled features now, the MLPs once for the whole batch
            out["pooled"] = root_hand.pooled(merged)
        else:
            out.update(DIGIT._root_hand_outputs(root_hand(plain)))
        return out

    @staticmethod
    def _root_hand_outputs(glob: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {
            "rel_root_bin": glob["rel_root_bin"],
            "root_logits": glob["root_logits"],
            "hand_logits": glob["hand_logits"],
            "hand_prob": torch.sigmoid(glob["hand_logits"]),
        }

    def losses(self) -> dict[str, Loss]:
        """The training loss (``DigitLoss``) when the model was built with one."""
        return {"digit": self.criterion} if self.criterion is not None else {}

    # -- pre / post ----------------------------------------------------------------------------

    def preprocess(self, query: HandQuery) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Crop each image around both hands.

        Args:
            query: the validated input. ``boxes``: per image, the union of the boxes is the
                two-hand box (one box around both hands, or one per hand); no box = the whole
                image. ``K``: intrinsics, for camera-space 3D. ``root`` (with ``sides``; without
                sides the roots are taken as right, then left): camera-frame wrists whose depth
                anchors the hands. ``extra['root_depth']``: alternatively the right root's depth
                in metres per image (a number, or (right, left)). ``extra['use_given_depths']``:
                place each hand at its own given depth (the authors' MPJPE evaluation) instead of
                placing the left hand at the right depth plus the predicted relative depth.

        Returns:
            ``({'img': (B, 3, 256, 256)}, meta)``.
        """
        crops = crop_images(
            query.images, query.boxes or [None] * query.num_images, self.input_size[::-1], self.box_expansion
        )
        n = query.num_images
        depths = np.full((n, 2), np.nan)
        if query.root is not None:
            sides = query.sides
            for i, r in enumerate(query.root):
                s = sides[i] if sides is not None else np.arange(len(r)) % 2
                for j in range(len(r)):
                    if np.isnan(depths[i, int(s[j])]):
                        depths[i, int(s[j])] = float(r[j][2])
        rd = query.extra.get("root_depth")
        if rd is not None:
            rd_list = [rd] if n == 1 else list(rd) if isinstance(rd, (list, tuple, np.ndarray)) else [rd] * n
            if len(rd_list) != n:
                raise InputError(f"root_depth has {len(rd_list)} entries for {n} images", hint="give one per image")
            for i, d in enumerate(rd_list):
                d = np.asarray(d, dtype=np.float64).reshape(-1)
                if d.size not in (1, 2) or not np.all(np.isfinite(d)) or np.any(d <= 0):
                    raise InputError(
                        f"root_depth of image {i} must be a positive depth in metres or (right, left), got {d.tolist()}"
                    )
                depths[i, : d.size] = d
        if query.K is not None:
            K = np.stack(query.K)
        else:
            K = np.stack([_nominal_K(hw) for hw in query.image_sizes]) if n else np.zeros((0, 3, 3))
        meta = {
            "inv_trans": crops.inv_trans,
            "boxes": crops.boxes,
            "K": K,
            "K_given": query.K is not None,
            "depths": depths,
            "use_given_depths": bool(query.extra.get("use_given_depths", False)),
        }
        return {"img": crops.images}, meta

    def postprocess(self, raw: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> HandOutput:
        """Decode to a :class:`HandOutput` with two slots per image: (right, left).

        ``joints2d`` are input pixels; ``joints3d`` camera metres when ``K`` and a root depth were
        given (the right root at its depth, the left at the right depth plus the predicted
        relative depth unless ``use_given_depths``), otherwise root-relative (``root_relative``;
        the hands back-projected at ``nominal_depth`` with the given or a nominal camera).
        ``score`` is the handedness probability (a hand scoring < 0.5 is predicted absent);
        both slots are ``valid``. ``extras``: ``joints25d`` (B, 2, 21, 3: u, v pixels, z metres
        from the hand's root), ``hand_prob`` (B, 2), ``rel_root_depth`` (B,) metres,
        ``rel_root`` (B, 3) left-minus-right root vector (metres; InterNet's rule),
        ``segm_logits`` (B, 33, 128, 128), ``segm_mask`` (B, 128, 128) part labels,
        ``segm_colour`` (B, 128, 128, 3) uint8, ``crop_inverse`` (B, 2, 3).
        """
        j = raw["joints25d"]
        dt = torch.float64 if j.dtype == torch.float64 else j.dtype
        dev = j.device
        inv = torch.as_tensor(np.asarray(meta["inv_trans"]), dtype=torch.float64, device=dev)
        uvz = heatmap_to_image(j.to(torch.float64), inv, self.input_size, self.heatmap_size, self.bbox_3d_size)
        rel = bins_to_metres(raw["rel_root_bin"].to(torch.float64), self.root_bins, self.bbox_3d_size_root)
        b = j.shape[0]
        depths = torch.as_tensor(np.asarray(meta["depths"], dtype=np.float64).reshape(b, 2), device=dev)
        have_r, have_l = ~torch.isnan(depths[:, 0]), ~torch.isnan(depths[:, 1])
        absolute = bool(meta.get("K_given", False)) and bool((have_r | have_l).all()) and b > 0
        d_right = torch.where(
            have_r, depths[:, 0], torch.where(have_l, depths[:, 1] - rel, torch.full_like(rel, self.nominal_depth))
        )
        d_left = d_right + rel
        if meta.get("use_given_depths"):
            d_left = torch.where(have_l, depths[:, 1], d_left)
        K = torch.as_tensor(np.asarray(meta["K"], dtype=np.float64).reshape(b, 3, 3), device=dev)
        img = uvz.clone()
        img[:, :21, 2] = img[:, :21, 2] + d_right[:, None]
        img[:, 21:, 2] = img[:, 21:, 2] + d_left[:, None]
        cam = back_project(img, K)
        # InterNet's relative root vector: the left root placed at the right depth + relative depth
        lr = uvz[:, 41].clone()
        lr[:, 2] = lr[:, 2] + d_right + rel
        rr = uvz[:, 20].clone()
        rr[:, 2] = rr[:, 2] + d_right
        rel_root = back_project(lr[:, None], K)[:, 0] - back_project(rr[:, None], K)[:, 0]
        per_hand = torch.stack([cam[:, :21], cam[:, 21:]], dim=1)[:, :, list(_IH)]
        uvz_h = torch.stack([uvz[:, :21], uvz[:, 21:]], dim=1)[:, :, list(_IH)]
        if not absolute:
            per_hand = per_hand - per_hand[:, :, :1]
        prob = raw["hand_prob"]
        segm = raw["segm_logits"]
        mask = segm.argmax(1)
        palette = part_palette(segm.shape[1]).to(dev)
        return HandOutput(
            joints3d=per_hand.to(dt),
            joints2d=uvz_h[..., :2].to(dt),
            side=torch.tensor([RIGHT, LEFT], device=dev).expand(b, 2).clone(),
            score=prob.to(dt),
            valid=torch.ones(b, 2, dtype=torch.bool, device=dev),
            root_relative=not absolute,
            extras={
                "joints25d": uvz_h.to(dt),
                "hand_prob": prob,
                "rel_root_depth": rel.to(dt),
                "rel_root": rel_root.to(dt),
                "segm_logits": segm,
                "segm_mask": mask,
                "segm_colour": palette[mask],
                "crop_inverse": inv,
                "joints25d_heatmap": j,
            },
        )


def _reads_blocked(part: nn.Module) -> bool:
    """A part of the 'authors' CPU plan (it reads blocked oneDNN tensors; see ``fuse``)."""
    return bool(getattr(part, "reads_blocked", False))


def _nominal_K(hw: tuple[int, int]) -> np.ndarray:
    h, w = hw
    f = float(max(h, w))
    return np.array([[f, 0.0, w / 2.0], [0.0, f, h / 2.0], [0.0, 0.0, 1.0]])
