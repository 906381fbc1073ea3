"""FreiHAND (lmb-freiburg/freihand ``eval.py``) and the machinery HO-3D shares with it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from handzoo.protocols._fh_core import FH_FSCORE_THRESHOLDS, FHOutputs, evaluate_fh_style
from handzoo.protocols._np import Summary, background
from handzoo.protocols._progress import NULL_PROGRESS, ProgressSink
from handzoo.protocols.base import PCKSpec, Protocol, ProtocolResult, curve_dict, nan, size_note
from handzoo.protocols.io import read_fh_ground_truth, read_fh_prediction

if TYPE_CHECKING:
    import torch

__all__ = ["FHStyleProtocol", "FreiHANDProtocol"]

_FH_QUIRKS = (
    "Procrustes (align_w_scale) allows reflections: a mirrored prediction scores like the unmirrored one",
    "both centred point sets are divided by their Frobenius norm + 1e-8, so an all-zero or constant "
    "prediction is aligned onto the ground-truth centroid",
    "joint and vertex means are EvalUtil means: mean over keypoints of per-keypoint means; the median is "
    "the mean of per-keypoint medians",
    "PCK counts errors <= t at numpy.linspace(0, 0.05, 100); AUC = mean over keypoints of trapz(PCK_k)/trapz(1)",
    "F-scores use strict < at 5 mm and 15 mm, nearest neighbours both ways, on plain and aligned vertices; "
    "papers quote the aligned ones",
    "the first sample decides shape_is_mano (same vertex count as the ground truth): then vertices are "
    "aligned on their own; otherwise with the joint transform (align_by_trafo, which scales by "
    "scale*|Gc| without dividing by the prediction's norm) and the mesh keys are written as -1 (x100 for "
    "the cm keys: -100), with the official placeholder mesh / mesh_al curves (PCK -1 at 0 and 1 m)",
    "a joints-only pred.json (empty vertex lists) crashes the official script; handzoo scores its joints, "
    "writes the mesh keys as -1 and F-scores of 0, and says so in a note",
    "*_mean3d keys are in cm, AUC and F-scores are fractions; scores.txt values are printed with %f",
)


class FHStyleProtocol(Protocol):
    """Common implementation of the FreiHAND-derived protocols (FreiHAND, HO-3D v2/v3)."""

    units = "metres in; *_mean3d in cm, AUC and F-scores as fractions in scores.txt; metrics in mm"
    alignments = ("none", "procrustes")
    reflection = "allowed (scipy orthogonal_procrustes without a determinant fix)"
    pck = PCKSpec(0.0, 0.05, 100, "m")
    fscore_thresholds = FH_FSCORE_THRESHOLDS
    submission = "pred.json = [xyz_list (N x 21 x 3), verts_list (N x V x 3)], metres"
    ground_truth = "evaluation_xyz.json and evaluation_verts.json"
    quirks = _FH_QUIRKS
    headline = ("PA-MPJPE", "PA-MPVPE", "F@5", "F@15")
    scale_translation = False

    # -- conventions -----------------------------------------------------------------------
    def to_native(self, points: torch.Tensor, joints: bool) -> torch.Tensor:
        """handzoo (OpenCV, handzoo21) -> the official files' frame and order."""
        from handzoo.protocols._common import reorder

        return reorder(points, self.joint_order) if joints else points

    def _keys(self) -> dict[str, str]:
        return {"xyz": "xyz", "xyz_al": "xyz_al"}

    # -- scoring -----------------------------------------------------------------------------
    def _score_native(
        self,
        gt_xyz: np.ndarray,
        pred_xyz: np.ndarray,
        gt_verts: np.ndarray | None,
        pred_verts: np.ndarray | None,
        notes: list[str],
        progress: ProgressSink,
    ) -> ProtocolResult:
        out = evaluate_fh_style(gt_xyz, pred_xyz, gt_verts, pred_verts, self.scale_translation, progress)
        notes = notes + size_note(int(gt_xyz.shape[0]), self.official_size, self.dataset)
        if gt_verts is None or pred_verts is None:
            notes.append("no vertices given: mesh errors and F-scores are not computed (NaN)")
        elif pred_verts.shape[1] == 0:
            notes.append(
                "joints-only submission (empty vertex lists): the official eval.py crashes on it; handzoo "
                "scores the joints, writes the mesh keys as -1 and F-scores of 0"
            )
        elif not out.shape_is_mano:
            notes.append(
                f"predicted meshes have {pred_verts.shape[1]} vertices, the ground truth {gt_verts.shape[1]}: "
                "no vertex errors (official -1), F-scores with the joint transform"
            )
        return self._result(out, int(gt_xyz.shape[0]), notes)

    def _result(self, out: FHOutputs, n: int, notes: list[str]) -> ProtocolResult:
        k = self._keys()
        scores: dict[str, float] = {}
        metrics: dict[str, float] = {}
        curves: dict[str, dict[str, list[float]]] = {}

        def put(prefix: str, s: Summary | None, none_value: float) -> None:
            if s is None:
                scores[f"{prefix}_mean3d"] = none_value * 100
                scores[f"{prefix}_auc3d"] = none_value
            else:
                scores[f"{prefix}_mean3d"] = s.mean * 100
                scores[f"{prefix}_auc3d"] = s.auc
                curves[prefix] = curve_dict(s.thresholds * 1000.0, s.pck)

        put("xyz", out.xyz, nan)
        put(k["xyz_al"], out.xyz_al, nan)
        if self.scale_translation:
            put("xyz_scale_trans_al", out.xyz_sc_tr, nan)
        has_verts = out.f_plain is not None
        missing_mesh = -1.0 if has_verts else nan  # official -1 when not shape_is_mano
        put("mesh", out.mesh, missing_mesh)
        put("mesh_al", out.mesh_al, missing_mesh)
        if has_verts and not out.shape_is_mano:
            # the official pck_data.json placeholders: PCK [-1, -1] at thresholds [0, 1] m
            for name in ("mesh", "mesh_al"):
                curves[name] = {"thresholds_mm": [0.0, 1000.0], "values": [-1.0, -1.0]}
        for i, t in enumerate(self.fscore_thresholds):
            mm = round(t * 1000)
            scores[f"f_score_{mm}"] = float(out.f_plain[i]) if out.f_plain is not None else nan
            scores[f"f_al_score_{mm}"] = float(out.f_aligned[i]) if out.f_aligned is not None else nan

        def mm(s: Summary | None) -> float:
            return s.mean * 1000.0 if s is not None else nan

        def auc(s: Summary | None) -> float:
            return s.auc if s is not None else nan

        metrics["MPJPE"] = mm(out.xyz)
        metrics["PA-MPJPE"] = mm(out.xyz_al)
        metrics["MPVPE"] = mm(out.mesh)
        metrics["PA-MPVPE"] = mm(out.mesh_al)
        if self.scale_translation:
            metrics["ST-MPJPE"] = mm(out.xyz_sc_tr)
        metrics["AUC-J"] = auc(out.xyz)
        metrics["PA-AUC-J"] = auc(out.xyz_al)
        metrics["AUC-V"] = auc(out.mesh)
        metrics["PA-AUC-V"] = auc(out.mesh_al)
        if self.scale_translation:
            metrics["ST-AUC-J"] = auc(out.xyz_sc_tr)
        for t in self.fscore_thresholds:
            mmv = round(t * 1000)
            metrics[f"F@{mmv}"] = scores[f"f_al_score_{mmv}"]
            metrics[f"F@{mmv}-unaligned"] = scores[f"f_score_{mmv}"]
        units = {m: ("mm" if "MP" in m else "fraction") for m in metrics}
        return ProtocolResult(self.name, scores, metrics, units, list(self.headline), curves, n, notes)

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
        """Score handzoo rows (metres, OpenCV, ``handzoo21``); vertices optional.

        Every joint counts, as in the official script (a ``joints_valid`` with False entries is
        ignored and noted).
        """
        from handzoo.protocols._common import all_valid, optional_rows, rows

        def native(x: torch.Tensor, joints: bool) -> np.ndarray:
            return self.to_native(x, joints).detach().cpu().numpy()

        gj = rows(gt_joints, "gt_joints", 21)
        pj = rows(pred_joints, "pred_joints", 21, gj.shape[0])
        gv = optional_rows(gt_verts, "gt_verts", gj.shape[0])
        pv = optional_rows(pred_verts, "pred_verts", gj.shape[0])
        notes = [] if all_valid(joints_valid) else [f"{self.title} scores every joint: joints_valid was ignored"]
        return self._score_native(
            native(gj, True),
            native(pj, True),
            None if gv is None else native(gv, False),
            None if pv is None else native(pv, False),
            notes,
            progress,
        )

    def score_files(
        self, gt_dir: str | Path, pred_file: str | Path, progress: ProgressSink = NULL_PROGRESS
    ) -> ProtocolResult:
        """Score ``pred.json`` against ``evaluation_xyz.json`` / ``evaluation_verts.json`` in ``gt_dir``."""
        progress.task("reading ground truth and predictions")
        # the ground truth (files or cache) is read on a second thread while pred.json is parsed
        gt = background(lambda: read_fh_ground_truth(Path(gt_dir)))
        try:
            px, pv = read_fh_prediction(Path(pred_file), lambda: len(gt()[0]))
        except Exception:
            gt()  # a ground-truth error is reported first, as when the files are read one after the other
            raise
        gx, gv = gt()
        return self._score_native(gx, px, gv, pv, [], progress)


class FreiHANDProtocol(FHStyleProtocol):
    """FreiHAND evaluation set, scored as ``lmb-freiburg/freihand`` ``eval.py``."""

    name = "freihand"
    title = "FreiHAND"
    dataset = "FreiHAND"
    reference = "github.com/lmb-freiburg/freihand@5ea4ab9 eval.py + utils/eval_util.py"
    joint_order = "freihand"
    frame = "opencv"
    root_joint = 0
    official_size = 3960
    ground_truth = "evaluation_xyz.json and evaluation_verts.json in --gt-dir (or --gt-dir/ref), metres"
