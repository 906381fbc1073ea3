"""DexYCB hand pose estimation, as the NVlabs toolkit (``dex_ycb_toolkit/hpe_eval.py``) scores it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from handzoo.errors import SubmissionError
from handzoo.protocols._np import align_w_scale, point_errors, root_align, summarize
from handzoo.protocols._progress import NULL_PROGRESS, ProgressSink
from handzoo.protocols.base import PCKSpec, Protocol, ProtocolResult, curve_dict
from handzoo.protocols.io import DEXYCB_GT_FILE, read_joint_txt

__all__ = ["DexYCBToolkitProtocol", "read_dexycb_pair"]

_ALIGNMENTS = (
    ("absolute", "absolute", ""),
    ("root-relative", "root_relative", "RR-"),
    ("procrustes", "procrustes", "PA-"),
)


def read_dexycb_pair(gt_dir: Path, pred_file: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Read ground truth (``gt_dir/joint_3d.txt``) and a toolkit results file, matched by image id.

    Returns:
        ``(ids (N,), gt (N, 21, 3), pred (N, 21, 3), notes)``, mm, in ground-truth order.

    Raises:
        SubmissionError: malformed results or ground-truth ids missing from them.
    """
    from handzoo.errors import DatasetNotFoundError

    if not gt_dir.is_dir():
        raise DatasetNotFoundError(f"ground-truth directory not found: {gt_dir}", hint="check --gt-dir")
    from handzoo.protocols._np import background

    gt_read = background(lambda: _read_gt_txt(gt_dir / DEXYCB_GT_FILE))  # beside the results file's parse
    try:
        ids, pred, dup = read_joint_txt(pred_file, "results file")
    except Exception:
        gt_read()  # a ground-truth error is reported first, as when the files are read one after the other
        raise
    gt_ids, gt = gt_read()
    notes = []
    if dup:
        notes.append(
            f"{dup} image ids appear more than once in the results; the last line of each was used (as the toolkit)"
        )
    if len(ids) == len(gt_ids) and np.array_equal(ids, gt_ids):
        return gt_ids, gt, pred, notes  # already in ground-truth order: no matching, no copy
    # ids are unique (read_joint_txt keeps the last line of a repeated id): match by binary search
    order = np.argsort(ids, kind="stable")
    pos = np.minimum(np.searchsorted(ids[order], gt_ids), len(ids) - 1)
    found = ids[order][pos] == gt_ids
    if not found.all():
        missing = gt_ids[~found]
        raise SubmissionError(
            f"results file lacks {len(missing)} of the {len(gt_ids)} ground-truth image ids "
            f"(first: {[int(i) for i in missing[:5]]})",
            hint="write one line per evaluated image: image_id, then 21 x (x, y, z) in mm",
        )
    extra = len(ids) - len(gt_ids)
    if extra > 0:
        notes.append(f"{extra} result lines have no ground truth and were ignored (as the toolkit)")
    return gt_ids, gt, pred[order[pos]], notes


class _NotCacheable(Exception):
    """Image ids that a float64 array cannot hold exactly (beyond 2^53)."""


