"""Readers of the official submission and ground-truth files, with errors that say what to fix.

* FreiHAND / HO-3D: ``pred.json`` = ``[xyz_list, verts_list]``; ground truth
  ``evaluation_xyz.json`` and ``evaluation_verts.json`` (FreiHAND also accepts them under ``ref/``).
* DexYCB toolkit results ``.txt``: one line per image, 64 comma-separated numbers
  (``image_id`` then 21 x (x, y, z) in mm). Ground truth uses the same layout (see
  :data:`DEXYCB_GT_FILE`).
* Arrays for InterHand2.6M: ``.json`` objects or ``.npz`` archives (read without pickle).

Point files (nested lists of numbers only) are read by :mod:`handzoo.protocols._numjson` (no
Python float per number; the same doubles as ``json``); anything else is parsed with ``orjson``
(exact float parsing, the same numbers as ``json``), and nested lists of numbers become arrays
without a per-element numpy type inference.
Coordinates must be JSON numbers: strings (``"0.1"``), booleans, ``null``, ``NaN`` and
``Infinity`` are rejected with the file, line and column (the official scripts crash on strings
and ``null``; ``json``/numpy would silently turn ``"0.1"`` or ``true`` into a number).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from collections.abc import Callable, Sequence
from importlib.util import find_spec
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from handzoo.errors import AnnotationError, DatasetNotFoundError, SubmissionError
from handzoo.protocols._numjson import arrow_pool, parse_number_file, parse_number_lists

__all__ = [
    "DEXYCB_GT_FILE",
    "find_pred_json",
    "not_number",
    "first_non_number",
    "read_json",
    "read_json_checked",
    "read_number_array",
    "points_array",
    "read_fh_ground_truth",
    "read_fh_prediction",
    "read_joint_txt",
    "read_arrays",
]

DEXYCB_GT_FILE = "joint_3d.txt"
#: coordinates beyond this magnitude (in the file's unit, metres or mm) are refused: no hand is that
#: far, and squares of such values overflow in Procrustes and norms (SVD failures, not scores)
MAX_COORDINATE = 1e9
_TXT_MIN_BYTES = 1 << 14  # smaller results files: the line reader is as fast
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"


_NUMERIC_JSON = re.compile(rb"[^0-9.eE+\-\[\], \t\r\n]")
_NUMERIC_BYTES = b"0123456789.eE+-[], \t\r\n"


def first_non_number(data: bytes) -> str | None:
    """Where the first byte that cannot belong to nested lists of JSON numbers is, or None.

    Returns:
        ``"line L column C ('token')"`` for a string, ``true``/``false``/``null``, ``NaN``,
        ``Infinity``, an object... ; None when the text holds only numbers, brackets, commas and
        whitespace.
    """
    if not data.translate(None, _NUMERIC_BYTES):
        return None
    m = _NUMERIC_JSON.search(data)
    pos = m.start() if m else 0
    line = data.count(b"\n", 0, pos) + 1
    col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
    token = data[pos : pos + 12].split(b",")[0].split(b"]")[0].decode("utf-8", "replace")
    return f"line {line} column {col} ({token!r})"


def read_json(path: Path, what: str, missing: type[Exception] = SubmissionError) -> Any:
    """Load a JSON file, raising ``missing`` when it does not exist and a clear error when it is malformed."""
    return read_json_checked(path, what, missing)[0]


def read_json_checked(path: Path, what: str, missing: type[Exception] = SubmissionError) -> tuple[Any, str | None]:
    """Load a JSON file and say where its first token that is not a number or a bracket is.

    Args:
        path: the file.
        what: description used in error messages.
        missing: error class for a missing file (SubmissionError: predictions; else ground truth).

    Returns:
        ``(data, where)``: ``where`` is None when the file holds only (nested) lists of numbers,
        else :func:`first_non_number`'s location, for :func:`points_array`'s messages.
    """
    return _decode(_read_bytes(path, what, missing), path, what, missing)


def _read_bytes(path: Path, what: str, missing: type[Exception]) -> bytes:
    if not path.is_file():
        raise missing(f"{what} not found: {path}", hint=f"check the path; expected a JSON file for the {what}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise missing(f"cannot read {what} {path}: {exc}") from None


def _decode(data: bytes, path: Path, what: str, missing: type[Exception]) -> tuple[Any, str | None]:
    """``orjson`` (or ``json`` for what only it accepts) with :func:`first_non_number`'s location."""
    import orjson  # here: point files never need it (the fast reader), and its import costs ~5 ms

    err = SubmissionError if missing is SubmissionError else AnnotationError
    where = first_non_number(data)
    try:
        return orjson.loads(data), where
    except orjson.JSONDecodeError as exc:
        if not _json_accepts(data):
            raise err(
                f"{what} {path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                hint="regenerate the file with json.dump; it may be truncated",
            ) from None
    # valid for Python's json only (NaN/Infinity literals, lone surrogates): read it the same way
    try:
        return json.loads(data), where
    except RecursionError:
        raise err(f"{what} {path} is nested too deeply to be coordinates", hint="regenerate the file") from None


