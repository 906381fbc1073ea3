"""DexYCB as the mesh papers score it: HandOccNet's protocol and H2ONet's variant of it.

Both use HandOccNet's preprocessed s0 split (``DEX_YCB_s0_test_data.json``, joints in metres) and
score *root-relative* predictions: the prediction is centred on its own root (joint 0), and the
per-sample mean error over the 21 joints (and vertices) is averaged over samples, in mm.

* ``dexycb-handoccnet`` (namepllet/HandOccNet ``DEX_YCB.evaluate``): MPJPE of the prediction
  moved to the GT root, PA-MPJPE with HandOccNet's ``rigid_align`` (Umeyama *with* the reflection
  fix). Joints only.
* ``dexycb-h2onet`` (hxwork/H2ONet_Pytorch ``DEX_YCB_SF/MF.evaluate``): the same root-relative
  MPJPE, but PA with FreiHAND's ``align_w_scale`` (reflections allowed, 1e-8 epsilon), plus MPVPE
  and PA-MPVPE, and the official ``score`` = PA-MPJPE + PA-MPVPE (its model-selection key). The PA
  AUCs and aligned F@5/F@15 its paper also reports are not in the released code; handzoo adds them
  FreiHAND-style as metrics.

Which ground truth H2ONet's protocol needs: the annotated joints (``evaluation_xyz.json``), the
GT MANO mesh (``evaluation_verts.json``) and the root the official code centres that mesh on,
which is joint 0 of the *MANO layer's* joints of the GT fit (not the annotated wrist). Give it as
``evaluation_verts_root.json`` ((N, 3), or the (N, 21, 3) MANO-layer joints, metres) or as
``gt_verts_root=`` to :meth:`H2ONetDexYCBProtocol.evaluate`. It is checked (shape, finite, within
5 cm of the annotated wrist). Without it the GT mesh is centred on the annotated wrist and a note
says that MPVPE / PA-MPVPE / ``score`` then differ from the official ones by that root offset.

Left hands: both codes run the network on a mirrored crop and un-mirror the joints (x -> -x) after
root-centring. handzoo predictions are already in the true camera frame, so no flip is applied
here; the numbers are those of the official code fed with the network's mirrored output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from handzoo.errors import AnnotationError, InputError, SubmissionError
from handzoo.protocols import _np
from handzoo.protocols._progress import NULL_PROGRESS, ProgressSink
from handzoo.protocols.base import PCKSpec, Protocol, ProtocolResult, curve_dict
from handzoo.protocols.dexycb import read_dexycb_pair
from handzoo.protocols.io import DEXYCB_GT_FILE, read_fh_ground_truth, read_fh_prediction, read_number_array

# torch is imported only by the tensor API (evaluate() on handzoo rows): scoring files is numpy-only.
FH_FSCORE_THRESHOLDS = (0.005, 0.015)  # as handzoo.protocols._fh_core
nan = float("nan")
H2ONET_VERTS_ROOT_FILE = "evaluation_verts_root.json"
_ROOT_CHECK_M = 0.05  # a MANO-layer root farther than this from the annotated wrist: wrong file

__all__ = ["HandOccNetDexYCBProtocol", "H2ONetDexYCBProtocol", "H2ONET_VERTS_ROOT_FILE", "verts_root"]


def verts_root(root: Any, gt_joints: Any, what: str, err: type[Exception] = InputError) -> np.ndarray:
    """Check the GT mesh root of H2ONet's protocol and return it as (N, 1, 3) float64.

    Args:
        root: (N, 3) roots or (N, J, 3) MANO-layer joints (joint 0 is the root), metres.
        gt_joints: (N, 21, 3) annotated joints (DexYCB order, joint 0 = wrist), metres.
        what: name used in error messages.
        err: error class to raise.

    Raises:
        ``err``: wrong shape, non-finite values, or a root more than 5 cm from the annotated wrist
        (another sample order, millimetres, or another frame).
    """
    try:
        r = np.asarray(root, dtype=np.float64)
    except (TypeError, ValueError):
        raise err(
            f"{what} is not a numeric array", hint="(N, 3) roots or (N, 21, 3) MANO-layer joints, metres"
        ) from None
    g = _numpy(gt_joints)
    n = g.shape[0]
    if r.ndim == 3 and r.shape[0] == n and r.shape[2] == 3 and r.shape[1] >= 1:
        r = r[:, 0]
    if tuple(r.shape) != (n, 3):
        raise err(f"{what} has shape {tuple(r.shape)}, expected ({n}, 3) or ({n}, J, 3)")
    if not np.isfinite(r).all():
        raise err(f"{what} contains NaN or inf")
    off = np.linalg.norm(r - g[:, 0], axis=-1)
    if bool((off > _ROOT_CHECK_M).any()):
        i = int(np.argmax(off))
        raise err(
            f"{what}: sample {i}'s root is {float(off[i]) * 1000:.1f} mm from the annotated wrist",
            hint="give joint 0 of the MANO layer's joints of the GT fit, in metres, camera frame, sample order",
        )
    return r[:, None, :]


def _numpy(x: Any) -> np.ndarray:
    """A float64 numpy array of a tensor or array (tensors leave their device)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