def _read_gt_txt(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, joints)`` of the ground-truth ``joint_3d.txt``, from the ground-truth cache when current."""
    from handzoo.errors import AnnotationError
    from handzoo.protocols._gtcache import cached_array

    def parse() -> np.ndarray:
        ids, joints, _ = read_joint_txt(path, "ground truth", AnnotationError)
        if len(ids) and int(np.abs(ids).max()) >= 2**53:
            raise _NotCacheable
        return np.concatenate([ids.astype(np.float64)[:, None], joints.reshape(len(ids), 63)], 1)

    if not path.is_file():
        return read_joint_txt(path, "ground truth", AnnotationError)[:2]
    try:
        table = cached_array(path, "joint-txt", parse)
    except _NotCacheable:
        return read_joint_txt(path, "ground truth", AnnotationError)[:2]
    if table.ndim != 2 or table.shape[1] != 64:
        return read_joint_txt(path, "ground truth", AnnotationError)[:2]
    return table[:, 0].astype(np.int64), table[:, 1:].reshape(-1, 21, 3)


class DexYCBToolkitProtocol(Protocol):
    """DexYCB 3D hand pose (HPE) benchmark of the NVlabs toolkit."""

    name = "dexycb"
    title = "DexYCB (toolkit)"
    dataset = "DexYCB"
    reference = (
        "github.com/NVlabs/dex-ycb-toolkit@64551b0 dex_ycb_toolkit/hpe_eval.py (EvalUtil/align_w_scale from freihand)"
    )
    units = "mm in and out (the toolkit multiplies the metre labels by 1000); AUC as fraction"
    joint_order = "dexycb"
    frame = "opencv"
    root_joint = 0
    alignments = ("absolute", "root-relative", "procrustes")
    reflection = "allowed (FreiHAND align_w_scale, its 1e-8 epsilon applied in mm)"
    pck = PCKSpec(0.0, 50.0, 100, "mm")
    official_size = None
    submission = "results .txt: one line per image, 64 comma-separated numbers: image_id, 21 x (x, y, z) in mm"
    ground_truth = (
        f"{DEXYCB_GT_FILE} in --gt-dir, same layout as the results (image_id + 63 numbers, mm), one line per "
        "image the toolkit keeps (joint_3d not all -1): the toolkit's anno_hpe_<split>.pkl written as text"
    )
    quirks = (
        "three error sets, each through FreiHAND's EvalUtil: absolute camera-space, root-relative (joint 0 "
        "subtracted from both), Procrustes (align_w_scale: reflections allowed, 1e-8 epsilon in mm)",
        "MPJPE = mean over keypoints of per-keypoint means (mm); AUC on numpy.linspace(0, 50, 100) mm with "
        "<=, per-keypoint trapz normalised then averaged",
        "ground-truth samples whose joints are all -1 are skipped; every remaining id must be in the "
        "results file; extra ids are ignored; a repeated id keeps its last line",
    )
    headline = ("RR-MPJPE", "PA-MPJPE", "MPJPE", "RR-AUC", "PA-AUC", "AUC")

    def _score_native(self, gt: np.ndarray, pred: np.ndarray, notes: list[str]) -> ProtocolResult:
        """The toolkit's evaluation on (N, 21, 3) float64 mm arrays (numpy only: no torch import)."""
        spec = self.pck
        assert spec is not None
        sets = {
            "absolute": (pred, gt),
            "root-relative": (root_align(pred), root_align(gt)),
            "procrustes": (align_w_scale(gt, pred), gt),
        }
        scores: dict[str, float] = {}
        metrics: dict[str, float] = {}
        curves: dict[str, dict[str, list[float]]] = {}
        for label, key, prefix in _ALIGNMENTS:
            p, g = sets[label]
            s = summarize(point_errors(p, g), spec.start, spec.stop, spec.steps)
            scores[f"{key}_mpjpe"] = s.mean
            scores[f"{key}_auc"] = s.auc
            metrics[f"{prefix}MPJPE"] = s.mean
            metrics[f"{prefix}AUC"] = s.auc
            curves[label] = curve_dict(s.thresholds, s.pck)
        units = {m: ("mm" if "MPJPE" in m else "fraction") for m in metrics}
        order = list(self.headline)
        return ProtocolResult(self.name, scores, metrics, units, order, curves, int(gt.shape[0]), notes)

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
        """Score handzoo rows (metres, OpenCV, ``handzoo21``): converted to mm and DexYCB order.

        Every joint counts (the toolkit feeds all-ones visibility); a ``joints_valid`` with False
        entries is ignored and noted.
        """
        from handzoo.protocols._common import all_valid, reorder, rows

        gj = rows(gt_joints, "gt_joints", 21)
        pj = rows(pred_joints, "pred_joints", 21, gj.shape[0])
        notes = [] if all_valid(joints_valid) else ["the toolkit scores every joint: joints_valid was ignored"]
        g, p = (reorder(x, self.joint_order).cpu().numpy() * 1000.0 for x in (gj, pj))
        return self._score_native(g, p, notes)

    def score_files(
        self, gt_dir: str | Path, pred_file: str | Path, progress: ProgressSink = NULL_PROGRESS
    ) -> ProtocolResult:
        """Score a toolkit results ``.txt`` against ``gt_dir/joint_3d.txt``."""
        progress.task("reading files")
        _, gt, pred, notes = read_dexycb_pair(Path(gt_dir), Path(pred_file))
        return self._score_native(gt, pred, notes)
