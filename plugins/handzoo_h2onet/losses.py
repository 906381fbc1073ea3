"""H2ONet's training losses (both stages, single- and multi-frame).

Stage 1 (canonical mesh): L1 on canonical vertices and joints, 0.1 x normal-vector loss, edge
length loss, L1 on the normalised 2D joints. Stage 2 (``with_rotation``) adds L1 on the rotated
vertices and joints and MSE on the rotation matrix. The multi-frame model adds the occlusion
cross-entropy and, in stage 2, normal and edge losses on the rotated vertices. Terms are summed
unweighted (apart from the 0.1 on normal losses) and each is a mean, as the authors'.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from handzoo.errors import InputError
from handzoo.interfaces import Loss

__all__ = ["H2ONetLoss", "normal_vector_loss", "edge_length_loss"]


def _edges(v: torch.Tensor, faces: torch.Tensor, a: int, b: int) -> torch.Tensor:
    return v[:, faces[:, b]] - v[:, faces[:, a]]


def normal_vector_loss(pred: torch.Tensor, gt: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Mean |cos| between the predicted triangle edges and the ground-truth face normals."""
    n_gt = F.normalize(
        torch.cross(F.normalize(_edges(gt, faces, 0, 1), dim=2), F.normalize(_edges(gt, faces, 0, 2), dim=2), dim=2),
        dim=2,
    )
    cos = [
        torch.abs((F.normalize(_edges(pred, faces, a, b), dim=2) * n_gt).sum(2, keepdim=True))
        for a, b in ((0, 1), (0, 2), (1, 2))
    ]
    return torch.cat(cos, 1).mean()


def edge_length_loss(pred: torch.Tensor, gt: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of triangle edge lengths."""
    diffs = [
        torch.abs(
            _edges(pred, faces, a, b).norm(dim=2, keepdim=True) - _edges(gt, faces, a, b).norm(dim=2, keepdim=True)
        )
        for a, b in ((0, 1), (0, 2), (1, 2))
    ]
    return torch.cat(diffs, 1).mean()


class H2ONetLoss(Loss):
    """The authors' loss for one training stage.

    ``output`` is the method's raw forward output; ``batch`` holds the targets under the
    authors' names: ``gt_verts3d_wo_gr``, ``gt_joints3d_wo_gr``, ``joints_img`` (normalised to
    [0, 1] in the crop; for MF the three frames stacked along the batch, frame t first, or given
    per sample as (B, 3, ...)), and for
    stage 2 ``gt_verts3d_w_gr``, ``gt_joints3d_w_gr``, ``gt_glob_rot_mat``; for MF ``gt_occ``
    (3B, 6) int labels (1 = occluded).

    Args:
        faces: (F, 3) mesh triangles (the model's ``faces`` buffer).
        with_rotation: stage 2 (adds the rotated-mesh and rotation terms).
        multi_frame: add the multi-frame terms.
    """

    def __init__(self, faces: Any, with_rotation: bool = False, multi_frame: bool = False) -> None:
        super().__init__()
        self.register_buffer("faces", torch.as_tensor(np.asarray(faces), dtype=torch.long), persistent=False)
        self.with_rotation = with_rotation
        self.multi_frame = multi_frame

    def _get(self, batch: Mapping[str, Any], key: str) -> torch.Tensor:
        if key not in batch:
            raise InputError(f"H2ONet loss needs target {key!r} in the batch")
        return batch[key]

    def _frames_first(self, target: torch.Tensor, rows: int) -> torch.Tensor:
        """MF targets given per sample as (B, 3, ...) -> (3B, ...) with frame t of every sample
        first (the network's order); targets already (3B, ...) pass unchanged."""
        if self.multi_frame and target.dim() >= 2 and target.shape[0] * 3 == rows and target.shape[1] == 3:
            return target.transpose(0, 1).reshape(rows, *target.shape[2:])
        return target

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Return the named terms and their sum under ``'loss'``."""
        rows = int(output["pred_joints_img"].shape[0])
        g = lambda k: self._frames_first(self._get(batch, k), rows)  # noqa: E731
        f = self.faces
        terms = {
            "verts_wo_gr": F.l1_loss(output["pred_verts3d_wo_gr"], g("gt_verts3d_wo_gr")),
            "joints_wo_gr": F.l1_loss(output["pred_joints3d_wo_gr"], g("gt_joints3d_wo_gr")),
            "normal_wo_gr": 0.1 * normal_vector_loss(output["pred_verts3d_wo_gr"], g("gt_verts3d_wo_gr"), f),
            "edge_wo_gr": edge_length_loss(output["pred_verts3d_wo_gr"], g("gt_verts3d_wo_gr"), f),
            "joint_img": F.l1_loss(output["pred_joints_img"], g("joints_img")),
        }
        if self.multi_frame:
            terms["occ"] = F.cross_entropy(output["pred_occ"], g("gt_occ").long())
        if self.with_rotation:
            terms["verts_w_gr"] = F.l1_loss(output["pred_verts3d_w_gr"], g("gt_verts3d_w_gr"))
            terms["joints_w_gr"] = F.l1_loss(output["pred_joints3d_w_gr"], g("gt_joints3d_w_gr"))
            terms["glob_rot"] = F.mse_loss(output["pred_glob_rot_mat"], g("gt_glob_rot_mat"))
            if self.multi_frame:
                terms["normal_w_gr"] = 0.1 * normal_vector_loss(output["pred_verts3d_w_gr"], g("gt_verts3d_w_gr"), f)
                terms["edge_w_gr"] = edge_length_loss(output["pred_verts3d_w_gr"], g("gt_verts3d_w_gr"), f)
        terms["loss"] = sum(terms.values())
        return terms
