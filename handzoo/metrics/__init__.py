"""Batched metrics equal to the official hand-pose evaluation scripts.

Everything is a float64 torch computation over whole evaluation sets at once (no per-sample
Python loop): point errors (MPJPE, MPVPE, PA-*, scale-translation aligned), PCK curves and AUC as
FreiHAND's ``EvalUtil``, F-scores with exact strict-``<`` decisions, MRRPE and handedness accuracy.
Protocol objects (:mod:`handzoo.protocols`) combine them the way each benchmark does.
"""

from __future__ import annotations

from handzoo.metrics.errors import (
    align,
    masked_mean,
    mpjpe,
    mpvpe,
    pa_mpjpe,
    pa_mpvpe,
    point_errors,
    root_relative_mpjpe,
    scale_translation_mpjpe,
)
from handzoo.metrics.fscore import FScoreResult, fscore, nearest_distances
from handzoo.metrics.hands import hand_type_codes, handedness_accuracy, handedness_correct, mrrpe, mrrpe_per_sample
from handzoo.metrics.pck import KeypointErrorSummary, pck_curve, pck_thresholds, summarize_errors, trapz_auc
from handzoo.metrics.procrustes import (
    SimilarityTrafo,
    align_by_trafo,
    align_scale_translation,
    align_w_scale,
    procrustes_trafo,
    rigid_align,
    root_align,
)

__all__ = [
    "align",
    "align_by_trafo",
    "align_scale_translation",
    "align_w_scale",
    "FScoreResult",
    "fscore",
    "hand_type_codes",
    "handedness_accuracy",
    "handedness_correct",
    "KeypointErrorSummary",
    "masked_mean",
    "mpjpe",
    "mpvpe",
    "mrrpe",
    "mrrpe_per_sample",
    "nearest_distances",
    "pa_mpjpe",
    "pa_mpvpe",
    "pck_curve",
    "pck_thresholds",
    "point_errors",
    "procrustes_trafo",
    "rigid_align",
    "root_align",
    "root_relative_mpjpe",
    "scale_translation_mpjpe",
    "SimilarityTrafo",
    "summarize_errors",
    "trapz_auc",
]
