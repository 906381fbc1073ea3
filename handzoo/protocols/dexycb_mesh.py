"""DexYCB as the mesh papers score it: HandOccNet's protocol and H2ONet's variant of it.

Both use HandOccNet's preprocessed s0 split (``DEX_YCB_s0_test_data.json``, joints in metres) and
score *root-relative* predictions: the prediction is centred on its own root (joint 0), and the
per-sample mean error over the 21 joints (and vertices) is averaged over samples, in mm.

* ``dexycb-handoccnet`` (namepllet/HandOccNet ``DEX_YCB.evaluate``): MPJPE of the prediction
  moved to the GT root, PA-MPJPE with HandOccNet's ``rigid_align`` (Umeyama *with* the reflection
  fix). Joints only.
* ``dexycb-h2onet`` (hxwork/H2ONet_Pytorch ``DEX_YCB_SF/MF.evaluate``): the same root-relative
  MPJPE, but PA with FreiHAND's ``align_w_scale`` (reflections allowed, 1e-8 epsilon), plus MPVPE
  and PA-MPVPE of vertices centred on the joint root. The PA AUCs and aligned F@5/F@15 its paper
  also reports are not in the released code; handzoo adds them FreiHAND-style as metrics.

Left hands: both codes run the network on a mirrored crop and un-mirror the joints (x -> -x) after
root-centring. handzoo predictions are already in the true camera frame, so no flip is applied
here; the numbers are those of the official code fed with the network's mirrored output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from handzoo.errors import SubmissionError
from handzoo.metrics.errors import point_errors
from handzoo.metrics.fscore import fscore
from handzoo.metrics.pck import summarize_errors
from handzoo.metrics.procrustes import align_w_scale, rigid_align, root_align
from handzoo.protocols._common import all_valid, nan, optional_rows, reorder, rows
from handzoo.protocols._fh_core import FH_FSCORE_THRESHOLDS
from handzoo.protocols._progress import NULL_PROGRESS, ProgressSink
from handzoo.protocols.base import PCKSpec, Protocol, ProtocolResult, curve_dict
from handzoo.protocols.dexycb import read_dexycb_pair
from handzoo.protocols.io import DEXYCB_GT_FILE, read_fh_ground_truth, read_fh_prediction

__all__ = ["HandOccNetDexYCBProtocol", "H2ONetDexYCBProtocol"]


def _per_sample_mean(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Official ``np.sqrt(np.sum((p - g) ** 2, 1)).mean()`` per sample, averaged over samples."""
    return point_errors(pred, gt).mean(-1).mean()


class _MeshPaperProtocol(Protocol):
    dataset = "DexYCB"
    units = "metres in, mm out"
    joint_order = "dexycb"
    frame = "opencv"
    root_joint = 0
    official_size = None

    def _common_notes(self, joints_valid: Any) -> list[str]:
        return [] if all_valid(joints_valid) else [f"{self.title} averages over every joint: joints_valid was ignored"]


