"""3D-hand's training losses (paper Sec. 4; weights from the unofficial training code's configs).

* :class:`ThreeDHandPretrainLoss` — synthetic pre-training: regression of the 22 parameters
  against the parameters that rendered each synthetic image, term by term (L2 or L1), weighted
  pose 1000, shape 1e5, rotation 5000, translation 0.2, scale 0.1.
* :class:`ThreeDHandLoss` — training on real images: 2D joint L1 (weight 4), 3D joint loss
  (weight 1e5 in the weak-perspective units below, or the user's weight for metres), mask loss
  ``1 - mean(mask at the projected vertices)`` (weight 10; the paper's 100 did not converge for
  the unofficial trainer) and the pose/shape prior ``mean(theta^2) + 1e4 mean(beta^2)`` (weight 10).

Every term is averaged over the samples that have its annotation (``*_valid`` entries of the
batch); a term without any valid sample is 0 (and keeps the graph).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from handzoo.errors import ConfigError, InputError
from handzoo.interfaces import Loss

from .head import PARAM_SLICES

__all__ = [
    "ThreeDHandPretrainLoss",
    "ThreeDHandLoss",
    "joint2d_l1",
    "joint3d_loss",
    "mask_loss",
    "prior_loss",
]


def _criterion(name: str):
    key = name.lower()
    if key == "l2":
        return F.mse_loss
    if key == "l1":
        return F.l1_loss
    raise ConfigError(f"unknown pre-training criterion {name!r}", hint="use 'l2' or 'l1'")


class ThreeDHandPretrainLoss(Loss):
    """Parameter regression of the synthetic pre-training.

    ``output['params']`` and ``batch['params']``: (N, 22) ``[s, tx, ty, r(3), pca(6), betas(10)]``.

    Args:
        criterion: ``'l2'`` (the released config) or ``'l1'``.
        w_pose, w_betas, w_rot, w_trans, w_scale: term weights.
    """

    def __init__(
        self,
        criterion: str = "l2",
        w_pose: float = 1000.0,
        w_betas: float = 1e5,
        w_rot: float = 5000.0,
        w_trans: float = 0.2,
        w_scale: float = 0.1,
    ) -> None:
        super().__init__()
        self.fn = _criterion(criterion)
        self.weights = {"pose_pca": w_pose, "betas": w_betas, "rot": w_rot, "trans": w_trans, "scale": w_scale}

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Return ``{'loss', 'pose_pca', 'betas', 'rot', 'trans', 'scale'}``."""
        pred, gt = output["params"], batch["params"]
        if pred.shape != gt.shape:
            raise InputError(f"params: prediction {tuple(pred.shape)} vs target {tuple(gt.shape)}")
        gt = gt.to(pred)
        terms = {name: self.fn(pred[:, PARAM_SLICES[name]], gt[:, PARAM_SLICES[name]]) for name in self.weights}
        total = sum(self.weights[k] * v for k, v in terms.items())
        return {"loss": total, **terms}


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(values.dtype)
    while mask.dim() < values.dim():
        mask = mask.unsqueeze(-1)
    mask = mask.expand_as(values)
    count = mask.sum()
    return (values * mask).sum() / count.clamp(min=1.0)


