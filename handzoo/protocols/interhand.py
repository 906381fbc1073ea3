"""InterHand2.6M (facebookresearch/InterHand2.6M ``Dataset.evaluate``, the InterNet baseline).

Layout: 42 joints, right hand 0-20 then left hand 21-41, each tip -> base per finger with the
wrist last (roots 20 and 41); camera coordinates in mm.

* A hand's joints are invalid when its root is (the dataset constructor's rule).
* Each hand is root-aligned on its own wrist (prediction and GT); per-joint errors over valid
  joints are collected separately for single-hand (``right``/``left``) and ``interacting``
  samples. MPJPE single / interacting = mean over the 42 joints of the per-joint means; *all* =
  per-joint means over both groups concatenated, then averaged.
* MRRPE: interacting samples with both roots valid;
  ``|(pred_left_root - pred_right_root) - (gt_left_root - gt_right_root)|``. In InterNet the
  predicted left root is placed with the *right* hand's absolute depth plus the predicted
  relative root depth (:func:`internet_to_camera` reproduces it).
* Handedness: see :mod:`handzoo.metrics.hands` (strict 0.5 thresholds), over samples whose hand
  type is annotated as valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from handzoo.errors import AnnotationError, DatasetNotFoundError, InputError, SubmissionError
from handzoo.geometry.joint_orders import INTERHAND_LEFT_ROOT, INTERHAND_RIGHT_ROOT, order_map
from handzoo.protocols._np import point_errors
from handzoo.protocols._progress import NULL_PROGRESS, ProgressSink
from handzoo.protocols.base import Protocol, ProtocolResult, nan
from handzoo.protocols.io import check_magnitude, not_number, points_array, read_arrays

__all__ = ["InterHandProtocol", "InterNetConfig", "internet_to_camera", "INTERHAND_GT_FILES", "INTERHAND_JOINT_NAMES"]

INTERHAND_GT_FILES = ("interhand_gt.npz", "interhand_gt.json")
_R, _L = INTERHAND_RIGHT_ROOT, INTERHAND_LEFT_ROOT

_HAND_JOINTS = tuple(f"{f}{k}" for f in ("thumb", "index", "middle", "ring", "pinky") for k in (4, 3, 2, 1)) + (
    "wrist",
)
#: the 42 joints of the official layout: right hand 0-20, left hand 21-41 (tip -> base, wrist last)
INTERHAND_JOINT_NAMES = tuple(f"{side}_{j}" for side in ("r", "l") for j in _HAND_JOINTS)


@dataclass(frozen=True)
class InterNetConfig:
    """The InterNet output-space constants of ``main/config.py`` (heatmap and depth bins)."""

    input_img_shape: tuple[int, int] = (256, 256)
    output_hm_shape: tuple[int, int, int] = (64, 64, 64)  # depth, height, width
    bbox_3d_size: float = 400.0
    bbox_3d_size_root: float = 400.0
    output_root_hm_shape: int = 64


_HAND_TYPES = ("right", "left", "interacting")  # as handzoo.metrics.hands.HAND_TYPES


def _hand_type_codes(types: Any) -> np.ndarray:
    """Hand types (``'right'``/``'left'``/``'interacting'`` or 0/1/2) as int64 codes.

    Raises:
        InputError: for an unknown type.
    """
    if hasattr(types, "detach"):
        types = types.detach().cpu().numpy()
    seq = list(np.asarray(types).reshape(-1)) if isinstance(types, np.ndarray) else list(types)
    if seq and isinstance(seq[0], str):
        bad = next((t for t in seq if t not in _HAND_TYPES), None)
        if bad is not None:
            raise InputError(f"unknown hand type {bad!r}", hint=f"use one of {', '.join(_HAND_TYPES)}")
        codes = np.array([_HAND_TYPES.index(str(t)) for t in seq], dtype=np.int64)
    else:
        codes = np.asarray(seq, dtype=np.int64).reshape(-1)
    if codes.size and (int(codes.min()) < 0 or int(codes.max()) > 2):
        raise InputError("hand type codes must be 0 (right), 1 (left) or 2 (interacting)")
    return codes


def _pixel2cam(p: np.ndarray, f: np.ndarray, c: np.ndarray) -> np.ndarray:
    x = (p[..., 0] - c[..., 0, None]) / f[..., 0, None] * p[..., 2]
    y = (p[..., 1] - c[..., 1, None]) / f[..., 1, None] * p[..., 2]
    return np.stack([x, y, p[..., 2]], -1)


def internet_to_camera(
    joint_coord: Any,
    rel_root_depth: Any,
    inv_trans: Any,
    focal: Any,
    princpt: Any,
    abs_depth: Any,
    cfg: InterNetConfig = InterNetConfig(),
) -> tuple[np.ndarray, np.ndarray]:
    """Turn InterNet outputs into camera-space joints (mm), as ``Dataset.evaluate`` does.

    Args:
        joint_coord: (N, 42, 3) heatmap coordinates (x, y in output pixels, z in depth bins).
        rel_root_depth: (N,) predicted left-minus-right root depth, in root-depth bins.
        inv_trans: (N, 2, 3) affine from the network's input crop to the image.
        focal: (N, 2) focal lengths.
        princpt: (N, 2) principal points.
        abs_depth: (N, 2) absolute root depths (right, left) in mm (GT or RootNet).
        cfg: the output-space constants.

    Returns:
        ``(joints (N, 42, 3), rel_root (N, 3))``: joints with each hand at its absolute depth, and
        the predicted left-minus-right root vector used for MRRPE (left root placed with the right
        root's depth plus the relative depth).
    """
    jc = np.asarray(joint_coord, dtype=np.float64)
    t = np.asarray(inv_trans, dtype=np.float64)
    f = np.asarray(focal, dtype=np.float64)
    c = np.asarray(princpt, dtype=np.float64)
    ad = np.asarray(abs_depth, dtype=np.float64)
    rr = np.asarray(rel_root_depth, dtype=np.float64).reshape(-1)
    x = jc[..., 0] / cfg.output_hm_shape[2] * cfg.input_img_shape[1]
    y = jc[..., 1] / cfg.output_hm_shape[1] * cfg.input_img_shape[0]
    u = (t[:, 0, 0, None] * x + t[:, 0, 1, None] * y) + t[:, 0, 2, None]
    v = (t[:, 1, 0, None] * x + t[:, 1, 1, None] * y) + t[:, 1, 2, None]
    z = (jc[..., 2] / cfg.output_hm_shape[0] * 2 - 1) * (cfg.bbox_3d_size / 2)
    img = np.stack([u, v, z], -1)

    rel = (rr / cfg.output_root_hm_shape * 2 - 1) * (cfg.bbox_3d_size_root / 2)
    left = img[:, _L].copy()
    left[:, 2] = left[:, 2] + (ad[:, 0] + rel)
    right = img[:, _R].copy()
    right[:, 2] = right[:, 2] + ad[:, 0]
    rel_root = _pixel2cam(left[:, None], f, c)[:, 0] - _pixel2cam(right[:, None], f, c)[:, 0]

    n = ad.shape[0]
    depth = np.concatenate([np.broadcast_to(ad[:, :1], (n, 21)), np.broadcast_to(ad[:, 1:], (n, 21))], 1)
    img = np.stack([u, v, z + depth], -1)
    return _pixel2cam(img, f, c), rel_root


class InterHandProtocol(Protocol):
    """InterHand2.6M 3D joints: per-hand root-aligned MPJPE (single/interacting/all), MRRPE, handedness."""

    name = "interhand"
    title = "InterHand2.6M"
    dataset = "InterHand2.6M"
    reference = "github.com/facebookresearch/InterHand2.6M@5d0e456 data/InterHand2.6M/dataset.py Dataset.evaluate"
    units = "mm in the files; handzoo rows in metres; all outputs in mm (handedness as a fraction)"
    joint_order = "interhand"
    frame = "opencv"
    root_joint = _R
    alignments = ("root (per hand, on its own wrist)",)
    reflection = "n/a (no Procrustes)"
    submission = (
        ".npz or .json with either 'joint_cam' (N x 42 x 3 camera mm, InterHand order, right then left; "
        "optional 'rel_root' N x 3 for MRRPE and 'hand_prob' N x 2) or InterNet's raw outputs 'joint_coord' "
        "(N x 42 x 3 heatmap space), 'rel_root_depth' (N), 'inv_trans' (N x 2 x 3), 'hand_type' (N x 2)"
    )
    ground_truth = (
        "interhand_gt.npz or interhand_gt.json in --gt-dir: 'joint_cam' (N x 42 x 3 mm), 'joint_valid' "
        "(N x 42), 'hand_type' (N: right/left/interacting or 0/1/2), optional 'hand_type_valid' (N); "
        "for raw InterNet outputs also 'focal', 'princpt' (N x 2) and 'abs_depth' (N x 2, right/left mm)"
    )
    quirks = (
        "joints of a hand whose root is invalid are all invalid",
        "each hand root-aligned on its own wrist; no scale or rotation alignment",
        "MPJPE single/interacting = mean over joints of per-joint means over samples; 'all' = per-joint "
        "means over single and interacting samples together, then averaged",
        "MRRPE only on interacting samples with both roots valid; InterNet places the left root with the "
        "right root's absolute depth plus the predicted relative depth",
        "handedness: correct when (p_right, p_left) match the type with strict 0.5 thresholds",
        "joints without any valid sample in a group are skipped (the official code raises on them)",
        "the official per-joint MPJPE of each group is written as mpjpe_{all,single,interacting}_{r,l}_<joint> "
        "(joint names tip -> base: thumb4 ... pinky1, wrist; NaN for a joint without a valid sample)",
        "InterNet's raw rel_root_depth may be (N,) or its own output shape (N, 1)",
    )
    headline = ("MPJPE", "MPJPE-single", "MPJPE-interacting", "MRRPE")

    # -- the official computation ---------------------------------------------------------
    def _score_native(
        self,
        gt: np.ndarray,
        valid: np.ndarray,
        hand_type: np.ndarray,
        pred: np.ndarray,
        pred_rel_root: np.ndarray | None,
        hand_prob: np.ndarray | None,
        hand_type_valid: np.ndarray | None,
        notes: list[str],
    ) -> ProtocolResult:
        valid = valid.copy()
        valid[:, :21] &= valid[:, _R : _R + 1]
        valid[:, 21:] &= valid[:, _L : _L + 1]
        inter = hand_type == 2
        single = (hand_type == 0) | (hand_type == 1)

        both_roots = inter & valid[:, _R] & valid[:, _L]
        gt_rel = gt[:, _L] - gt[:, _R]
        p_rel = pred_rel_root if pred_rel_root is not None else pred[:, _L] - pred[:, _R]
        if bool(both_roots.any()):
            d = (p_rel - gt_rel)[both_roots]
            sq = d * d
            mrrpe_v = float(np.sqrt((sq[:, 0] + sq[:, 1]) + sq[:, 2]).mean())
        else:
            mrrpe_v = nan

        def rel(x: np.ndarray) -> np.ndarray:
            return np.concatenate([x[:, :21] - x[:, _R : _R + 1], x[:, 21:] - x[:, _L : _L + 1]], 1)

        err = point_errors(rel(pred), rel(gt))  # (N, 42)

        def per_joint(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            m = valid & mask[:, None]
            return np.where(m, err, 0.0).sum(0), m.sum(0).astype(err.dtype)

        s_sum, s_cnt = per_joint(single)
        i_sum, i_cnt = per_joint(inter)
        skipped: list[str] = []

        def group_mean(total: np.ndarray, cnt: np.ndarray, label: str) -> float:
            has = cnt > 0
            if not bool(has.any()):
                return nan
            if not bool(has.all()):
                skipped.append(f"{label}: {int((~has).sum())} joints without a valid sample were skipped")
            return float((total[has] / cnt[has]).mean())

        scores = {
            "mpjpe_all": group_mean(s_sum + i_sum, s_cnt + i_cnt, "all"),
            "mpjpe_single": group_mean(s_sum, s_cnt, "single"),
            "mpjpe_interacting": group_mean(i_sum, i_cnt, "interacting"),
            "mrrpe": mrrpe_v,
            "handedness_accuracy": nan,
        }
        # the official per-joint MPJPE (printed for each group; NaN where a joint has no valid sample,
        # where the official code crashes on an empty list)
        for group, total, cnt in (
            ("all", s_sum + i_sum, s_cnt + i_cnt),
            ("single", s_sum, s_cnt),
            ("interacting", i_sum, i_cnt),
        ):
            per = np.where(cnt > 0, total / np.maximum(cnt, 1), nan)
            for name, v in zip(INTERHAND_JOINT_NAMES, per.tolist()):
                scores[f"mpjpe_{group}_{name}"] = v
        if hand_prob is not None:
            hv = np.ones(hand_type.shape, dtype=bool) if hand_type_valid is None else hand_type_valid
            if bool(hv.any()):
                r, l_ = hand_prob[:, 0], hand_prob[:, 1]
                ok = (
                    ((hand_type == 0) & (r > 0.5) & (l_ < 0.5))
                    | ((hand_type == 1) & (r < 0.5) & (l_ > 0.5))
                    | ((hand_type == 2) & (r > 0.5) & (l_ > 0.5))
                )
                scores["handedness_accuracy"] = float(ok[hv].astype(np.float64).mean())
        else:
            notes = notes + ["no hand-type probabilities given: handedness accuracy is not computed (NaN)"]
        metrics = {
            "MPJPE": scores["mpjpe_all"],
            "MPJPE-single": scores["mpjpe_single"],
            "MPJPE-interacting": scores["mpjpe_interacting"],
            "MRRPE": scores["mrrpe"],
            "Handedness-accuracy": scores["handedness_accuracy"],
        }
        units = {k: ("fraction" if k.startswith("Handedness") else "mm") for k in metrics}
        return ProtocolResult(
            self.name, scores, metrics, units, list(self.headline), {}, int(gt.shape[0]), notes + skipped
        )

    # -- handzoo rows ----------------------------------------------------------------------
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
        """Score handzoo rows: one row per annotated hand (metres, OpenCV, ``handzoo21``).

        Rows are grouped into samples by ``sample_index`` and placed in the 42-joint layout by
        ``side``. A sample's hand type comes from ``meta[i]['hand_type']`` when present, else from
        which hands it has; ``meta[i]['hand_type_valid']`` defaults to True.

        Extra keyword arguments:
            pred_hand_prob: (S, 2) (p_right, p_left) per sample, in ``numpy.unique(sample_index)``
                order; enables handedness accuracy.
            pred_rel_root: (S, 3) predicted left-minus-right root vector in metres, same order;
                default: from the predicted joints.
        """
        from handzoo.protocols._common import reorder, rows

        gj = rows(gt_joints, "gt_joints", 21)
        m = gj.shape[0]
        pj = rows(pred_joints, "pred_joints", 21, m)
        sides = np.zeros(m, dtype=np.int64) if side is None else np.asarray(side).reshape(-1).astype(np.int64)
        sidx = np.arange(m) if sample_index is None else np.asarray(sample_index).reshape(-1).astype(np.int64)
        if len(sides) != m or len(sidx) != m:
            raise InputError(f"side and sample_index must have one entry per row ({m})")
        if ((sides != 0) & (sides != 1)).any():
            raise InputError("side must be 0 (right) or 1 (left)")
        jv = (
            np.ones((m, 21), dtype=bool)
            if joints_valid is None
            else np.asarray(joints_valid, dtype=bool).reshape(m, 21)
        )
        samples, inv = np.unique(sidx, return_inverse=True)
        s = len(samples)
        slot = (inv, sides)
        if len({(int(a), int(b)) for a, b in zip(*slot)}) != m:
            raise InputError("two rows describe the same hand (same sample_index and side)")

        def layout(x: Any) -> np.ndarray:
            out = np.zeros((s, 2, 21, 3), dtype=np.float64)
            out[inv, sides] = reorder(x, self.joint_order).detach().cpu().numpy() * 1000.0
            return out.reshape(s, 42, 3)

        valid = np.zeros((s, 2, 21), dtype=bool)
        idx = list(order_map("handzoo21", self.joint_order))
        valid[inv, sides] = jv[:, idx]
        present = np.zeros((s, 2), dtype=bool)
        present[inv, sides] = True
        types, tvalid = [], []
        for k, i in enumerate(samples):
            mi = (meta or {}).get(int(i), {}) or {}
            t = mi.get("hand_type")
            if t is None:
                t = 2 if present[k].all() else int(np.flatnonzero(present[k])[0])
            types.append(t)
            tvalid.append(bool(mi.get("hand_type_valid", True)))
        hand_type = _hand_type_codes(types)
        prob = kwargs.get("pred_hand_prob")
        rel_root = kwargs.get("pred_rel_root")
        return self._score_native(
            layout(gj),
            valid.reshape(s, 42),
            hand_type,
            layout(pj),
            None if rel_root is None else _floats(rel_root).reshape(s, 3) * 1000.0,
            None if prob is None else _floats(prob).reshape(s, 2),
            np.array(tvalid, dtype=bool),
            [],
        )

    # -- files ---------------------------------------------------------------------------
    def score_files(
        self, gt_dir: str | Path, pred_file: str | Path, progress: ProgressSink = NULL_PROGRESS
    ) -> ProtocolResult:
        """Score an InterHand2.6M prediction file (camera joints or InterNet raw outputs)."""
        progress.task("reading files")
        gdir = Path(gt_dir)
        if not gdir.is_dir():
            raise DatasetNotFoundError(f"ground-truth directory not found: {gdir}", hint="check --gt-dir")
        gfile = next((gdir / n for n in INTERHAND_GT_FILES if (gdir / n).is_file()), None)
        if gfile is None:
            raise DatasetNotFoundError(
                f"no {' or '.join(INTERHAND_GT_FILES)} in {gdir}",
                hint="write the test annotations (joint_cam, joint_valid, hand_type, ...) into that file",
            )
        g = read_arrays(gfile, "ground truth", DatasetNotFoundError)
        for k in ("joint_cam", "joint_valid", "hand_type"):
            if k not in g:
                raise AnnotationError(f"ground truth {gfile.name} lacks '{k}'")
        gt = _points(g["joint_cam"], "ground-truth joint_cam", AnnotationError)
        n = len(gt)
        valid = _array(g["joint_valid"], (n, 42), "ground-truth joint_valid", AnnotationError) > 0
        hand_type = _hand_type_codes(np.asarray(g["hand_type"]).reshape(-1).tolist())
        if hand_type.shape[0] != n:
            raise AnnotationError(f"ground-truth hand_type has {hand_type.shape[0]} entries for {n} samples")
        htv = (
            _array(g["hand_type_valid"], (n,), "ground-truth hand_type_valid", AnnotationError) > 0
            if "hand_type_valid" in g
            else None
        )

        p = read_arrays(Path(pred_file), "prediction file")
        rel_root = None
        if "joint_cam" in p:
            pred = _points(p["joint_cam"], "prediction joint_cam", SubmissionError)
            if len(pred) != n:
                raise SubmissionError(f"prediction has {len(pred)} samples, the ground truth {n}")
            pred_t = pred
            if "rel_root" in p:
                rel_root = _array(p["rel_root"], (n, 3), "prediction rel_root")
        elif "joint_coord" in p:
            for k in ("focal", "princpt", "abs_depth"):
                if k not in g:
                    raise AnnotationError(f"raw InterNet predictions need '{k}' in the ground truth {gfile.name}")
            for k in ("rel_root_depth", "inv_trans"):
                if k not in p:
                    raise SubmissionError(f"raw InterNet predictions need '{k}'")
            pred_t, rel_root = internet_to_camera(
                _array(p["joint_coord"], (n, 42, 3), "prediction joint_coord"),
                _array(p["rel_root_depth"], (n,), "prediction rel_root_depth", also=((n, 1),)).reshape(n),
                _array(p["inv_trans"], (n, 2, 3), "prediction inv_trans"),
                _array(g["focal"], (n, 2), "ground-truth focal", AnnotationError),
                _array(g["princpt"], (n, 2), "ground-truth princpt", AnnotationError),
                _array(g["abs_depth"], (n, 2), "ground-truth abs_depth", AnnotationError),
            )
        else:
            raise SubmissionError(
                "prediction file holds neither 'joint_cam' nor InterNet's 'joint_coord'",
                hint="save camera-space joints in mm as 'joint_cam' (N x 42 x 3)",
            )
        prob_key = "hand_prob" if "hand_prob" in p else ("hand_type" if "hand_type" in p else None)
        prob = None if prob_key is None else _array(p[prob_key], (n, 2), f"prediction {prob_key}")
        return self._score_native(gt, valid, hand_type, pred_t, rel_root, prob, htv, [])


def _points(x: Any, what: str, err: type[Exception]) -> np.ndarray:
    """(N, 42, 3) float64 joints: a numeric array of that shape directly, anything else by ``points_array``."""
    if isinstance(x, np.ndarray) and x.dtype.kind in "fiu" and x.ndim == 3 and x.shape[1:] == (42, 3):
        a = x.astype(np.float64, copy=False)
        bad = ~np.isfinite(a).reshape(len(a), -1).all(1)
        if not bad.any():
            check_magnitude(a, what, err)
            return a
    return points_array(_array(x, None, what, err), what, 42, err)


def _floats(x: Any) -> np.ndarray:
    """A float64 numpy array of a tensor or array-like."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _array(
    x: Any,
    shape: tuple[int, ...] | None,
    what: str,
    err: type[Exception] = SubmissionError,
    also: tuple[tuple[int, ...], ...] = (),
) -> Any:
    """``x`` as a finite float64 array of ``shape`` (or one of ``also``); with ``shape`` None, ``x``
    itself as a list of samples once its leaves are known to be numbers."""
    if not_number(x):
        raise err(f"{what} holds strings, booleans or nulls", hint="store every value as a number")
    if shape is None:  # points_array checks the layout and names the bad sample
        if isinstance(x, np.ndarray) and x.ndim == 0 or isinstance(x, (int, float)):
            raise err(f"{what} is a single number, not a list of samples", hint="store N x 42 x 3 coordinates")
        return list(x) if isinstance(x, np.ndarray) else x
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise err(f"{what} is not a numeric array") from None
    if a.shape != shape and a.shape not in also:
        raise err(f"{what} has shape {a.shape}, expected {shape}")
    if not np.isfinite(a).all():
        raise err(f"{what} contains NaN or inf")
    check_magnitude(a, what, err)
    return a
