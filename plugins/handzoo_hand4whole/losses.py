"""Hand4Whole's training losses (Pose2Pose hand branch): unweighted L1 terms.

Each term is the element-wise L1 distance times its validity mask, averaged over all elements
(the authors' trainer takes ``.mean()`` of each term and sums them):

========================  ==========================================  ===========================
term                      prediction vs target                        mask
========================  ==========================================  ===========================
``joint_img``             heatmap joints vs GT (z only for 3D data)    ``joint_trunc``, ``is_3D``
``mano_joint_img``        heatmap joints vs joints of pseudo-GT MANO   ``mano_joint_trunc``
``mano_pose``             48 axis-angle values                         ``mano_pose_valid``
``mano_shape``            10 betas                                     ``mano_shape_valid``
``joint_proj``            projected 3D joints vs GT 2D (heatmap units) ``joint_trunc``
``joint_cam``             wrist-relative 3D joints (m) vs GT           ``joint_valid * is_3D``
``mano_joint_cam``        wrist-relative 3D joints vs MANO-fit joints  ``mano_joint_valid``
========================  ==========================================  ===========================

Targets are in the network's frame (left hands mirrored, as their crops). Terms whose targets
are absent from the batch are skipped, so 2D-only data (MSCOCO) trains only what it can.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from handzoo.errors import InputError
from handzoo.interfaces import Loss

__all__ = ["Hand4WholeLoss", "LOSS_TERMS", "joint_img_targets"]

LOSS_TERMS = (
    "joint_img",
    "mano_joint_img",
    "mano_pose",
    "mano_shape",
    "joint_proj",
    "joint_cam",
    "mano_joint_cam",
)


def joint_img_targets(
    joints2d_crop: torch.Tensor,
    joints3d: torch.Tensor,
    valid: torch.Tensor | None = None,
    input_size: Sequence[int] = (256, 256),
    heatmap_shape: Sequence[int] = (8, 8, 8),
    bbox_3d_size: float = 0.3,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Heatmap-space joint targets and truncation masks, as the authors' dataset code.

    Args:
        joints2d_crop: (N, 21, 2) joints in crop pixels.
        joints3d: (N, 21, 3) camera-frame joints (metres); depth is taken relative to the wrist.
        valid: (N, 21) joint validity (default all valid).
        input_size: crop (H, W). heatmap_shape: (D, H, W). bbox_3d_size: depth range (m) the
            heatmap's D axis spans, centred on the wrist.

    Returns:
        ``(joint_img (N, 21, 3), joint_trunc (N, 21, 1))``: x, y in heatmap cells, z in depth
        cells; ``joint_trunc`` is 1 for valid joints inside the heatmap volume.
    """
    d, h, w = heatmap_shape
    x = joints2d_crop[..., 0] / input_size[1] * w
    y = joints2d_crop[..., 1] / input_size[0] * h
    z_rel = joints3d[..., 2] - joints3d[..., :1, 2]
    z = (z_rel / (bbox_3d_size / 2) + 1) / 2.0 * d
    joint_img = torch.stack((x, y, z), dim=-1)
    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h) & (z >= 0) & (z < d)
    if valid is not None:
        inside = inside & valid.bool()
    return joint_img, inside[..., None].to(joint_img.dtype)


def _mask(m: Any, like: torch.Tensor) -> torch.Tensor:
    m = torch.as_tensor(m, dtype=like.dtype, device=like.device)
    if m.dim() == like.dim() - 1 and like.dim() == 3:
        m = m[..., None]  # (N, J) -> (N, J, 1)
    elif m.dim() == 1 and like.dim() == 2:
        m = m[:, None]  # (N,) -> (N, 1)
    return m


def _l1(pred: torch.Tensor, target: Any, valid: Any) -> torch.Tensor:
    target = torch.as_tensor(target, dtype=pred.dtype, device=pred.device)
    if target.shape != pred.shape:
        raise InputError(
            f"loss target of shape {tuple(target.shape)} does not match the prediction {tuple(pred.shape)}"
        )
    return torch.abs(pred - target) * _mask(valid, pred)


class Hand4WholeLoss(Loss):
    """The hand branch's seven L1 terms (see the module docstring).

    Args:
        weights: optional per-term weights (default 1 for every term, as the authors).
    """

    def __init__(self, weights: Mapping[str, float] | None = None) -> None:
        super().__init__()
        unknown = set(weights or {}) - set(LOSS_TERMS)
        if unknown:
            raise InputError(f"unknown Hand4Whole loss terms {sorted(unknown)}", hint=f"terms: {', '.join(LOSS_TERMS)}")
        self.weights = {k: float((weights or {}).get(k, 1.0)) for k in LOSS_TERMS}

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Compute the terms present in ``batch``.

        Args:
            output: :meth:`Hand4WholeHand.forward` outputs (``joint_img``, ``mano_pose``,
                ``betas``, ``joint_proj``, ``joint_cam``).
            batch: targets and masks named as the authors': ``joint_img`` (N, 21, 3),
                ``joint_trunc`` (N, 21[, 1]), ``is_3D`` (N,), ``mano_joint_img``,
                ``mano_joint_trunc``, ``mano_pose`` (N, 48), ``mano_pose_valid`` (N, 48),
                ``mano_shape`` (N, 10), ``mano_shape_valid`` (N,), ``joint_cam`` (N, 21, 3),
                ``joint_valid`` (N, 21[, 1]), ``mano_joint_cam``, ``mano_joint_valid``.

        Returns:
            ``{'loss': weighted sum, <term>: mean of the term, ...}``.
        """
        terms: dict[str, torch.Tensor] = {}
        joint_img = output["joint_img"]
        if "joint_img" in batch:
            loss = _l1(joint_img, batch["joint_img"], batch["joint_trunc"])
            if "is_3D" in batch:
                is3d = torch.as_tensor(batch["is_3D"], dtype=loss.dtype, device=loss.device)
                loss = torch.cat((loss[..., :2], loss[..., 2:] * is3d[:, None, None]), dim=-1)
            terms["joint_img"] = loss
            target2d = torch.as_tensor(batch["joint_img"], dtype=joint_img.dtype, device=joint_img.device)[..., :2]
            terms["joint_proj"] = _l1(output["joint_proj"], target2d, batch["joint_trunc"])
        if "mano_joint_img" in batch:
            terms["mano_joint_img"] = _l1(joint_img, batch["mano_joint_img"], batch["mano_joint_trunc"])
        if "mano_pose" in batch:
            terms["mano_pose"] = _l1(output["mano_pose"], batch["mano_pose"], batch["mano_pose_valid"])
        if "mano_shape" in batch:
            terms["mano_shape"] = _l1(output["betas"], batch["mano_shape"], batch["mano_shape_valid"])
        if "joint_cam" in batch:
            valid = _mask(batch["joint_valid"], output["joint_cam"])
            if "is_3D" in batch:
                valid = valid * torch.as_tensor(batch["is_3D"], dtype=valid.dtype, device=valid.device)[:, None, None]
            terms["joint_cam"] = _l1(output["joint_cam"], batch["joint_cam"], valid)
        if "mano_joint_cam" in batch:
            terms["mano_joint_cam"] = _l1(output["joint_cam"], batch["mano_joint_cam"], batch["mano_joint_valid"])
        out = {k: v.mean() for k, v in terms.items()}
        total = sum((self.weights[k] * v for k, v in out.items()), joint_img.new_zeros(()))
        return {"loss": total, **out}