def joint2d_l1(pred: torch.Tensor, gt: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute error of (N, 21, 2) crop-pixel joints over the valid (N, 21) joints."""
    valid = torch.ones(pred.shape[:2], dtype=torch.bool, device=pred.device) if valid is None else valid.bool()
    return _masked_mean((pred - gt.to(pred)).abs(), valid)


def joint3d_loss(
    pred: torch.Tensor,
    gt: torch.Tensor,
    valid: torch.Tensor | None = None,
    scale: torch.Tensor | None = None,
    focal: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean squared error of centred (N, 21, 3) joints over the valid (N,) samples.

    Both sets are centred on their mean joint. With ``scale`` (the predicted weak-perspective
    scale) and ``focal`` (the ground-truth camera's focal length in crop pixels), the ground truth
    (camera frame, metres) is first multiplied by ``focal / (mean depth * scale)``: the weak-
    perspective reading of the real camera, as the unofficial trainer's ``perspective`` option.
    """
    gt = gt.to(pred)
    if scale is not None and focal is not None:
        depth = gt[..., 2].mean(dim=1)
        gt = gt * (focal.to(pred) / (depth * scale))[:, None, None]
    p = pred - pred.mean(dim=1, keepdim=True)
    g = gt - gt.mean(dim=1, keepdim=True)
    valid = torch.ones(pred.shape[0], dtype=torch.bool, device=pred.device) if valid is None else valid.bool()
    return _masked_mean((p - g) ** 2, valid)


def mask_loss(vertices2d: torch.Tensor, mask: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """``1 - mean(mask at the projected vertices)`` over the valid (N,) samples.

    Args:
        vertices2d: (N, V, 2) crop pixels (x, y); clamped into the mask.
        mask: (N, S, S) hand masks of the crop in [0, 1] (pixel centres at integers).
        valid: (N,) samples that have a mask.
    """
    size_y, size_x = mask.shape[-2:]
    gx = vertices2d[..., 0].clamp(0.0, size_x - 1.0) / (size_x - 1.0) * 2.0 - 1.0
    gy = vertices2d[..., 1].clamp(0.0, size_y - 1.0) / (size_y - 1.0) * 2.0 - 1.0
    xy = torch.stack((gx, gy), dim=-1)
    sampled = F.grid_sample(mask[:, None].to(xy), xy[:, None], mode="bilinear", align_corners=True)[:, 0, 0]
    valid = torch.ones(xy.shape[0], dtype=torch.bool, device=xy.device) if valid is None else valid.bool()
    if not bool(valid.any()):
        return sampled.sum() * 0.0
    return 1.0 - _masked_mean(sampled, valid)


def prior_loss(pose_pca: torch.Tensor, betas: torch.Tensor, beta_weight: float = 1e4) -> torch.Tensor:
    """``mean(pose_pca^2) + beta_weight * mean(betas^2)``."""
    return (pose_pca**2).mean() + beta_weight * (betas**2).mean()


class ThreeDHandLoss(Loss):
    """The training loss on real images.

    ``output``: the model's raw outputs (``joints2d``, ``joints3d``, ``vertices2d``, ``scale``,
    ``pose_pca``, ``betas``). ``batch`` (any subset): ``joints2d`` (N, 21, 2) crop pixels with
    ``joints2d_valid`` (N, 21); ``joints3d`` (N, 21, 3) metres with ``joints3d_valid`` (N,) and
    optionally ``focal`` (N,) crop pixels; ``mask`` (N, S, S) with ``mask_valid`` (N,).

    Args:
        w_2d, w_3d, w_mask, w_reg: term weights (4, 1e5, 10, 10).
        beta_weight: shape weight inside the prior (1e4).
    """

    def __init__(
        self, w_2d: float = 4.0, w_3d: float = 1e5, w_mask: float = 10.0, w_reg: float = 10.0, beta_weight: float = 1e4
    ) -> None:
        super().__init__()
        self.w_2d, self.w_3d, self.w_mask, self.w_reg = w_2d, w_3d, w_mask, w_reg
        self.beta_weight = beta_weight

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Return ``{'loss', 'joints2d', 'joints3d', 'mask', 'prior'}`` (absent annotations give 0)."""
        zero = output["betas"].sum() * 0.0
        terms: dict[str, torch.Tensor] = {}
        if batch.get("joints2d") is not None:
            terms["joints2d"] = joint2d_l1(output["joints2d"], batch["joints2d"], batch.get("joints2d_valid"))
        else:
            terms["joints2d"] = zero
        if batch.get("joints3d") is not None:
            focal = batch.get("focal")
            terms["joints3d"] = joint3d_loss(
                output["joints3d"],
                batch["joints3d"],
                batch.get("joints3d_valid"),
                scale=output["scale"] if focal is not None else None,
                focal=focal,
            )
        else:
            terms["joints3d"] = zero
        if batch.get("mask") is not None:
            terms["mask"] = mask_loss(output["vertices2d"], batch["mask"], batch.get("mask_valid"))
        else:
            terms["mask"] = zero
        terms["prior"] = prior_loss(output["pose_pca"], output["betas"], self.beta_weight)
        total = (
            self.w_2d * terms["joints2d"]
            + self.w_3d * terms["joints3d"]
            + self.w_mask * terms["mask"]
            + self.w_reg * terms["prior"]
        )
        return {"loss": total, **terms}