def _json_accepts(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    return True


def read_number_array(path: Path, what: str, missing: type[Exception] = AnnotationError) -> Any:
    """A JSON file of nested number lists as a float64 array (fast reader), else whatever ``json`` reads.

    For ground-truth side files (H2ONet's mesh roots): a regular list of numbers comes back as an
    array without a Python float per number, and without importing ``orjson``; anything else is
    read by :func:`read_json` (which reports malformed files), for the caller to check.
    """
    data = _read_bytes(path, what, missing)
    fast = parse_number_lists(data)
    if isinstance(fast, np.ndarray):
        return fast
    return _decode(data, path, what, missing)[0]


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


def _fast_points(items: list[Any], n_points: int | None, numbers_checked: bool) -> np.ndarray | None:
    """(N, P, 3) float64 from lists of lists of 3 numbers, or None when the layout or a type is off."""
    n = len(items)
    if not n or not all(type(s) is list for s in items):
        return None
    p = n_points if n_points is not None else len(items[0])
    if not all(len(s) == p for s in items):
        return None
    pts = list(chain.from_iterable(items))
    try:
        if set(map(len, pts)) - {3}:
            return None
    except TypeError:  # a number where a point is expected
        return None
    flat: Any = chain.from_iterable(pts)
    if not numbers_checked:
        flat = list(flat)
        if set(map(type, flat)) - {float, int}:
            return None  # strings, booleans, None, nested lists: reported by the slow path
    try:
        return np.fromiter(flat, dtype=np.float64, count=n * p * 3).reshape(n, p, 3)
    except (TypeError, ValueError):
        return None


def not_number(x: Any) -> bool:
    """True when ``x`` holds something numpy would turn into a float but that is no number.

    Strings (``"0.1"``), booleans and None, at any depth of nested lists; for numpy arrays, a
    string, boolean or object dtype.
    """
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "bOUS" and (x.dtype.kind != "O" or not_number(x.tolist()))
    if isinstance(x, (list, tuple)):
        try:
            flat = np.asarray(x, dtype=object).reshape(-1)
        except ValueError:  # ragged: check element by element
            return any(not_number(v) for v in x)
        if flat.size and isinstance(flat[0], (list, tuple)):
            return any(not_number(v) for v in flat)
        return bool(set(map(type, flat)) - {float, int, np.float64, np.float32, np.int64, np.int32})
    return isinstance(x, (str, bytes, bool, np.bool_)) or x is None


def points_array(
    items: Any,
    what: str,
    n_points: int | None = None,
    err: type[Exception] = SubmissionError,
    numbers_checked: bool = False,
    where: str | None = None,
) -> np.ndarray:
    """Convert a list of per-sample point lists to a float64 (N, P, 3) array.

    Args:
        items: sequence of N samples, each P x 3 numbers.
        what: description used in error messages (``"pred.json joints"``).
        n_points: required P (None: whatever the first sample has, but all samples equal).
        err: error class to raise.
        numbers_checked: the caller already knows every leaf is a JSON number
            (:func:`read_json_checked` found nothing else), so leaf types need no second check.
        where: location of the file's first non-number (named in the type error message).

    Raises:
        ``err`` naming the first bad sample (wrong shape, non-number such as a string or a
        boolean, NaN/inf).
    """
    if not isinstance(items, (list, tuple)):
        raise err(f"{what} must be a list of samples, got {type(items).__name__}")
    arr = _fast_points(items, n_points, numbers_checked) if isinstance(items, list) else None
    if arr is None:
        for i, s in enumerate(items):
            if not_number(s):
                at = f" (first at {where})" if where else ""
                raise err(
                    f"{what}: sample {i} holds a string, boolean or null where a number is expected{at}",
                    hint="write every coordinate as a JSON number: the official scripts reject strings and null",
                )
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
    return _check_points(arr, what, err)


def _all_within(arr: np.ndarray) -> bool:
    """Every value finite and within :data:`MAX_COORDINATE` (two reductions, no temporary array)."""
    if arr.size == 0:
        return True
    lo, hi = float(arr.min()), float(arr.max())  # NaN propagates into both
    return -MAX_COORDINATE <= lo and hi <= MAX_COORDINATE


def _check_points(arr: np.ndarray, what: str, err: type[Exception]) -> np.ndarray:
    """``arr`` when every value is finite and within :data:`MAX_COORDINATE`; else ``err`` naming a sample."""
    if _all_within(arr):
        return arr
    bad = ~np.isfinite(arr).reshape(len(arr), -1).all(1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise err(
            f"{what}: sample {i} contains NaN or inf ({int(bad.sum())} bad samples in all)",
            hint="every coordinate must be a finite number",
        )
    check_magnitude(arr, what, err)
    return arr


def check_magnitude(arr: np.ndarray, what: str, err: type[Exception] = SubmissionError) -> None:
    """Refuse finite coordinates beyond :data:`MAX_COORDINATE` (e.g. 1e308), naming the first sample."""
    if arr.size == 0:
        return
    big = (np.abs(arr) > MAX_COORDINATE).reshape(len(arr), -1).any(1) if arr.ndim else np.abs(arr) > MAX_COORDINATE
    if np.any(big):
        i = int(np.flatnonzero(big)[0]) if arr.ndim else 0
        raise err(
            f"{what}: sample {i} holds values beyond {MAX_COORDINATE:g} in magnitude (not coordinates)",
            hint="write coordinates in the protocol's unit (metres or millimetres)",
        )


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
    gx = _points_file(d / "evaluation_xyz.json", "ground-truth joints", n_joints)
    gv = _points_file(d / "evaluation_verts.json", "ground-truth vertices", None)
    if len(gx) != len(gv):
        raise AnnotationError(f"evaluation_xyz.json has {len(gx)} samples but evaluation_verts.json {len(gv)}")
    return gx, gv


def _points_file(path: Path, what: str, n_points: int | None) -> np.ndarray:
    """(N, P, 3) float64 of a ground-truth JSON file of point lists (from the ground-truth cache when current)."""
    from handzoo.protocols._gtcache import cached_array

    def parse() -> np.ndarray:
        fast, data = parse_number_file(path), None  # mapped, not read, when it parses
        if fast is None:
            data = _read_bytes(path, what, DatasetNotFoundError)
            fast = parse_number_lists(data)
        if _is_points(fast, n_points):
            return _check_points(fast, path.name, AnnotationError)
        if data is None:
            data = _read_bytes(path, what, DatasetNotFoundError)
        items, where = _decode(data, path, what, DatasetNotFoundError)
        return points_array(items, path.name, n_points, AnnotationError, where is None, where)

    def child_parse() -> np.ndarray | None:
        """The fast path alone (run in a child process): None for anything that needs reporting."""
        fast = parse_number_file(path)
        if not _is_points(fast, n_points) or not _all_within(fast):
            return None
        return fast

    if not path.is_file():
        return parse()  # the reader's error
    arr = cached_array(path, f"json-points/{n_points}", parse, child_parse)
    return arr if _is_points(arr, n_points) else parse()


def _is_points(a: Any, n_points: int | None, n_samples: int | None = None) -> bool:
    return (
        isinstance(a, np.ndarray)
        and a.ndim == 3
        and a.shape[-1] == 3
        and (n_points is None or a.shape[1] == n_points)
        and (n_samples is None or a.shape[0] == n_samples)
    )


def _fast_fh_prediction(fast: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``[xyz_list, verts_list]`` of the fast reader's result when both are regular arrays (counts checked by the caller)."""
    if isinstance(fast, np.ndarray) and fast.ndim == 4 and fast.shape[0] == 2:
        fast = [fast[0], fast[1]]
    if not isinstance(fast, list) or len(fast) != 2:
        return None
    return fast[0], fast[1]


def read_fh_prediction(
    pred_file: Path, n_samples: int | Callable[[], int], n_joints: int = 21
) -> tuple[np.ndarray, np.ndarray]:
    """Read a FreiHAND/HO-3D ``pred.json`` = ``[xyz_list, verts_list]`` with ``n_samples`` entries each.

    Args:
        pred_file: the file, or a folder holding ``pred.json``.
        n_samples: the ground truth's sample count, or a function returning it, called once the
            file has been parsed (so that the ground truth can be read on another thread meanwhile).
        n_joints: joints per sample.

    Raises:
        SubmissionError: wrong top-level layout, wrong counts, shapes or non-finite values.
    """
    path = find_pred_json(pred_file)
    fast, data = _fast_fh_prediction(parse_number_file(path)), None  # mapped, not read, when it parses
    if fast is None:
        data = _read_bytes(path, "prediction file", SubmissionError)
        fast = _fast_fh_prediction(parse_number_lists(data))
    n = n_samples() if callable(n_samples) else n_samples
    if fast is not None and _is_points(fast[0], n_joints, n) and _is_points(fast[1], None, n):
        return (
            _check_points(fast[0], f"{path.name} joints", SubmissionError),
            _check_points(fast[1], f"{path.name} vertices", SubmissionError),
        )
    if data is None:
        data = _read_bytes(path, "prediction file", SubmissionError)
    pred, where = _decode(data, path, "prediction file", SubmissionError)
    if not isinstance(pred, list) or len(pred) != 2:
        raise SubmissionError(
            f"{path.name} must hold a list of two lists [xyz_list, verts_list]",
            hint="write it with json.dump([xyz_list, verts_list], f)",
        )
    for name, part in zip(("xyz_list", "verts_list"), pred):
        if not isinstance(part, list) or len(part) != n:
            got = len(part) if isinstance(part, list) else type(part).__name__
            raise SubmissionError(
                f"{path.name}: {name} has {got} entries, the ground truth has {n} samples",
                hint="predict every sample of the evaluation set, in the ground-truth order",
            )
    xyz = points_array(pred[0], f"{path.name} joints", n_joints, numbers_checked=where is None, where=where)
    if all(isinstance(v, list) and not v for v in pred[1]):
        # Joints-only submission (empty vertex lists). The official scripts do NOT score these:
        # FreiHAND's and HO-3D's eval.py crash in the F-score on an empty point cloud (and in
        # align_w_scale on an empty vertex array). handzoo scores the joints and reports the
        # mesh keys as missing (-1, like a non-MANO mesh) and F-scores of 0.
        return xyz, np.zeros((n, 0, 3))
    verts = points_array(pred[1], f"{path.name} vertices", None, numbers_checked=where is None, where=where)
    return xyz, verts


def read_joint_txt(path: Path, what: str, err: type[Exception] = SubmissionError) -> tuple[np.ndarray, np.ndarray, int]:
    """Read a DexYCB-toolkit style file: lines of ``image_id`` + 63 numbers, comma separated.

    Every line must hold the 64 values, as in the toolkit (which raises on a blank line too). When
    an id repeats, the last line wins (the toolkit stores lines in a dict).

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
    fast = _fast_joint_txt(_mapped(path))  # Arrow reads the mapped file: no copy of it in fresh memory
    if fast is not None:
        return fast
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise err(f"cannot read {what} {path}: {exc.strerror or exc}", hint="check the file") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        ln = raw[: exc.start].count(b"\n") + 1
        raise err(
            f"{what} {path.name} line {ln} is not UTF-8 text (byte {raw[exc.start]:#04x})",
            hint="write the file as plain text: image_id, then 63 numbers per line",
        ) from None
    for ln, line in enumerate(io.StringIO(text, newline=None), 1):  # the line splitting of open()
        if not line.strip():
            raise err(
                f"{what} {path} line {ln} is blank",
                hint="remove blank lines: the DexYCB toolkit rejects them (every line is image_id + 63 numbers)",
            )
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
        if not -(2**63) <= image_id < 2**63:
            raise err(
                f"{what} {path.name} line {ln}: image id {elems[0].strip()[:24]} is out of range",
                hint="image ids are the dataset's indices (64-bit integers)",
            )
        if not np.isfinite(vals).all():
            raise err(f"{what} {path.name} line {ln} (image {image_id}) contains NaN or inf")
        if np.abs(vals).max() > MAX_COORDINATE:
            raise err(
                f"{what} {path.name} line {ln} (image {image_id}) holds values beyond {MAX_COORDINATE:g}",
                hint="coordinates are millimetres",
            )
        dup += image_id in rows
        rows[image_id] = vals.reshape(21, 3)
    if not rows:
        raise err(f"{what} {path.name} is empty")
    ids = np.fromiter(rows.keys(), dtype=np.int64, count=len(rows))
    return ids, np.stack(list(rows.values())), dup


def _mapped(path: Path) -> Any:
    """The file as an Arrow buffer over a read-only mapping (None without ``pyarrow`` or when it cannot be mapped).

    A file truncated while mapped would end the process (SIGBUS), as any mapped file; evaluation
    files are not rewritten during an evaluation.
    """
    if find_spec("pyarrow") is None:
        return None
    import pyarrow as pa

    try:
        if path.stat().st_size < _TXT_MIN_BYTES:
            return None
        with pa.memory_map(str(path)) as mm:
            return mm.read_buffer()  # keeps the mapping alive, closed with the buffer
    except (OSError, pa.ArrowException):
        return None


def _line_pieces(raw: Any, k: int) -> list[Any]:
    """``raw`` cut after line breaks into at most ``k`` pieces of about equal size."""
    import pyarrow as pa

    buf = raw if isinstance(raw, pa.Buffer) else pa.py_buffer(raw)
    view = memoryview(buf)
    cuts = [0]
    for j in range(1, k):
        at = max(cuts[-1], len(view) * j // k)
        nl = bytes(view[at : at + (1 << 20)]).find(b"\n")
        if nl < 0:
            break
        cuts.append(at + nl + 1)
    cuts.append(len(view))
    return [buf.slice(a, b - a) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def _read_csv_piece(piece: Any) -> Any:
    """One piece of a results file as an Arrow table by a one-threaded reader (None when Arrow rejects it).

    One thread per piece, each reader single-threaded: Arrow's own threaded reader took 40-100%
    more CPU for the same file here, and pieces on threads (the reader releases the GIL) use both
    cores as well.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(64)]
    types = {"c0": pa.int64()} | dict.fromkeys(names[1:], pa.float64())
    try:
        return pacsv.read_csv(
            piece,
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 20, use_threads=False),
            parse_options=pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=types, null_values=[], quoted_strings_can_be_null=False),
            memory_pool=arrow_pool(),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None


def _fast_joint_txt(raw: Any, pieces: int | None = None) -> tuple[np.ndarray, np.ndarray, int] | None:
    """:func:`read_joint_txt`'s result by Arrow's CSV reader, or None for anything unusual.

    Every line must be an integer id and 63 numbers, all finite and within
    :data:`MAX_COORDINATE`; no quotes, no blank line. Otherwise (or without ``pyarrow``) the
    line-by-line reader runs and names the bad line. Numbers are correctly rounded, as numpy's.
    ``raw`` (bytes or an Arrow buffer) is cut at line breaks into ``pieces`` (default
    ``OMP_NUM_THREADS``) read on as many threads.
    """
    if raw is None or len(raw) < _TXT_MIN_BYTES or find_spec("pyarrow") is None:
        return None
    from handzoo.protocols._np import workers

    parts = _line_pieces(raw, max(1, pieces if pieces is not None else workers()))
    if len(parts) == 1:
        tables = [_read_csv_piece(parts[0])]
    else:
        from handzoo.protocols._np import background

        rest = [background(lambda p=p: _read_csv_piece(p)) for p in parts[1:]]
        tables = [_read_csv_piece(parts[0])] + [r() for r in rest]
    if any(t is None or any(c.null_count for c in t.columns) for t in tables):
        return None
    rows = sum(t.num_rows for t in tables)
    if rows == 0:
        return None
    ids = np.empty(rows, dtype=np.int64)
    vals = np.empty((rows, 63), dtype=np.float64)  # numpy's own memory: no Arrow memory kept
    base = 0
    for table in tables:
        for i in range(64):
            start = base
            for chunk in table.column(i).chunks:
                col = chunk.to_numpy(zero_copy_only=True)
                if i:
                    vals[start : start + len(chunk), i - 1] = col
                else:
                    ids[start : start + len(chunk)] = col
                start += len(chunk)
        base += table.num_rows
    del tables
    if not _all_within(vals):
        return None
    # an id seen twice: the last line wins, ids in first-appearance order (the toolkit's dict)
    uniq, first = np.unique(ids, return_index=True)
    if len(uniq) == len(ids):
        return ids, vals.reshape(-1, 21, 3), 0
    _, last_rev = np.unique(ids[::-1], return_index=True)
    last = len(ids) - 1 - last_rev
    order = np.argsort(first)
    return uniq[order], vals[last[order]].reshape(-1, 21, 3), len(ids) - len(uniq)


def read_arrays(path: Path, what: str, missing: type[Exception] = SubmissionError) -> dict[str, Any]:
    """Read named arrays from a ``.json`` object or an ``.npz`` archive (never unpickles)."""
    if not path.is_file():
        raise missing(f"{what} not found: {path}", hint="check the path")
    if path.suffix == ".npz":
        return _read_npz(path, what, SubmissionError if missing is SubmissionError else AnnotationError)
    data = read_json(path, what, missing)
    if not isinstance(data, dict):
        err = SubmissionError if missing is SubmissionError else AnnotationError
        raise err(f"{what} {path} must be a JSON object of named arrays")
    return data


def _read_npz(path: Path, what: str, err: type[Exception]) -> dict[str, Any]:
    """Named arrays of an ``.npz`` archive, never unpickling; says what a bad file really is."""
    hint = "save it with numpy.savez of plain numeric arrays"
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise err(f"cannot read {what} {path}: {exc.strerror or exc}", hint="check the file") from None
    if not head:
        raise err(f"{what} {path} is empty (0 bytes)", hint=hint)
    if head[:4] not in (_ZIP_MAGIC, _EMPTY_ZIP_MAGIC):
        kind = "a single .npy array" if head.startswith(b"\x93NUMPY") else "not a zip archive"
        raise err(f"{what} {path} is not an .npz archive ({kind}; first bytes {head[:4]!r})", hint=hint)
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise err(f"{what} {path} is a truncated or corrupt .npz (zip) archive: {exc}", hint=hint) from None
    except ValueError as exc:
        msg = str(exc)
        if "pickle" in msg:
            msg = "an array in it holds Python objects (dtype=object), which handzoo never unpickles"
        raise err(f"cannot read {what} {path}: {msg}", hint=hint) from None
    except (OSError, KeyError, RuntimeError) as exc:
        raise err(f"cannot read {what} {path}: corrupt archive member ({exc})", hint=hint) from None
