"""The evaluation shared by FreiHAND's and HO-3D's ``eval.py``, batched over the whole set.

Inputs are in the official files' conventions (metres; the dataset's joint order and frame).
Per sample the official loop computes: unaligned joint errors; vertex errors when the first
sample's vertex counts match (``shape_is_mano``); [HO-3D: ``align_sc_tr`` joint errors];
``align_w_scale`` joints; vertices aligned on their own (MANO) or with the joint transform
(``align_by_trafo``); aligned errors; F-scores at 5 and 15 mm of plain and aligned vertices. Then
``EvalUtil.get_measures(0, 0.05, 100)`` per error set. All of it is done here on whole arrays.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from handzoo.protocols._fscore import fscores_many
from handzoo.protocols._np import (
    Summary,
    align_by_trafo,
    align_scale_translation,
    align_w_scale,
    point_errors,
    procrustes_trafo,
    summarize,
)
from handzoo.protocols._progress import NULL_PROGRESS, ProgressSink

__all__ = ["FH_FSCORE_THRESHOLDS", "FHOutputs", "evaluate_fh_style"]

FH_FSCORE_THRESHOLDS = (0.005, 0.015)


@dataclass
class FHOutputs:
    """Everything the official loop accumulates (None where it does not compute it)."""

    xyz: Summary
    xyz_al: Summary
    xyz_sc_tr: Summary | None
    mesh: Summary | None
    mesh_al: Summary | None
    f_plain: np.ndarray | None  # (T,) mean over samples
    f_aligned: np.ndarray | None
    shape_is_mano: bool


def evaluate_fh_style(
    gt_xyz: np.ndarray,
    pred_xyz: np.ndarray,
    gt_verts: np.ndarray | None,
    pred_verts: np.ndarray | None,
    scale_translation: bool = False,
    progress: ProgressSink = NULL_PROGRESS,
) -> FHOutputs:
    """Run the FreiHAND (``scale_translation=False``) or HO-3D (True) evaluation on float64 arrays.

    numpy only (no torch import), as the official scripts.

    Args:
        gt_xyz: (N, 21, 3) ground-truth joints.
        pred_xyz: (N, 21, 3) predicted joints.
        gt_verts: (N, V, 3) ground-truth vertices, or None to skip mesh errors and F-scores.
        pred_verts: (N, V', 3) predicted vertices, or None likewise.
        scale_translation: also compute HO-3D's ``align_sc_tr`` joint errors.
        progress: progress sink (the F-scores are the long part).
    """

    def summary(err: np.ndarray) -> Summary:
        # EvalUtil.get_measures(0.0, 0.05, 100); the official script discards the medians
        return summarize(err, 0.0, 0.05, 100)

    xyz = summary(point_errors(pred_xyz, gt_xyz))
    xyz_sc = summary(point_errors(align_scale_translation(gt_xyz, pred_xyz), gt_xyz)) if scale_translation else None
    xyz_al = summary(point_errors(align_w_scale(gt_xyz, pred_xyz), gt_xyz))
    if gt_verts is None or pred_verts is None:
        return FHOutputs(xyz, xyz_al, xyz_sc, None, None, None, None, False)

    shape_is_mano = pred_verts.shape[1] == gt_verts.shape[1]
    if shape_is_mano:
        # the plain vertex errors beside the vertex alignment (numpy releases the GIL in both)
        with ThreadPoolExecutor(1) as pool:
            plain = pool.submit(lambda: summary(point_errors(pred_verts, gt_verts)))
            verts_al = align_w_scale(gt_verts, pred_verts)
            mesh_al = summary(point_errors(verts_al, gt_verts))
            mesh = plain.result()
    else:
        mesh = mesh_al = None
        # joints-only submissions (no vertices) have nothing to align
        verts_al = align_by_trafo(pred_verts, procrustes_trafo(gt_xyz, pred_xyz)) if pred_verts.shape[1] else pred_verts

    n = gt_verts.shape[0]
    advance = progress.task("F-scores", 2 * n)
    (f_plain, _, _), (f_al, _, _) = fscores_many(gt_verts, [pred_verts, verts_al], FH_FSCORE_THRESHOLDS, advance)
    f_plain, f_al = f_plain.mean(0), f_al.mean(0)
    return FHOutputs(xyz, xyz_al, xyz_sc, mesh, mesh_al, f_plain, f_al, shape_is_mano)