class HandOccNetDexYCBProtocol(_MeshPaperProtocol):
    """HandOccNet's DexYCB evaluation (root-relative MPJPE and PA-MPJPE, no reflections)."""

    name = "dexycb-handoccnet"
    title = "DexYCB (HandOccNet protocol)"
    reference = "github.com/namepllet/HandOccNet@65ba997 data/DEX_YCB/DEX_YCB.py evaluate + common/utils/transforms.py rigid_align"
    alignments = ("root (prediction moved to the GT root)", "rigid (Umeyama with reflection fix)")
    reflection = "not allowed (det(R) < 0 fixed by negating the last singular vector)"
    submission = "results .txt as the DexYCB toolkit: image_id + 21 x (x, y, z) in mm, true camera frame"
    ground_truth = f"{DEXYCB_GT_FILE} in --gt-dir (image_id + 63 numbers, mm), e.g. from DEX_YCB_s0_test_data.json"
    quirks = (
        "prediction centred on its joint 0 and moved to the GT joint 0; MPJPE = mean over samples of the "
        "per-sample mean over 21 joints (mm; metres multiplied by 1000 after alignment)",
        "PA-MPJPE with rigid_align(pred, gt): H = cov(pred, gt), R = V U^T with the reflection fix, "
        "c = sum(S) / sum(var(pred)) (population variance)",
        "a prediction with all joints at one point lands on the GT centroid (the official code's result "
        "up to rounding; it is NaN only when numpy's mean is exact)",
        "left hands are predicted on mirrored crops and un-mirrored by the evaluation; handzoo rows are "
        "already in the true frame",
        "joints only; no AUC",
    )
    headline = ("MPJPE", "PA-MPJPE")

    def _score_native(self, gt: torch.Tensor, pred: torch.Tensor, notes: list[str]) -> ProtocolResult:
        out = root_align(pred) + gt[:, :1, :]
        aligned = rigid_align(out, gt)
        mpjpe = float(_per_sample_mean(out * 1000.0, gt * 1000.0))
        pa = float(_per_sample_mean(aligned * 1000.0, gt * 1000.0))
        scores = {"mpjpe": mpjpe, "pa_mpjpe": pa}
        metrics = {"MPJPE": mpjpe, "PA-MPJPE": pa}
        units = {"MPJPE": "mm", "PA-MPJPE": "mm"}
        return ProtocolResult(self.name, scores, metrics, units, list(self.headline), {}, int(gt.shape[0]), notes)

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
        **kwargs: Any,
    ) -> ProtocolResult:
        """Score handzoo rows (metres, OpenCV, ``handzoo21``, true frame for left hands)."""
        gj = rows(gt_joints, "gt_joints", 21)
        pj = rows(pred_joints, "pred_joints", 21, gj.shape[0])
        return self._score_native(
            reorder(gj, self.joint_order), reorder(pj, self.joint_order), self._common_notes(joints_valid)
        )

    def score_files(
        self, gt_dir: str | Path, pred_file: str | Path, progress: ProgressSink = NULL_PROGRESS
    ) -> ProtocolResult:
        """Score a toolkit-format results ``.txt`` (mm) against ``gt_dir/joint_3d.txt`` (mm)."""
        progress.task("reading files")
        _, gt, pred, notes = read_dexycb_pair(Path(gt_dir), Path(pred_file))
        return self._score_native(torch.from_numpy(gt) / 1000.0, torch.from_numpy(pred) / 1000.0, notes)