class _MeshPaperProtocol(Protocol):
    dataset = "DexYCB"
    units = "metres in, mm out"
    joint_order = "dexycb"
    frame = "opencv"
    root_joint = 0
    official_size = None

    def _common_notes(self, joints_valid: Any) -> list[str]:
        from handzoo.protocols._common import all_valid

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

    def _score_native(
        self, gt: np.ndarray, pred: np.ndarray, notes: list[str], divide: float | None = None
    ) -> ProtocolResult:
        """HandOccNet's evaluation on (N, 21, 3) float64 arrays (numpy only).

        Args:
            gt: ground-truth joints, metres (or millimetres with ``divide=1000``).
            pred: predicted joints, same unit.
            notes: notes so far.
            divide: the official ``/ 1000`` from the files' millimetres to metres, applied per block.
        """

        def block(s: slice) -> tuple[np.ndarray, np.ndarray]:
            g, p = gt[s], pred[s]
            if divide is not None:
                g, p = g / divide, p / divide
            out = _np.root_align(p)
            out += g[:, :1, :]
            aligned = _np.rigid_align(out, g)
            g_mm = g * 1000.0
            return _np.mean_point_errors_mm(out, g_mm), _np.mean_point_errors_mm(aligned, g_mm)

        parts = _np.map_blocks(block, int(gt.shape[0]), int(gt.shape[1]))
        mpjpe = float(np.concatenate([e for e, _ in parts]).mean())
        pa = float(np.concatenate([e for _, e in parts]).mean())
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
        from handzoo.protocols._common import reorder, rows

        gj = rows(gt_joints, "gt_joints", 21)
        pj = rows(pred_joints, "pred_joints", 21, gj.shape[0])
        g, p = (reorder(x, self.joint_order).cpu().numpy() for x in (gj, pj))
        return self._score_native(g, p, self._common_notes(joints_valid))

    def score_files(
        self, gt_dir: str | Path, pred_file: str | Path, progress: ProgressSink = NULL_PROGRESS
    ) -> ProtocolResult:
        """Score a toolkit-format results ``.txt`` (mm) against ``gt_dir/joint_3d.txt`` (mm)."""
        progress.task("reading files")
        _, gt, pred, notes = read_dexycb_pair(Path(gt_dir), Path(pred_file))
        return self._score_native(gt, pred, notes, divide=1000.0)


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
    ground_truth = (
        "evaluation_xyz.json (annotated joints), evaluation_verts.json (GT MANO mesh) and "
        f"{H2ONET_VERTS_ROOT_FILE} (joint 0 of the MANO layer's GT joints, (N, 3)) in --gt-dir; metres, same sample order"
    )
    quirks = (
        "joints and vertices centred on their own joint 0 (prediction on the predicted root, GT on the GT "
        "root); MPJPE/MPVPE = mean over samples of the per-sample mean (mm, x1000 after alignment)",
        "PA-MPJPE / PA-MPVPE with FreiHAND's align_w_scale on the root-relative sets (reflections allowed)",
        "vertices are compared index-wise, so predicted and GT meshes must share a topology",
        "GT vertices are centred on joint 0 of the MANO layer's joints of the GT fit (evaluation_verts_root.json "
        "/ gt_verts_root); without it, on the annotated wrist (noted: MPVPE, PA-MPVPE and score then differ)",
        "score = PA-MPJPE + PA-MPVPE (mm), the official model-selection key",
        "the official code un-mirrors left-hand joints but not vertices (GT vertices come mirrored too); "
        "in the true frame, as handzoo rows are, the numbers are the same",
        "EXTENSION, not in H2ONet's released evaluate(): its paper also reports PA AUC_J / AUC_V and F@5 / "
        "F@15; handzoo adds them FreiHAND-style (EvalUtil PCK <= on numpy.linspace(0, 50 mm, 100), F-score "
        "strict < on the Procrustes-aligned root-relative vertices) as metrics only, never as scores.txt keys; "
        "evaluate() computes them, score_files() (handzoo-bench score) only with paper_metrics=True "
        "(--paper-metrics): by default it computes the official key set alone",
    )
    headline = ("PA-MPJPE", "PA-MPVPE", "F@5", "F@15", "MPJPE", "MPVPE")
    pck = PCKSpec(0.0, 0.05, 100, "m")
    fscore_thresholds = FH_FSCORE_THRESHOLDS

    def _score_native(
        self,
        gt: np.ndarray,
        pred: np.ndarray,
        gt_verts: np.ndarray | None,
        pred_verts: np.ndarray | None,
        notes: list[str],
        progress: ProgressSink = NULL_PROGRESS,
        gt_root: np.ndarray | None = None,
        paper_metrics: bool = True,
    ) -> ProtocolResult:
        from handzoo.protocols._np import align_w_scale, map_blocks, mean_point_errors_mm, point_errors, root_align

        def summarize_errors(err: np.ndarray) -> _np.Summary:
            return _np.summarize(err, 0.0, 0.05, 100)

        with_verts = gt_verts is not None and pred_verts is not None
        if with_verts:
            assert gt_verts is not None and pred_verts is not None
            if gt_verts.shape[1] != pred_verts.shape[1]:
                raise SubmissionError(
                    f"predicted meshes have {pred_verts.shape[1]} vertices, the ground truth {gt_verts.shape[1]}",
                    hint="H2ONet's protocol compares vertices index-wise: predict MANO-topology meshes",
                )

        def block(s: slice) -> dict[str, np.ndarray]:
            """Per-sample errors of samples ``s`` (and, for the paper metrics, the aligned point errors)."""
            p, g = pred[s], gt[s]
            pj = root_align(p)
            gj = root_align(g)
            pj_al = align_w_scale(gj, pj)
            gj_mm = gj * 1000.0
            out = {"mpjpe": mean_point_errors_mm(pj, gj_mm), "pa_mpjpe": mean_point_errors_mm(pj_al, gj_mm)}
            if paper_metrics:
                out["joints_al"] = point_errors(pj_al, gj)
            if with_verts:
                assert gt_verts is not None and pred_verts is not None
                pv = pred_verts[s] - p[:, :1, :]
                gv = gt_verts[s] - (g[:, :1, :] if gt_root is None else gt_root[s])
                gv_mm = gv * 1000.0
                out["mpvpe"] = mean_point_errors_mm(pv, gv_mm)
                pv_al = align_w_scale(gv, pv)
                out["pa_mpvpe"] = mean_point_errors_mm(pv_al, gv_mm)
                if paper_metrics:
                    out["verts_al"] = point_errors(pv_al, gv)
                    out["gv"], out["pv_al"] = gv, pv_al
            return out

        n_points = int(pred.shape[1]) + (int(pred_verts.shape[1]) if with_verts and pred_verts is not None else 0)
        parts = map_blocks(block, int(gt.shape[0]), n_points)

        def joined(key: str) -> np.ndarray:
            return np.concatenate([part[key] for part in parts])

        scores = {
            "mpjpe": float(joined("mpjpe").mean()),
            "pa_mpjpe": float(joined("pa_mpjpe").mean()),
            "mpvpe": nan,
            "pa_mpvpe": nan,
            "score": nan,
        }
        extra = dict.fromkeys(("PA-AUC-J", "PA-AUC-V", "F@5", "F@15"), nan)
        curves = {}
        if paper_metrics:
            joints_al = summarize_errors(joined("joints_al"))
            extra["PA-AUC-J"] = joints_al.auc
            curves["joints_pa"] = curve_dict(joints_al.thresholds * 1000.0, joints_al.pck)
        else:
            notes = notes + [
                "paper-only metrics (PA-AUC-J, PA-AUC-V, F@5, F@15) not computed: the official evaluate() has "
                "none of them (ask with --paper-metrics / paper_metrics=True)"
            ]
        if with_verts:
            if gt_root is None:
                notes = notes + [
                    "GT vertices centred on the annotated wrist: the official code centres them on joint 0 of "
                    "the MANO layer's GT joints (give evaluation_verts_root.json / gt_verts_root for equal "
                    "MPVPE, PA-MPVPE and score)"
                ]
            scores["mpvpe"] = float(joined("mpvpe").mean())
            scores["pa_mpvpe"] = float(joined("pa_mpvpe").mean())
            scores["score"] = scores["pa_mpjpe"] + scores["pa_mpvpe"]
            if paper_metrics:
                from handzoo.protocols._fscore import fscores

                verts_al = summarize_errors(joined("verts_al"))
                extra["PA-AUC-V"] = verts_al.auc
                curves["vertices_pa"] = curve_dict(verts_al.thresholds * 1000.0, verts_al.pck)
                gv_all, pv_al_all = joined("gv"), joined("pv_al")
                f = fscores(gv_all, pv_al_all, self.fscore_thresholds, progress.task("F-scores", len(gv_all)))[0]
                extra["F@5"], extra["F@15"] = (float(x) for x in f.mean(0))
        else:
            notes = notes + ["no vertices given: MPVPE and PA-MPVPE are not computed (NaN)"]
        metrics = {
            "MPJPE": scores["mpjpe"],
            "PA-MPJPE": scores["pa_mpjpe"],
            "MPVPE": scores["mpvpe"],
            "PA-MPVPE": scores["pa_mpvpe"],
            "PA-MPJPE+PA-MPVPE": scores["score"],
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
        """Score handzoo rows (metres, OpenCV, ``handzoo21``, true frame for left hands).

        Extra keyword arguments:
            gt_verts_root: (N, 3) joint 0 of the MANO layer's joints of the GT fit (or those
                (N, J, 3) joints), metres: the point the official code centres GT vertices on.
        """
        from handzoo.protocols._common import optional_rows, reorder, rows

        gj = rows(gt_joints, "gt_joints", 21)
        pj = rows(pred_joints, "pred_joints", 21, gj.shape[0])
        gv = optional_rows(gt_verts, "gt_verts", gj.shape[0])
        pv = optional_rows(pred_verts, "pred_verts", gj.shape[0])
        gjn = _numpy(reorder(gj, self.joint_order))
        root = kwargs.get("gt_verts_root")
        return self._score_native(
            gjn,
            _numpy(reorder(pj, self.joint_order)),
            None if gv is None else _numpy(gv),
            None if pv is None else _numpy(pv),
            self._common_notes(joints_valid),
            progress,
            None if root is None else verts_root(root, gjn, "gt_verts_root"),
        )

    def score_files(
        self,
        gt_dir: str | Path,
        pred_file: str | Path,
        progress: ProgressSink = NULL_PROGRESS,
        paper_metrics: bool = False,
    ) -> ProtocolResult:
        """Score ``pred.json`` against ``evaluation_xyz.json`` / ``evaluation_verts.json`` (and, when
        present, ``evaluation_verts_root.json``) in ``gt_dir``.

        Args:
            gt_dir: the ground-truth folder.
            pred_file: the submission (or a folder holding ``pred.json``).
            progress: progress sink.
            paper_metrics: also compute the paper-only metrics (PA-AUC-J/V, F@5/F@15); the
                official evaluate() computes none of them, so by default they are NaN.
        """
        progress.task("reading files")

        def read_gt() -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
            gx, gv = read_fh_ground_truth(Path(gt_dir))
            root_file = Path(gt_dir) / H2ONET_VERTS_ROOT_FILE
            root = None
            if root_file.is_file():
                roots = read_number_array(root_file, "GT mesh roots", AnnotationError)
                root = verts_root(roots, gx, root_file.name, AnnotationError)
            return gx, gv, root

        gt = _np.background(read_gt)  # the ground truth is read on a second thread while pred.json is parsed
        try:
            px, pv = read_fh_prediction(Path(pred_file), lambda: len(gt()[0]))
        except Exception:
            gt()  # a ground-truth error is reported first, as when the files are read one after the other
            raise
        gx, gv, root = gt()
        return self._score_native(gx, px, gv, pv, [], progress, root, paper_metrics)
