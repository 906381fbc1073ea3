"""The evaluation shared by FreiHAND's and HO-3D's ``eval.py``, batched over the whole set.

Inputs are in the official files' conventions (metres; the dataset's joint order and frame).
Per sample the official loop computes: unaligned joint errors; vertex errors when the first
sample's vertex counts match (``shape_is_mano``); [HO-3D: ``align_sc_tr`` joint errors];
``align_w_scale`` joints; vertices aligned on their own (MANO) or with the joint transform
(``align_by_trafo``); aligned errors; F-scores at 5 and 15 mm of plain and aligned vertices. Then
``EvalUtil.get_measures(0, 0.05, 100)`` per error set. The joints are done here on whole arrays;
the vertices block by block (64 samples per task on the F-score threads: alignment, errors, plain
and aligned F-scores), which gives every sample the whole-array numbers bit for bit while the
temporaries stay small and both cores stay busy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handzoo.protocols._fscore import BLOCK as FSCORE_BLOCK
from handzoo.protocols._fscore import fscore_pool, fscores_from_counts, hit_counts
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
    # non-MANO meshes are aligned with the joints' transform (joints-only submissions: nothing to align)
    trafo = procrustes_trafo(gt_xyz, pred_xyz) if not shape_is_mano and pred_verts.shape[1] else None
    n, ng, nv = gt_verts.shape[0], gt_verts.shape[1], pred_verts.shape[1]
    th = np.asarray(FH_FSCORE_THRESHOLDS)
    # vertex errors stored vertex-major: the summaries sort each vertex's errors along a contiguous axis
    err = np.empty((ng, n)) if shape_is_mano else None
    err_al = np.empty((ng, n)) if shape_is_mano else None
    hits = np.zeros((4, n, th.size), dtype=np.int64)  # GT / predicted hits of the plain and aligned vertices
    advance = progress.task("F-scores", 2 * n)

    def block(s: slice) -> None:
        # one block of samples start to end: temporaries stay small (cache-resident, no page faults of
        # fresh memory) and the threads never wait for each other; per sample the numbers are those
        # of the whole-array functions, bit for bit
        g, p = gt_verts[s], pred_verts[s]
        if shape_is_mano:
            al = align_w_scale(g, p)
            err[:, s], err_al[:, s] = point_errors(p, g).T, point_errors(al, g).T
        elif trafo is not None:
            al = align_by_trafo(p, tuple(x[s] for x in trafo))
        else:
            al = p
        (hits[0, s], hits[1, s]), (hits[2, s], hits[3, s]) = hit_counts(g, [p, al], th)
        advance(2 * (s.stop - s.start))

    with fscore_pool() as pool:
        blocks = [slice(i, min(n, i + FSCORE_BLOCK)) for i in range(0, n, FSCORE_BLOCK)]
        list(map(block, blocks) if pool is None else pool.map(block, blocks))
        if shape_is_mano:
            plain = pool.submit(summary, err.T) if pool is not None else None
            mesh_al = summary(err_al.T)
            mesh = plain.result() if plain is not None else summary(err.T)
        else:
            mesh = mesh_al = None
    f_plain = fscores_from_counts(hits[0], hits[1], ng, nv)[0].mean(0)
    f_al = fscores_from_counts(hits[2], hits[3], ng, nv)[0].mean(0)
    return FHOutputs(xyz, xyz_al, xyz_sc, mesh, mesh_al, f_plain, f_al, shape_is_mano)
