"""The compact model's loss: 3D joints and vertices, rotations, shape and 2D reprojection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from handzoo.errors import InputError
from handzoo.geometry.rotations import axis_angle_to_matrix
from handzoo.interfaces import Loss
from handzoo.registry import build

__all__ = ["CompactHandLoss"]


class CompactHandLoss(Loss):
    """Weighted sum of the usual parametric-hand terms, all in the (right-hand) crop frame.

    Targets in ``batch``: ``gt_global_orient`` (N, 3) and ``gt_hand_pose`` (N, 45) axis-angle,
    ``gt_betas`` (N, 10), ``gt_joints2d_n`` (N, 21, 2) in normalised crop coordinates. The
    ground-truth mesh and joints come from the same hand model with the target parameters.

    Terms (weights in brackets, defaults): ``joints`` L1 on root-relative joints in metres (50),
    ``vertices`` L1 on root-relative vertices (25), ``joints_canonical`` and
    ``vertices_canonical``: the same without the global rotation (200, 100), which isolates the
    articulation and shape from the (harder) global rotation, ``pose`` MSE on the 15 finger rotation
    matrices (1), ``global`` MSE on the global rotation matrix (1), ``betas`` MSE (0.01),
    ``joints2d`` L1 on the weak-perspective 2D joints (1).

    Args:
        hand_model: the hand model (module or config) the targets are posed with.
        weights: overrides of the term weights.
    """

    DEFAULT_WEIGHTS = {
        "joints": 50.0,
        "vertices": 25.0,
        "joints_canonical": 200.0,
        "vertices_canonical": 100.0,
        "pose": 1.0,
        "global": 1.0,
        "betas": 0.01,
        "joints2d": 1.0,
    }

    def __init__(self, hand_model: Any = "openhand", weights: Mapping[str, float] | None = None) -> None:
        super().__init__()
        if isinstance(hand_model, str):
            hand_model = {"type": hand_model, "side": "right", "flat_hand_mean": True}
        hm = build("hand_models", hand_model)
        # shared with the method when given as a module; not a submodule, so never saved twice
        self.__dict__["hand_model"] = hm
        unknown = set(weights or {}) - set(self.DEFAULT_WEIGHTS)
        if unknown:
            raise InputError(f"unknown loss weights {sorted(unknown)}", hint=f"use {sorted(self.DEFAULT_WEIGHTS)}")
        self.weights = {**self.DEFAULT_WEIGHTS, **dict(weights or {})}

    def _get(self, batch: Mapping[str, Any], key: str) -> torch.Tensor:
        if key not in batch:
            raise InputError(f"the compact model's loss needs target {key!r} in the batch")
        return batch[key]

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Return the weighted terms and their sum under ``'loss'``."""
        go, hp, be = (
            self._get(batch, "gt_global_orient"),
            self._get(batch, "gt_hand_pose"),
            self._get(batch, "gt_betas"),
        )
        hm: nn.Module = self.__dict__["hand_model"]
        dt = hm.v_template.dtype
        with torch.no_grad():
            v, j = hm(go.to(dt), hp.to(dt), be.to(dt))
            root = j[:, :1]
            gv, gj = (v - root).float(), (j - root).float()
            gpose = axis_angle_to_matrix(hp.reshape(-1, 15, 3).float())
            grot = axis_angle_to_matrix(go.float())
            zero = go.new_zeros(go.shape).to(dt)
            cv, cj = hm(zero, hp.to(dt), be.to(dt))
            croot = cj[:, :1]
            gcv, gcj = (cv - croot).float(), (cj - croot).float()
        pv, pj = hm(zero, output["hand_pose"].to(dt), output["betas"].to(dt))
        proot = pj[:, :1]
        pcv, pcj = (pv - proot).float(), (pj - proot).float()
        ppose = axis_angle_to_matrix(output["hand_pose"].reshape(-1, 15, 3))
        w = self.weights
        terms = {
            "joints": w["joints"] * F.l1_loss(output["joints3d"], gj),
            "vertices": w["vertices"] * F.l1_loss(output["vertices"], gv),
            "joints_canonical": w["joints_canonical"] * F.l1_loss(pcj, gcj),
            "vertices_canonical": w["vertices_canonical"] * F.l1_loss(pcv, gcv),
            "pose": w["pose"] * F.mse_loss(ppose, gpose),
            "global": w["global"] * F.mse_loss(output["global_rotmat"], grot),
            "betas": w["betas"] * F.mse_loss(output["betas"], be.float()),
            "joints2d": w["joints2d"] * F.l1_loss(output["joints2d_n"], self._get(batch, "gt_joints2d_n").float()),
        }
        terms["loss"] = sum(terms.values())
        return terms
