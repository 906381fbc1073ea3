"""RHD 3D evaluation (Zimmermann & Brox, ICCV 2017): root-relative, scale-normalised 3D PCK, AUC, EPE.

The RHD literature scores the 21 keypoints of one hand per image, relative to its root and with the
prediction brought to the ground truth's scale:

* **hand**: the *dominant* hand of each image, the one with more segmentation-mask pixels
  (``meta['dominant']`` of :class:`handzoo.datasets.RHD`); without that meta every given hand is scored.
* **keypoints**: the visible ones (RHD's ``uv_vis`` flag, ``meta['visible']``), as the authors'
  evaluation masks with the visibility flags; ``joints_valid`` when no meta is given.
* **root-relative**: the prediction is translated so its root joint (joint 0, the wrist as
  annotated) lies on the ground truth's.
* **scale**: the root-relative prediction is scaled so its middle-finger MCP-PIP bone (joints 12 and 11
  of the RHD order, 9 and 10 of handzoo21: the bone Zimmermann & Brox's data reader normalises by)
  has the ground truth's length. ``scale=False`` skips this (root-relative metric errors only).

Metrics: the 3D PCK curve at 0, 1, ..., 50 mm (fraction of keypoints with error ``<=`` t, mean of the
per-keypoint curves), ``AUC_20_50`` (normalised trapezoid over 20-50 mm, the number RHD tables
quote), ``AUC_0_50``, ``EPE_mean`` / ``EPE_median`` in mm and PCK at 20/30/40/50 mm.

Ground truth for :meth:`score_files`: ``gt.npz`` / ``gt.json`` with ``joints`` (M, 21, 3) metres
(handzoo21, OpenCV frame) and optionally ``valid`` (M, 21); predictions: ``pred.npz`` / ``pred.json``
with ``joints`` (M, 21, 3) metres. The choices above are handzoo's reading of the paper's
evaluation and are written into every result's notes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from handzoo.errors import SubmissionError
from handzoo.protocols._progress import NULL_PROGRESS, ProgressSink
from handzoo.protocols.base import ProtocolResult
from handzoo.protocols.pck3d import Hand3DPCKProtocol
from handzoo.types import LEFT

__all__ = ["RHDProtocol", "RHD_SCALE_BONE"]

#: handzoo21 joints of the scale bone: middle-finger MCP (9) -> PIP (10) (RHD order 12 -> 11)
RHD_SCALE_BONE = (9, 10)


class RHDProtocol(Hand3DPCKProtocol):
    """RHD evaluation split, 2728 images, dominant hand, root-relative and scale-normalised."""

    name = "rhd"
    title = "RHD 3D PCK (root-relative, scale-normalised)"
    dataset = "rhd"
    official_size = 2728
    root_joint = 0
    alignments = ("root + middle-finger MCP-PIP bone scale",)
    reference = "Zimmermann & Brox, Learning to Estimate 3D Hand Pose from Single RGB Images, ICCV 2017"
    headline = ("AUC_20_50", "EPE_mean", "PCK@20", "PCK@30", "PCK@40", "PCK@50")
    ground_truth = "gt.npz / gt.json: 'joints' (M, 21, 3) metres and optionally 'valid' (M, 21)"
    quirks = Hand3DPCKProtocol.quirks[:1] + (
        "AUC_20_50: trapezoid over 20-50 mm divided by 30 mm",
        "one hand per image: the dominant one (more mask pixels); only visible keypoints are counted",
        "root-relative (wrist) and scaled to the ground truth's middle-finger MCP-PIP bone length",
    )

    def _align(self, pred: torch.Tensor, gt: torch.Tensor, valid: torch.Tensor, scale: bool) -> torch.Tensor:
        pred = pred - pred[:, :1]
        if scale:
            a, b = RHD_SCALE_BONE
            dp = (pred[:, b] - pred[:, a]).norm(dim=-1)
            dg = (gt[:, b] - gt[:, a]).norm(dim=-1)
            pred = pred * torch.where(dp > 0, dg / dp.clamp_min(1e-12), torch.ones_like(dp))[:, None, None]
        return pred + gt[:, :1]

    def evaluate(
        self,
        *,
        pred_joints: Any,
        gt_joints: Any,
        pred_verts: Any = None,
        gt_verts: Any = None,
        joints_valid: Any = None,
        side: Any = None,
        sample_index: Any = None,
        meta: dict[int, dict[str, Any]] | None = None,
        progress: ProgressSink = NULL_PROGRESS,
        scale: bool = True,
        **kwargs: Any,
    ) -> ProtocolResult:
        """Score (M, 21, 3) predicted joints (metres, handzoo21, OpenCV frame) against the ground truth.

        Args:
            pred_joints, gt_joints: (M, 21, 3) metres.
            joints_valid: (M, 21) keypoints to count when no per-sample meta is given.
            side, sample_index, meta: per-row side (0 right, 1 left), dataset index and the samples'
                meta (``dominant``, ``visible``) from :class:`handzoo.datasets.RHD`: with them only the
                dominant hand of each image and its visible keypoints are scored.
            scale: scale the prediction to the ground truth's MCP-PIP bone (the literature's default).
        """
        pred = np.asarray(pred_joints.detach().cpu() if isinstance(pred_joints, torch.Tensor) else pred_joints)
        gt = np.asarray(gt_joints.detach().cpu() if isinstance(gt_joints, torch.Tensor) else gt_joints)
        m = int(gt.shape[0]) if gt.ndim >= 1 else 0
        valid = None if joints_valid is None else np.asarray(joints_valid, dtype=bool)
        notes: list[str] = []
        if meta and side is not None and sample_index is not None:
            sides = np.asarray(side).reshape(-1)
            idx = np.asarray(sample_index).reshape(-1)
            if len(sides) != m or len(idx) != m:
                raise SubmissionError(f"side/sample_index give {len(sides)}/{len(idx)} rows for {m} hands")
            keep = np.ones(m, dtype=bool)
            vis = np.ones((m, 21), dtype=bool) if valid is None else valid.reshape(m, 21).copy()
            for r in range(m):
                info = meta.get(int(idx[r])) or {}
                hand = 0 if int(sides[r]) == LEFT else 1  # RHD samples hold (left, right)
                if "dominant" in info:
                    keep[r] = int(info["dominant"]) == hand
                if "visible" in info:
                    vis[r] &= np.asarray(info["visible"], dtype=bool).reshape(2, 21)[hand]
            gt, pred, valid = gt[keep], pred[keep] if pred.shape[:1] == (m,) else pred, vis[keep]
            notes.append(f"dominant hand of each image: {int(keep.sum())} of {m} hands scored; visible keypoints only")
        result = super().evaluate(
            pred_joints=pred, gt_joints=gt, joints_valid=valid, progress=progress, scale=scale, **kwargs
        )
        result.notes = notes + [
            "root-relative (joint 0)"
            + (" and scaled to the ground truth's middle-finger MCP-PIP bone" if scale else ", no scale")
            + " (handzoo's reading of Zimmermann & Brox 2017)"
        ]
        result.metrics["EPE_mean"] = result.metrics.pop("mean_error")
        result.metrics["EPE_median"] = result.metrics.pop("median_error")
        result.scores = dict(result.metrics)
        result.units = {k: ("mm" if k.startswith("EPE") else "fraction") for k in result.metrics}
        result.headline = list(self.headline)
        return result
