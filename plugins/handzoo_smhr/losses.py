"""SMHR's weakly supervised training losses (default weights of the authors' options).

Each loss reads the outputs of :meth:`handzoo_smhr.model.SMHR.forward` (run on a batch with the
annotated centre cells ``ind`` (B, K) and sides ``side`` (B, K)) and a batch of targets, and
returns ``{'loss': weight * value, '<name>': value}``. Targets (network-input pixels, per centre):

* ``hm`` (B, 1, h, w): Gaussian centre heatmap (peaks exactly 1 at the centres);
* ``handmap`` (B, 2, h, w): left/right maps (multi-hand model);
* ``joints2d`` (B, K, 21, 2) and optional ``joints2d_conf`` (B, K, 21); ``hand_mask`` (B, K)
  marks real hands (padding 0);
* ``image`` (B, 3, S, S) RGB in [0, 1] and ``skin_mask`` (B, S, S) for the photometric and
  silhouette terms (rendered through :mod:`handzoo.render`);
* ``joints2d_local`` (B, K, 21, 2): 2D keypoints from a local (per-hand) estimate, for the
  local/global keypoint consistency term.

=========================== ============================= ======== ==================================
registered name             term                          weight   the authors' option
=========================== ============================= ======== ==================================
SMHRCenterFocalLoss         centre heatmap focal loss     100      ``center_weight``
SMHRHandednessFocalLoss     left/right map focal loss     100      (multi-hand branch)
SMHRReprojectionLoss        2D joint re-projection MSE    10       ``reproj_weight``
SMHRBoneDirectionLoss       2D bone-direction loss        100      ``bone_dir_weight``
SMHRPosePriorLoss           joint-angle hinge + 0.1 β²    1000     ``norm_weight``
SMHRPhotometricLoss         rendered colour vs image      100      ``photometric_weight``
SMHRSilhouetteLoss          soft silhouette vs skin mask  20       ``seg_weight``
SMHRKeypointConsistencyLoss local vs global 2D keypoints  1        (paper; no default in the code)
=========================== ============================= ======== ==================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from handzoo.interfaces import Loss
from handzoo.types import LEFT

from .decode import center_scores

__all__ = [
    "LOSS_CLASSES",
    "focal_loss",
    "bone_directions",
    "pose_limits",
    "default_loss_configs",
    "SMHRCenterFocalLoss",
    "SMHRHandednessFocalLoss",
    "SMHRReprojectionLoss",
    "SMHRBoneDirectionLoss",
    "SMHRPosePriorLoss",
    "SMHRPhotometricLoss",
    "SMHRSilhouetteLoss",
    "SMHRKeypointConsistencyLoss",
]

# handzoo21 parent of each joint 1..20 (bones go parent -> child)
_PARENTS21 = (0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19)


def focal_loss(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """CornerNet's penalty-reduced focal loss per image (B,), normalised by its number of peaks.

    ``pred`` are probabilities (clamped sigmoid), ``gt`` Gaussian maps with peaks of exactly 1.
    Images with no peak contribute their negative term alone (normalised by 1) when the whole
    batch has none, as in the authors' code; otherwise by their own count (at least 1).
    """
    pos = gt.eq(1).to(pred.dtype)
    neg = 1.0 - pos
    pos_loss = (torch.log(pred) * (1 - pred).pow(2) * pos).sum(dim=(1, 2, 3))
    neg_loss = (torch.log(1 - pred) * pred.pow(2) * (1 - gt).pow(4) * neg).sum(dim=(1, 2, 3))
    num_pos = pos.sum(dim=(1, 2, 3))
    if float(num_pos.sum()) == 0:
        return -neg_loss
    return -(pos_loss + neg_loss) / num_pos.clamp(min=1)


def bone_directions(joints2d: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """Unit 2D bone vectors (..., 20, 2) of handzoo21 joints (..., 21, 2) (``eps`` under the root)."""
    bones = joints2d[..., 1:, :] - joints2d[..., list(_PARENTS21), :]
    return bones / torch.sqrt((bones**2).sum(-1, keepdim=True) + eps)


# Joint-angle limits in degrees of the right hand's 15 finger joints (MANO order: index, middle,
# pinky, ring, thumb; 3 joints each), per axis-angle component (roll, azimuth, pitch) as
# (low, high). The left hand's limits are the mirror image: azimuth and pitch negated.
def _right_limits() -> list[tuple[float, float]]:
    finger = [(-5, 5), (-10, 10), (-10, 100), (-5, 5), (-5, 5), (-10, 100), (-5, 5), (-5, 5), (-10, 100)]
    pinky = [(-20, 5), (-10, 20), (-10, 100)] + finger[3:]
    thumb = [(0, 90), (-22.5, 33.75), (-22.5, 22.5), (-5, 5), (-5, 5), (-22.5, 22.5), (-5, 5), (-5, 5), (-20, 100)]
    return finger + finger + pinky + finger + thumb


def pose_limits(side: int, dtype: torch.dtype = torch.float32, device: Any = None) -> torch.Tensor:
    """(45, 2) radians: lower and upper limit of every finger axis-angle component of a side."""
    lim = torch.tensor(_right_limits(), dtype=torch.float64)
    if side == LEFT:
        lim = lim.reshape(15, 3, 2)
        mirrored = torch.stack((-lim[..., 1], -lim[..., 0]), -1)
        lim = torch.cat((lim[:, :1], mirrored[:, 1:]), 1).reshape(45, 2)
    return (lim * math.pi / 180).to(dtype=dtype, device=device)


def _mask(output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> torch.Tensor:
    m = batch.get("hand_mask")
    ind = output["ind"]
    if m is None:
        return torch.ones(ind.shape, dtype=output["joints2d_net"].dtype, device=ind.device)
    return torch.as_tensor(m, device=ind.device).to(output["joints2d_net"].dtype)


def _masked_mean(value: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (value * mask).sum() / mask.sum().clamp(min=1)


class _Weighted(Loss):
    name = ""
    default_weight = 1.0

    def __init__(self, weight: float | None = None) -> None:
        super().__init__()
        self.weight = float(self.default_weight if weight is None else weight)

    def _out(self, value: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": self.weight * value, self.name: value.detach()}


class SMHRCenterFocalLoss(_Weighted):
    """Focal loss of the centre heatmap (``output['hm']`` logits vs ``batch['hm']``)."""

    name, default_weight = "center_focal", 100.0

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        return self._out(focal_loss(center_scores(output["hm"]), batch["hm"].to(output["hm"])).mean())


class SMHRHandednessFocalLoss(_Weighted):
    """Focal loss of the left/right maps (``output['handmap']`` logits vs ``batch['handmap']``)."""

    name, default_weight = "handedness_focal", 100.0

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        return self._out(focal_loss(center_scores(output["handmap"]), batch["handmap"].to(output["handmap"])).mean())


class SMHRReprojectionLoss(_Weighted):
    """Mean squared error of the projected joints and the 2D keypoints (network-input pixels),
    weighted by ``joints2d_conf`` when given; padded hands are ignored."""

    name, default_weight = "reprojection", 10.0

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        pred = output["joints2d_net"]
        gt = batch["joints2d"].to(pred)
        err = ((pred - gt) ** 2).mean(-1)
        conf = batch.get("joints2d_conf")
        if conf is not None:
            err = err * conf.to(pred)
        return self._out(_masked_mean(err.mean(-1), _mask(output, batch)))


class SMHRBoneDirectionLoss(_Weighted):
    """Squared difference of the unit 2D bone directions of the projected and annotated joints;
    a bone counts with the product of its two joints' confidences."""

    name, default_weight = "bone_direction", 100.0

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        pred = output["joints2d_net"]
        gt = batch["joints2d"].to(pred)
        diff = ((bone_directions(pred) - bone_directions(gt)) ** 2).sum(-1)
        conf = batch.get("joints2d_conf")
        if conf is not None:
            c = conf.to(pred)
            diff = diff * c[..., 1:] * c[..., list(_PARENTS21)]
        return self._out(_masked_mean(diff.mean(-1), _mask(output, batch)))


