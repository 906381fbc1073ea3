"""3D PCK curves of the 3D-hand paper (Boukhayma et al., CVPR 2019): STB, Dexter+Object, EgoDexter.

The paper reports curves only: the fraction of joints whose 3D error is at most ``t`` for
``t = 0, 1, ..., 50`` mm (the authors' ``PCK/<dataset>/{rgb, rgb+2d, ...}`` files hold one value
per millimetre; the figures show 20-50 mm). handzoo reports that curve and two areas under it:
``AUC_20_50`` (normalised trapezoid over 20-50 mm, the range of the figures and of the usual STB
comparison) and ``AUC_0_50``.

Alignment (a weak-perspective method predicts no absolute position):

* STB (``stb-3dhand``): all 21 joints, prediction translated so its joint 0 coincides with the
  ground truth's (the annotated palm centre stands in joint 0's place). The authors' curve
  starts at exactly 1/21 at 0 mm, which this root alignment reproduces. ``scale=True`` also
  matches the length of the bone 0 -> middle MCP (Zimmermann and Brox's normalisation).
* Dexter+Object (``dexter-object-3dhand``) and EgoDexter (``egodexter-3dhand``) annotate the five
  fingertips only: the predicted fingertips are translated so their centroid is the annotated
  fingertips' centroid (over the valid ones), errors over the valid fingertips.

The authors' material does not state the alignment in words; the choices above are handzoo's
reading and are recorded in each result's notes.

Ground truth for :meth:`~handzoo.protocols.base.Protocol.score_files`: STB's official layout
(``labels/<sequence>_SK.mat`` with ``handPara`` (3, 21, N) in millimetres, depth-camera frame,
moved into the colour camera with the published extrinsics) read by :func:`read_stb_labels`;
Dexter+Object's and EgoDexter's fingertip files (:func:`read_dexter_object_tips`,
:func:`read_egodexter_tips`: one row per colour frame when the ``color/`` folders are there, else
per annotation line); or for every protocol a ``gt.npz`` / ``gt.json`` with ``joints`` (M, 21, 3)
metres (handzoo21, OpenCV frame) and optionally ``valid`` (M, 21). Predictions: ``pred.npz`` / ``pred.json`` with
``joints`` (M, 21, 3) metres in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from handzoo.errors import AnnotationError, DatasetNotFoundError, SubmissionError
from handzoo.metrics.pck import summarize_errors, trapz_auc
from handzoo.protocols._progress import NULL_PROGRESS, ProgressSink
from handzoo.protocols._tips import fit_rows, frame_files, read_tip_lines, tip_rows
from handzoo.protocols.base import PCKSpec, Protocol, ProtocolResult, curve_dict
from handzoo.protocols.io import not_number, read_arrays

__all__ = [
    "STB_TO_HANDZOO21",
    "STB_TEST_SEQUENCES",
    "STB_SK_COLOR_K",
    "TIP_JOINTS",
    "read_stb_labels",
    "read_dexter_object_tips",
    "read_egodexter_tips",
    "dexter_object_annotation_file",
    "egodexter_annotation_file",
    "dexter_object_to_color",
    "egodexter_to_color",
    "dexter_object_tips_mm",
    "egodexter_tips_mm",
    "DEXTER_OBJECT_SEQUENCES",
    "EGODEXTER_SEQUENCES",
    "stb_depth_to_color",
    "Hand3DPCKProtocol",
    "STB3DHandProtocol",
    "DexterObject3DHandProtocol",
    "EgoDexter3DHandProtocol",
]

# STB's 21 points: palm centre, then pinky, ring, middle, index, thumb, each tip (01) to base (04)
STB_TO_HANDZOO21 = (0, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
STB_TEST_SEQUENCES = ("B1Counting", "B1Random")
# the Intel RealSense (SK) colour camera of STB and its pose relative to the depth camera (mm)
STB_SK_COLOR_K = ((607.92271, 0.0, 314.78337), (0.0, 607.88192, 236.42484), (0.0, 0.0, 1.0))
_STB_SK_ROT_VEC = (0.00531, -0.01196, 0.00301)
_STB_SK_TRANS_MM = (-24.0381, -0.4563, -1.2326)
TIP_JOINTS = (4, 8, 12, 16, 20)  # handzoo21 fingertips: thumb, index, middle, ring, pinky
DEXTER_OBJECT_SEQUENCES = ("Grasp1", "Grasp2", "Occlusion", "Rigid", "Pinch", "Rotate")
# Dexter+Object: depth (Senz3D) -> colour camera, [R | t] in millimetres
_DO_DEPTH_TO_COLOR = (
    (0.9999, 0.0034, 0.0161, 19.0473),
    (-0.0033, 1.0000, -0.0079, -1.8514),
    (-0.0162, 0.0079, 0.9998, -4.7501),
)
_DO_MISSING_Z = 32001.0
_DO_URL = "https://handtracker.mpi-inf.mpg.de/projects/RealtimeHO/dexter+object.htm"
EGODEXTER_SEQUENCES = ("Desk", "Fruits", "Kitchen", "Rotunda")
# EgoDexter: depth (RealSense SR300) -> colour camera, [R | t] in millimetres
_ED_DEPTH_TO_COLOR = (
    (1.0000, 0.00090442, -0.0074, 20.2365),
    (-0.00071933, 0.9997, 0.0248, 1.2846),
    (0.0075, -0.0248, 0.9997, 5.7360),
)
_ED_URL = "https://handtracker.mpi-inf.mpg.de/projects/OccludedHands/EgoDexter.htm"
_THRESHOLDS_MM = (0.0, 50.0, 51)


def _rodrigues(v: np.ndarray) -> np.ndarray:
    theta = float(np.linalg.norm(v))
    k = np.asarray(v, dtype=np.float64) / theta
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + math.sin(theta) * kx + (1.0 - math.cos(theta)) * kx @ kx


def stb_depth_to_color(xyz_mm: np.ndarray) -> np.ndarray:
    """STB depth-camera points (..., 3) mm -> colour camera: ``(x - T) @ R(rot_vec)``."""
    return (np.asarray(xyz_mm, dtype=np.float64) - np.asarray(_STB_SK_TRANS_MM)) @ _rodrigues(
        np.asarray(_STB_SK_ROT_VEC)
    )


def read_stb_labels(root: str | Path, sequences: tuple[str, ...] = STB_TEST_SEQUENCES) -> np.ndarray:
    """STB's joints of the given sequences as (N, 21, 3) metres, colour camera, ``handzoo21``.

    Args:
        root: the STB folder (``labels/<sequence>_SK.mat`` inside, as distributed).
        sequences: sequence names (default: the usual test split B1Counting, B1Random).

    Raises:
        DatasetNotFoundError: a label file is missing. AnnotationError: it has no ``handPara``.
    """
    from scipy.io import loadmat

    out = []
    for seq in sequences:
        path = Path(root) / "labels" / f"{seq}_SK.mat"
        if not path.is_file():
            raise DatasetNotFoundError(
                f"STB labels not found: {path}", hint="point to the STB folder that holds labels/ and images/"
            )
        mat = loadmat(str(path))
        if "handPara" not in mat:
            raise AnnotationError(f"{path} has no 'handPara' array", hint="is this an STB *_SK.mat label file?")
        para = np.asarray(mat["handPara"], dtype=np.float64)  # (3, 21, N) mm
        if para.ndim != 3 or para.shape[:2] != (3, 21):
            raise AnnotationError(f"{path}: handPara must be (3, 21, N), got {para.shape}")
        xyz = stb_depth_to_color(para.transpose(2, 1, 0))
        out.append(xyz[:, list(STB_TO_HANDZOO21)] / 1000.0)
    return np.concatenate(out, axis=0)


def _extrinsics(ext: tuple[tuple[float, ...], ...], xyz_mm: np.ndarray) -> np.ndarray:
    e = np.asarray(ext, dtype=np.float64)
    return (np.asarray(xyz_mm, dtype=np.float64) @ e[:, :3].T + e[:, 3]) / 1000.0


def dexter_object_to_color(xyz_mm: np.ndarray) -> np.ndarray:
    """Dexter+Object annotation points (..., 3) mm (depth sensor, x left, y up) -> colour camera, metres, OpenCV axes."""
    return _extrinsics(_DO_DEPTH_TO_COLOR, np.asarray(xyz_mm, dtype=np.float64) * np.array([-1.0, -1.0, 1.0]))


def egodexter_to_color(xyz_mm: np.ndarray) -> np.ndarray:
    """EgoDexter annotation points (..., 3) mm (depth camera, OpenCV axes) -> colour camera, metres."""
    return _extrinsics(_ED_DEPTH_TO_COLOR, xyz_mm)


def dexter_object_annotation_file(root: str | Path, seq: str) -> Path:
    """``data/<seq>/annotations/<seq>3D.txt``, or the ``my_`` corrected copy some redistributions carry when only it exists."""
    folder = Path(root) / "data" / seq / "annotations"
    return next(
        (folder / n for n in (f"{seq}3D.txt", f"my_{seq}3D.txt") if (folder / n).is_file()), folder / f"{seq}3D.txt"
    )


def egodexter_annotation_file(root: str | Path, seq: str) -> Path:
    """``data/<seq>/annotation.txt_3D.txt``, or the ``my_`` corrected copy when only it exists."""
    folder = Path(root) / "data" / seq
    names = ("annotation.txt_3D.txt", "my_annotation.txt_3D.txt")
    return next((folder / n for n in names if (folder / n).is_file()), folder / names[0])


def dexter_object_tips_mm(path: Path) -> np.ndarray:
    """A Dexter+Object 3D file as (N, 5, 3) millimetres, NaN for the tips marked missing (``z = 32001``)."""
    mm = read_tip_lines(path, 3, "Dexter+Object", _DO_URL)
    mm[mm[..., 2] == _DO_MISSING_Z] = np.nan
    return mm


def egodexter_tips_mm(path: Path) -> np.ndarray:
    """An EgoDexter 3D file as (N, 5, 3) millimetres, NaN for the tips written ``0, 0, 0`` (missing)."""
    mm = read_tip_lines(path, 3, "EgoDexter", _ED_URL)
    mm[np.all(np.abs(mm) < 1e-6, axis=-1)] = np.nan
    return mm


def _read_tip_dataset(
    root: str | Path,
    sequences: tuple[str, ...],
    name: str,
    url: str,
    locate: Callable[[str | Path, str], Path],
    parse: Callable[[Path], np.ndarray],
    convert: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    out, ok = [], []
    for seq in sequences:
        path = locate(root, seq)
        if not path.is_file():
            raise DatasetNotFoundError(
                f"{name} annotations not found for {seq}: {path}",
                hint=f"point to the {name} folder that holds data/<sequence>/ (download: {url})",
            )
        mm = fit_rows(parse(path), frame_files(Path(root) / "data" / seq / "color"), path, name, url)
        joints, valid = tip_rows(convert(mm))
        out.append(joints)
        ok.append(valid)
    if not out:
        return np.zeros((0, 21, 3)), np.zeros((0, 21), dtype=bool)
    return np.concatenate(out), np.concatenate(ok)


def read_dexter_object_tips(
    root: str | Path, sequences: tuple[str, ...] = DEXTER_OBJECT_SEQUENCES
) -> tuple[np.ndarray, np.ndarray]:
    """Dexter+Object's fingertips as handzoo21 rows (metres, colour camera) and their validity.

    Reads ``data/<sequence>/annotations/<sequence>3D.txt`` (or the ``my_`` copy some releases
    carry): per frame five ``x, y, z`` fingertips (thumb, index, middle, ring, little) in
    millimetres in the depth sensor's frame with x and y pointing left and up; ``z = 32001`` marks
    a missing tip. Points are turned to x right / y down and moved into the colour camera with the
    dataset's depth-to-colour extrinsics. Non-tip joints are zero and invalid. One row per colour
    frame of ``data/<sequence>/color`` when that folder is there (frames after the last line are
    unannotated), else one per line.

    Returns:
        ``(joints (N, 21, 3), valid (N, 21))``.

    Raises:
        DatasetNotFoundError: a sequence's annotation file is missing, or it has more lines than
        colour frames. AnnotationError: bad lines.
    """
    return _read_tip_dataset(
        root, sequences, "Dexter+Object", _DO_URL, dexter_object_annotation_file, dexter_object_tips_mm,
        dexter_object_to_color,
    )  # fmt: skip


def read_egodexter_tips(
    root: str | Path, sequences: tuple[str, ...] = EGODEXTER_SEQUENCES
) -> tuple[np.ndarray, np.ndarray]:
    """EgoDexter's fingertips as handzoo21 rows (metres, colour camera) and their validity.

    Reads ``data/<sequence>/annotation.txt_3D.txt`` (or the ``my_`` copy): per frame five
    ``x, y, z`` fingertips in millimetres in the depth camera (OpenCV axes); ``0, 0, 0``, an empty
    field or a short line mark a missing tip. Rows as :func:`read_dexter_object_tips`.

    Raises:
        DatasetNotFoundError: a sequence's annotation file is missing, or it has more lines than
        colour frames. AnnotationError: bad lines.
    """
    return _read_tip_dataset(
        root, sequences, "EgoDexter", _ED_URL, egodexter_annotation_file, egodexter_tips_mm, egodexter_to_color
    )


def _as_rows(x: Any, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        if not_number(x):
            raise SubmissionError(f"{name} holds strings, booleans or nulls", hint="store every coordinate as a number")
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise SubmissionError(f"{name} is not a numeric (M, 21, 3) array", hint="save joints in metres") from None
    t = torch.as_tensor(x).to(torch.float64)
    if t.dim() != 3 or tuple(t.shape[1:]) != (21, 3):
        raise SubmissionError(f"{name} must have shape (M, 21, 3), got {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise SubmissionError(f"{name} holds NaN or infinite values", hint="every joint must be a finite number")
    return t


def _valid_rows(x: Any, gt: torch.Tensor) -> torch.Tensor:
    try:
        v = np.asarray(x)
        if v.dtype.kind not in "biuf":
            raise TypeError
        v = v.astype(bool)
    except (TypeError, ValueError, OverflowError):
        raise SubmissionError("joint validity flags are not a numeric or boolean array") from None
    if v.shape != tuple(gt.shape[:2]):
        raise SubmissionError(f"joint validity flags have shape {v.shape}, expected {tuple(gt.shape[:2])}")
    return torch.from_numpy(v)


class Hand3DPCKProtocol(Protocol):
    """3D PCK on 0..50 mm (1 mm steps) with a per-dataset alignment (see the module docstring)."""

    units = "metres in, millimetres out"
    frame = "opencv"
    pck = PCKSpec(0.0, 50.0, 51, "mm")
    headline = ("AUC_20_50", "AUC_0_50", "PCK@20", "PCK@30", "PCK@40", "PCK@50")
    submission = "pred.npz / pred.json with 'joints' (M, 21, 3) metres, handzoo21, OpenCV frame"
    reference = "github.com/boukhayma/3dhand PCK/<dataset> curves (paper Figs. 4-7)"
    joints: tuple[int, ...] = tuple(range(21))
    alignment = "root"
    quirks = (
        "PCK counted with <= at 0, 1, ..., 50 mm (one value per millimetre, as the authors' curve files); the "
        "curve is the mean of the per-joint curves (FreiHAND's EvalUtil; equal to pooling when all are valid)",
        "AUC_20_50: trapezoid over 20-50 mm divided by 30 mm (the figures' range); not stated in the paper",
    )

    def _align(self, pred: torch.Tensor, gt: torch.Tensor, valid: torch.Tensor, scale: bool) -> torch.Tensor:
        if self.alignment == "root":
            if scale:
                dp = (pred[:, 9] - pred[:, 0]).norm(dim=-1)
                dg = (gt[:, 9] - gt[:, 0]).norm(dim=-1)
                pred = pred * torch.where(dp > 0, dg / dp.clamp_min(1e-12), torch.ones_like(dp))[:, None, None]
            return pred - pred[:, :1] + gt[:, :1]
        w = valid[:, self.joints].to(pred.dtype)[..., None]
        n = w.sum(1).clamp_min(1.0)
        cp = (pred[:, self.joints] * w).sum(1) / n
        cg = (gt[:, self.joints] * w).sum(1) / n
        return pred - cp[:, None] + cg[:, None]

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
        scale: bool = False,
        **kwargs: Any,
    ) -> ProtocolResult:
        """Score (M, 21, 3) predicted joints against the ground truth (metres).

        Args:
            pred_joints, gt_joints: (M, 21, 3) metres, ``handzoo21``, OpenCV frame.
            joints_valid: (M, 21) annotated joints (others are not counted).
            scale: STB only: also match the bone 0 -> 9 length (Zimmermann and Brox).
        """
        progress.task(f"scoring {self.dataset}")
        gt = _as_rows(gt_joints, "gt_joints")
        pred = _as_rows(pred_joints, "pred_joints")
        if pred.shape[0] != gt.shape[0]:
            raise SubmissionError(f"{pred.shape[0]} predicted hands for {gt.shape[0]} ground-truth hands")
        valid = torch.ones(gt.shape[:2], dtype=torch.bool) if joints_valid is None else _valid_rows(joints_valid, gt)
        aligned = self._align(pred, gt, valid, scale)
        err = (aligned - gt).norm(dim=-1)[:, list(self.joints)] * 1000.0
        summ = summarize_errors(err, valid[:, list(self.joints)], *_THRESHOLDS_MM, median=True)
        t = summ.thresholds
        window = (t >= 20.0) & (t <= 50.0)
        auc_20_50 = float(trapz_auc(summ.pck[window], t[window]))
        metrics = {
            "AUC_20_50": auc_20_50,
            "AUC_0_50": summ.auc,
            "mean_error": summ.mean,
            "median_error": summ.median,
        }
        for mm in (20, 30, 40, 50):
            metrics[f"PCK@{mm}"] = float(summ.pck[mm])
        units = {k: ("mm" if k.endswith("error") else "fraction") for k in metrics}
        notes = [f"alignment: {self.alignment}{' + bone-0-9 scale' if scale else ''} (handzoo's reading of the paper)"]
        return ProtocolResult(
            protocol=self.name,
            scores=dict(metrics),
            metrics=metrics,
            units=units,
            headline=list(self.headline),
            curves={"pck3d": curve_dict(t, summ.pck)},
            num_samples=int(gt.shape[0]),
            notes=notes,
        )

    def _read_gt(self, gt_dir: Path) -> tuple[np.ndarray, np.ndarray | None]:
        for name in ("gt.npz", "gt.json"):
            if (gt_dir / name).is_file():
                arrays = read_arrays(gt_dir / name, "ground truth", missing=DatasetNotFoundError)
                if "joints" not in arrays:
                    raise AnnotationError(f"{gt_dir / name} has no 'joints' array")
                valid = arrays.get("valid")
                return np.asarray(arrays["joints"], dtype=np.float64), None if valid is None else np.asarray(valid)
        raise DatasetNotFoundError(f"no ground truth in {gt_dir}", hint="expected gt.npz or gt.json with 'joints'")

    def score_files(
        self, gt_dir: str | Path, pred_file: str | Path, progress: ProgressSink = NULL_PROGRESS
    ) -> ProtocolResult:
        """Score ``pred_file`` (``joints`` (M, 21, 3) metres) against the ground truth in ``gt_dir``."""
        progress.task("reading files")
        gt, valid = self._read_gt(Path(gt_dir))
        arrays = read_arrays(Path(pred_file), "predictions")
        if "joints" not in arrays:
            raise SubmissionError(f"{pred_file} has no 'joints' array", hint="save joints (M, 21, 3) in metres")
        return self.evaluate(pred_joints=arrays["joints"], gt_joints=gt, joints_valid=valid, progress=progress)


class STB3DHandProtocol(Hand3DPCKProtocol):
    """STB (Zhang et al., ICIP 2017), SK colour camera, test sequences B1Counting and B1Random."""

    name = "stb-3dhand"
    title = "STB 3D PCK (3D-hand paper)"
    dataset = "stb"
    official_size = 3000
    root_joint = 0
    alignments = ("root",)
    ground_truth = "the STB folder (labels/B1Counting_SK.mat, labels/B1Random_SK.mat), or gt.npz / gt.json"
    quirks = Hand3DPCKProtocol.quirks + (
        "STB's joint 0 is the palm centre, not the wrist; it is compared in joint 0's place",
        "STB shows left hands; handzoo compares them in the true (unmirrored) camera frame",
    )

    def _read_gt(self, gt_dir: Path) -> tuple[np.ndarray, np.ndarray | None]:
        if (gt_dir / "labels").is_dir():
            return read_stb_labels(gt_dir), None
        return super()._read_gt(gt_dir)


class DexterObject3DHandProtocol(Hand3DPCKProtocol):
    """Dexter+Object (Sridhar et al., ECCV 2016): fingertips, centroid-aligned."""

    name = "dexter-object-3dhand"
    title = "Dexter+Object fingertip 3D PCK (3D-hand paper)"
    dataset = "dexter-object"
    joints = TIP_JOINTS
    alignment = "tips-centroid"
    alignments = ("fingertip centroid",)
    ground_truth = (
        "the Dexter+Object folder (data/<sequence>/annotations/<sequence>3D.txt, six sequences), or gt.npz / "
        "gt.json: 'joints' (M, 21, 3) metres (fingertips used) and 'valid' (M, 21)"
    )
    quirks = Hand3DPCKProtocol.quirks + (
        "fingertips only; frames or tips marked missing (z = 32001) are not counted",
        "the annotation frame (depth sensor, x left / y up) is turned to OpenCV axes and moved into the colour camera",
    )

    #: the reader of the dataset's own folder (``data/<sequence>/...``)
    read_folder = staticmethod(read_dexter_object_tips)

    def _read_gt(self, gt_dir: Path) -> tuple[np.ndarray, np.ndarray | None]:
        if (gt_dir / "data").is_dir():
            return self.read_folder(gt_dir)
        return super()._read_gt(gt_dir)


class EgoDexter3DHandProtocol(DexterObject3DHandProtocol):
    """EgoDexter (Mueller et al., ICCV 2017): fingertips, centroid-aligned."""

    name = "egodexter-3dhand"
    title = "EgoDexter fingertip 3D PCK (3D-hand paper)"
    dataset = "egodexter"
    ground_truth = (
        "the EgoDexter folder (data/<sequence>/annotation.txt_3D.txt, four sequences), or gt.npz / gt.json: "
        "'joints' (M, 21, 3) metres (fingertips used) and 'valid' (M, 21)"
    )
    quirks = Hand3DPCKProtocol.quirks + (
        "fingertips only; tips without annotation (0, 0, 0) and unannotated frames are not counted",
        "the annotations (depth camera, OpenCV axes) are moved into the colour camera",
    )
    read_folder = staticmethod(read_egodexter_tips)
