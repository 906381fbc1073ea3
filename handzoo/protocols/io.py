"""Readers of the official submission and ground-truth files, with errors that say what to fix.

* FreiHAND / HO-3D: ``pred.json`` = ``[xyz_list, verts_list]``; ground truth
  ``evaluation_xyz.json`` and ``evaluation_verts.json`` (FreiHAND also accepts them under ``ref/``).
* DexYCB toolkit results ``.txt``: one line per image, 64 comma-separated numbers
  (``image_id`` then 21 x (x, y, z) in mm). Ground truth uses the same layout (see
  :data:`DEXYCB_GT_FILE`).
* Arrays for InterHand2.6M: ``.json`` objects or ``.npz`` archives (read without pickle).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from handzoo.errors import AnnotationError, DatasetNotFoundError, SubmissionError

__all__ = [
    "DEXYCB_GT_FILE",
    "find_pred_json",
    "read_json",
    "points_array",
    "read_fh_ground_truth",
    "read_fh_prediction",
    "read_joint_txt",
    "read_arrays",
]

DEXYCB_GT_FILE = "joint_3d.txt"


def read_json(path: Path, what: str, missing: type[Exception] = SubmissionError) -> Any:
    """Load a JSON file, raising ``missing`` when it does not exist and a clear error when it is malformed."""
    if not path.is_file():
        raise missing(f"{what} not found: {path}", hint=f"check the path; expected a JSON file for the {what}")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        err = SubmissionError if missing is SubmissionError else AnnotationError
        raise err(
            f"{what} {path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            hint="regenerate the file with json.dump; it may be truncated",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise missing(f"cannot read {what} {path}: {exc}") from None


def find_pred_json(path: Path, default_name: str = "pred.json") -> Path:
    """The prediction file: ``path`` itself, or ``path/pred.json``, or the only ``*.json`` in ``path``.

    The directory fallback is the official scripts' ``_search_pred_file`` behaviour.
    """
    if path.is_file():
        return path
    if path.is_dir():
        cand = path / default_name
        if cand.is_file():
            return cand
        found = sorted(path.glob("*.json"))
        if len(found) == 1:
            return found[0]
        raise SubmissionError(
            f"no {default_name} in {path} and {len(found)} other .json files",
            hint=f"pass --pred PATH/TO/{default_name}",
        )
    raise SubmissionError(f"prediction file not found: {path}", hint="check --pred")


def points_array(
    items: Any, what: str, n_points: int | None = None, err: type[Exception] = SubmissionError
) -> np.ndarray:
    """Convert a list of per-sample point lists to a float64 (N, P, 3) array.

    Args:
        items: sequence of N samples, each P x 3 numbers.
        what: description used in error messages (``"pred.json joints"``).
        n_points: required P (None: whatever the first sample has, but all samples equal).
        err: error class to raise.

    Raises:
        ``err`` naming the first bad sample (wrong shape, non-number, NaN/inf).
    """
    if not isinstance(items, (list, tuple)):
        raise err(f"{what} must be a list of samples, got {type(items).__name__}")
    try:
        arr = np.asarray(items, dtype=np.float64)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.ndim != 3 or arr.shape[-1] != 3 or (n_points is not None and arr.shape[1] != n_points):
        want = f"{n_points} x 3" if n_points is not None else "P x 3 (the same P for every sample)"
        first = None
        for i, s in enumerate(items):
            try:
                a = np.asarray(s, dtype=np.float64)
            except (ValueError, TypeError):
                raise err(
                    f"{what}: sample {i} holds something that is not a number array", hint=f"expected {want}"
                ) from None
            if a.ndim != 2 or a.shape[-1] != 3 or (n_points is not None and a.shape[0] != n_points):
                raise err(f"{what}: sample {i} has shape {a.shape}, expected {want}")
            if first is None:
                first = a.shape
            elif a.shape != first:
                raise err(
                    f"{what}: sample {i} has shape {a.shape} but sample 0 has {first}",
                    hint="every sample must have the same number of points",
                )
        raise err(f"{what} has an unexpected layout", hint=f"expected N samples of {want}")
    bad = ~np.isfinite(arr).reshape(len(arr), -1).all(1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise err(
            f"{what}: sample {i} contains NaN or inf ({int(bad.sum())} bad samples in all)",
            hint="every coordinate must be a finite number",
        )
    return arr


def _gt_dir(gt_dir: Path, names: Sequence[str]) -> Path:
    if not gt_dir.is_dir():
        raise DatasetNotFoundError(f"ground-truth directory not found: {gt_dir}", hint="check --gt-dir")
    for d in (gt_dir, gt_dir / "ref"):
        if all((d / n).is_file() for n in names):
            return d
    missing = [n for n in names if not (gt_dir / n).is_file()]
    raise DatasetNotFoundError(
        f"ground-truth file(s) {', '.join(missing)} not found in {gt_dir}",
        hint="download the evaluation annotations of the dataset and pass their folder as --gt-dir",
    )


def read_fh_ground_truth(gt_dir: Path, n_joints: int = 21) -> tuple[np.ndarray, np.ndarray]:
    """Read ``evaluation_xyz.json`` and ``evaluation_verts.json`` from ``gt_dir`` (or ``gt_dir/ref``).

    Returns:
        ``(xyz (N, 21, 3), verts (N, V, 3))`` float64 as stored (metres).
    """
    d = _gt_dir(gt_dir, ("evaluation_xyz.json", "evaluation_verts.json"))
    xyz = read_json(d / "evaluation_xyz.json", "ground-truth joints", DatasetNotFoundError)
    verts = read_json(d / "evaluation_verts.json", "ground-truth vertices", DatasetNotFoundError)
    gx = points_array(xyz, "evaluation_xyz.json", n_joints, AnnotationError)
    gv = points_array(verts, "evaluation_verts.json", None, AnnotationError)
    if len(gx) != len(gv):
        raise AnnotationError(f"evaluation_xyz.json has {len(gx)} samples but evaluation_verts.json {len(gv)}")
    return gx, gv


def read_fh_prediction(pred_file: Path, n_samples: int, n_joints: int = 21) -> tuple[np.ndarray, np.ndarray]:
    """Read a FreiHAND/HO-3D ``pred.json`` = ``[xyz_list, verts_list]`` with ``n_samples`` entries each.

    Raises:
        SubmissionError: wrong top-level layout, wrong counts, shapes or non-finite values.
    """
    path = find_pred_json(pred_file)
    pred = read_json(path, "prediction file")
    if not isinstance(pred, list) or len(pred) != 2:
        raise SubmissionError(
            f"{path.name} must hold a list of two lists [xyz_list, verts_list]",
            hint="write it with json.dump([xyz_list, verts_list], f)",
        )
    for name, part in zip(("xyz_list", "verts_list"), pred):
        if not isinstance(part, list) or len(part) != n_samples:
            got = len(part) if isinstance(part, list) else type(part).__name__
            raise SubmissionError(
                f"{path.name}: {name} has {got} entries, the ground truth has {n_samples} samples",
                hint="predict every sample of the evaluation set, in the ground-truth order",
            )
    xyz = points_array(pred[0], f"{path.name} joints", n_joints)
    if all(isinstance(v, list) and not v for v in pred[1]):
        # joints-only submission: FreiHAND's script then scores no mesh and F-scores of 0
        return xyz, np.zeros((n_samples, 0, 3))
    verts = points_array(pred[1], f"{path.name} vertices", None)
    return xyz, verts


def read_joint_txt(path: Path, what: str, err: type[Exception] = SubmissionError) -> tuple[np.ndarray, np.ndarray, int]:
    """Read a DexYCB-toolkit style file: lines of ``image_id`` + 63 numbers, comma separated.

    Blank lines are skipped. When an id repeats, the last line wins (the toolkit stores lines in a
    dict).

    Returns:
        ``(ids (N,) int64, joints (N, 21, 3) float64, duplicates)`` in first-appearance order of ids.

    Raises:
        ``err`` (or DatasetNotFoundError for a missing ground-truth file) naming the bad line.
    """
    if not path.is_file():
        missing = SubmissionError if err is SubmissionError else DatasetNotFoundError
        raise missing(f"{what} not found: {path}", hint="check the path")
    rows: dict[int, np.ndarray] = {}
    dup = 0
    with open(path, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            if not line.strip():
                continue
            elems = line.split(",")
            if len(elems) != 64:
                raise err(
                    f"{what} {path.name} line {ln} has {len(elems)} comma-separated values, expected 64",
                    hint="each line is: image_id, then 21 joints x (x, y, z) in mm",
                )
            try:
                image_id = int(elems[0])
                vals = np.array(elems[1:], dtype=np.float64)
            except ValueError:
                raise err(f"{what} {path.name} line {ln} holds a value that is not a number") from None
            if not np.isfinite(vals).all():
                raise err(f"{what} {path.name} line {ln} (image {image_id}) contains NaN or inf")
            dup += image_id in rows
            rows[image_id] = vals.reshape(21, 3)
    if not rows:
        raise err(f"{what} {path.name} is empty")
    ids = np.fromiter(rows.keys(), dtype=np.int64, count=len(rows))
    return ids, np.stack(list(rows.values())), dup


def read_arrays(path: Path, what: str, missing: type[Exception] = SubmissionError) -> dict[str, Any]:
    """Read named arrays from a ``.json`` object or an ``.npz`` archive (never unpickles)."""
    if not path.is_file():
        raise missing(f"{what} not found: {path}", hint="check the path")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except (ValueError, OSError) as exc:
            err = SubmissionError if missing is SubmissionError else AnnotationError
            raise err(f"cannot read {what} {path}: {exc}", hint="save it with numpy.savez of plain arrays") from None
    data = read_json(path, what, missing)
    if not isinstance(data, dict):
        err = SubmissionError if missing is SubmissionError else AnnotationError
        raise err(f"{what} {path} must be a JSON object of named arrays")
    return data