class H2ONetDexYCBProtocol(_MeshPaperProtocol):
    """H2ONet's DexYCB evaluation (root-relative MPJPE/MPVPE, PA with reflections allowed)."""

    name = "dexycb-h2onet"
    title = "DexYCB (H2ONet protocol)"
    reference = (
        "github.com/hxwork/H2ONet_Pytorch data_loader/DEX_YCB_SF.py evaluate + common/utils/transforms.py align_w_scale"
    )
    alignments = ("root", "procrustes")
    reflection = "allowed (FreiHAND align_w_scale, 1e-8 epsilon, in metres)"
    submission = "pred.json = [xyz_list (N x 21 x 3), verts_list (N x V x 3)], metres, true camera frame"
    ground_truth = "evaluation_xyz.json and evaluation_verts.json in --gt-dir (metres, same sample order)"
    quirks = (
        "joints and vertices centred on their own joint 0 (prediction on the predicted root, GT on the GT "
        "root); MPJPE/MPVPE = mean over samples of the per-sample mean (mm, x1000 after alignment)",
        "PA-MPJPE / PA-MPVPE with FreiHAND's align_w_scale on the root-relative sets (reflections allowed)",
        "vertices are compared index-wise, so predicted and GT meshes must share a topology",
        "the official code un-mirrors left-hand joints but not vertices (GT vertices come mirrored too); "
        "in the true frame, as handzoo rows are, the numbers are the same",
        "EXTENSION, not in H2ONet's released evaluate(): its paper also reports PA AUC_J / AUC_V and F@5 / "
        "F@15; handzoo adds them FreiHAND-style (EvalUtil PCK <= on numpy.linspace(0, 50 mm, 100), F-score "
        "strict < on the Procrustes-aligned root-relative vertices) as metrics only, never as scores.txt keys",
    )
    headline = ("PA-MPJPE", "PA-MPVPE", "F@5", "F@15", "MPJPE", "MPVPE")
    pck = PCKSpec(0.0, 0.05, 100, "m")
    fscore_thresholds = FH_FSCORE_THRESHOLDS

    def _score_native(
        self,
        gt: torch.Tensor,
        pred: torch.Tensor,
        gt_verts: torch.Tensor | None,
        pred_verts: torch.Tensor | None,
        notes: list[str],
        progress: ProgressSink = NULL_PROGRESS,
    ) -> ProtocolResult:
        pj = root_align(pred)
        gj = root_align(gt)
        pj_al = align_w_scale(gj, pj)
        scores = {
            "mpjpe": float(_per_sample_mean(pj * 1000.0, gj * 1000.0)),
            "pa_mpjpe": float(_per_sample_mean(pj_al * 1000.0, gj * 1000.0)),
            "mpvpe": nan,
            "pa_mpvpe": nan,
        }
        extra = dict.fromkeys(("PA-AUC-J", "PA-AUC-V", "F@5", "F@15"), nan)
        curves = {}
        joints_al = summarize_errors(point_errors(pj_al, gj), median=False)
        extra["PA-AUC-J"] = joints_al.auc
        curves["joints_pa"] = curve_dict(joints_al.thresholds * 1000.0, joints_al.pck)
        if gt_verts is not None and pred_verts is not None:
            if gt_verts.shape[1] != pred_verts.shape[1]:
                raise SubmissionError(
                    f"predicted meshes have {pred_verts.shape[1]} vertices, the ground truth {gt_verts.shape[1]}",
                    hint="H2ONet's protocol compares vertices index-wise: predict MANO-topology meshes",
                )
            pv = pred_verts - pred[:, :1, :]
            gv = gt_verts - gt[:, :1, :]
            scores["mpvpe"] = float(_per_sample_mean(pv * 1000.0, gv * 1000.0))
            pv_al = align_w_scale(gv, pv)
            scores["pa_mpvpe"] = float(_per_sample_mean(pv_al * 1000.0, gv * 1000.0))
            verts_al = summarize_errors(point_errors(pv_al, gv), median=False)
            extra["PA-AUC-V"] = verts_al.auc
            curves["vertices_pa"] = curve_dict(verts_al.thresholds * 1000.0, verts_al.pck)
            f = fscore(gv, pv_al, self.fscore_thresholds, check=False, progress=progress.task("F-scores", len(gv)))
            extra["F@5"], extra["F@15"] = (float(x) for x in f.mean())
        else:
            notes = notes + ["no vertices given: MPVPE and PA-MPVPE are not computed (NaN)"]
        metrics = {
            "MPJPE": scores["mpjpe"],
            "PA-MPJPE": scores["pa_mpjpe"],
            "MPVPE": scores["mpvpe"],
            "PA-MPVPE": scores["pa_mpvpe"],
            **extra,
        }
        units = {k: ("mm" if "MP" in k else "fraction") for k in metrics}
        return ProtocolResult(self.name, scores, metrics, units, list(self.headline), curves, int(gt.shape[0]), notes)

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
        **kwargs: Any,
    ) -> ProtocolResult:
        """Score handzoo rows (metres, OpenCV, ``handzoo21``, true frame for left hands)."""
        gj = rows(gt_joints, "gt_joints", 21)
        pj = rows(pred_joints, "pred_joints", 21, gj.shape[0])
        gv = optional_rows(gt_verts, "gt_verts", gj.shape[0])
        pv = optional_rows(pred_verts, "pred_verts", gj.shape[0])
        return self._score_native(
            reorder(gj, self.joint_order),
            reorder(pj, self.joint_order),
            gv,
            pv,
            self._common_notes(joints_valid),
            progress,
        )

    def score_files(
        self, gt_dir: str | Path, pred_file: str | Path, progress: ProgressSink = NULL_PROGRESS
    ) -> ProtocolResult:
        """Score ``pred.json`` against ``evaluation_xyz.json`` / ``evaluation_verts.json`` in ``gt_dir``."""
        progress.task("reading files")
        gx, gv = read_fh_ground_truth(Path(gt_dir))
        px, pv = read_fh_prediction(Path(pred_file), len(gx))
        t = torch.from_numpy
        return self._score_native(t(gx), t(px), t(gv), t(pv), [], progress)