class SMHRPosePriorLoss(_Weighted):
    """Hinge on the per-joint angle limits (:func:`pose_limits` of each hand's side) plus
    ``0.1 * mean(betas**2)`` (the authors' ``NormLoss``)."""

    name, default_weight = "pose_prior", 1000.0

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        pose, betas, side = output["hand_pose"], output["betas"], output["side"]
        lim = torch.stack([pose_limits(s, pose.dtype, pose.device) for s in (0, 1)])[side]  # (B, K, 45, 2)
        hinge = torch.clamp(lim[..., 0] - pose, min=0) + torch.clamp(pose - lim[..., 1], min=0)
        value = hinge.mean(-1) + 0.1 * (betas**2).mean(-1)
        return self._out(_masked_mean(value, _mask(output, batch)))


def _render_inputs(output: Mapping[str, torch.Tensor], batch: Mapping[str, Any], faces: torch.Tensor):
    from handzoo_smhr.decode import virtual_intrinsics

    verts = output["vertices"]
    faces = torch.as_tensor(faces)
    if faces.dim() == 3:  # collated by a DataLoader: one copy per sample, all the same
        faces = faces[0]
    size = int(batch["image"].shape[-1]) if "image" in batch else int(batch["skin_mask"].shape[-1])
    K = virtual_intrinsics(size, float(batch.get("focal", 512.0)), verts.dtype).to(verts.device)
    return verts, faces.to(verts.device), K, size


class SMHRPhotometricLoss(_Weighted):
    """L2 between the rendered vertex colours (``output['vertex_colors']``, rasterised by
    :func:`handzoo.render.rasterize`, vertices detached as the authors do) and the image, inside
    the rendered and skin masks. Needs ``batch['faces']`` (F, 3) or the faces in the output."""

    name, default_weight = "photometric", 100.0

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        from handzoo.render import interpolate, rasterize

        faces = batch["faces"]
        verts, faces, K, size = _render_inputs(output, batch, faces)
        b, k, v, _ = verts.shape
        mask = _mask(output, batch)
        # one image per batch element: the hands of an image share its z-buffer
        offs = (torch.arange(k, device=verts.device) * v).view(k, 1, 1)
        all_faces = (faces[None] + offs).reshape(-1, 3)
        keep = mask.bool().repeat_interleave(faces.shape[0], dim=1)  # (B, K F)
        colours = output["vertex_colors"].reshape(b, k * v, 3)
        losses = []
        for i in range(b):
            f_i = all_faces[keep[i]]
            if f_i.numel() == 0:
                losses.append(colours.new_zeros(()))
                continue
            frags = rasterize(verts[i].detach().reshape(1, k * v, 3), f_i, K, (size, size))
            rgb = interpolate(frags, f_i, colours[i : i + 1])[0]
            cover = frags.mask[0].to(rgb.dtype)
            if "skin_mask" in batch:
                cover = cover * batch["skin_mask"][i].to(rgb)
            target = batch["image"][i].to(rgb).permute(1, 2, 0)
            losses.append((((rgb - target) ** 2).sum(-1) * cover).sum() / cover.sum().clamp(min=1))
        return self._out(torch.stack(losses).mean())


class SMHRSilhouetteLoss(_Weighted):
    """Mean squared error of the soft silhouette (:func:`handzoo.render.silhouette`) of the
    image's hands and the skin mask ``batch['skin_mask']`` (B, S, S)."""

    name, default_weight = "silhouette", 20.0

    def __init__(self, weight: float | None = None, sigma: float = 1.0) -> None:
        super().__init__(weight)
        self.sigma = sigma

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        from handzoo.render import silhouette

        verts, faces, K, size = _render_inputs(output, batch, batch["faces"])
        b, k, v, _ = verts.shape
        mask = _mask(output, batch)
        sils = silhouette(verts.reshape(b * k, v, 3), faces, K, (size, size), sigma=self.sigma).reshape(
            b, k, size, size
        )
        # union of the image's hands: 1 - prod(1 - s)
        sil = 1 - torch.prod(1 - sils * mask[..., None, None], dim=1)
        return self._out(((sil - batch["skin_mask"].to(sil)) ** 2).mean())


class SMHRKeypointConsistencyLoss(_Weighted):
    """Consistency of the globally re-projected joints with local 2D keypoint estimates
    ``batch['joints2d_local']`` (B, K, 21, 2): mean squared distance, both ways differentiable."""

    name, default_weight = "keypoint_consistency", 1.0

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        pred = output["joints2d_net"]
        local = batch["joints2d_local"].to(pred)
        err = ((pred - local) ** 2).sum(-1).mean(-1)
        return self._out(_masked_mean(err, _mask(output, batch)))


LOSS_CLASSES: dict[str, type[Loss]] = {
    "SMHRCenterFocalLoss": SMHRCenterFocalLoss,
    "SMHRHandednessFocalLoss": SMHRHandednessFocalLoss,
    "SMHRReprojectionLoss": SMHRReprojectionLoss,
    "SMHRBoneDirectionLoss": SMHRBoneDirectionLoss,
    "SMHRPosePriorLoss": SMHRPosePriorLoss,
    "SMHRPhotometricLoss": SMHRPhotometricLoss,
    "SMHRSilhouetteLoss": SMHRSilhouetteLoss,
    "SMHRKeypointConsistencyLoss": SMHRKeypointConsistencyLoss,
}


def default_loss_configs(handedness: bool, photometric: bool) -> list[dict[str, Any]]:
    """The losses the authors train a model with these heads with."""
    names = ["SMHRCenterFocalLoss", "SMHRReprojectionLoss", "SMHRBoneDirectionLoss", "SMHRPosePriorLoss"]
    if handedness:
        names.insert(1, "SMHRHandednessFocalLoss")
    if photometric:
        names += ["SMHRPhotometricLoss", "SMHRSilhouetteLoss"]
    return [{"type": n} for n in names]
