"""Hostile submission and ground-truth files: every reader answers with a HandzooError naming the file.

Each case used to escape as a non-handzoo exception (UnicodeDecodeError, OverflowError, BadZipFile,
TypeError, LinAlgError, RecursionError) or to be misreported ("contains pickled data").
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from protocol_golden import write_fh_files, write_joint_txt

from handzoo.errors import AnnotationError, SubmissionError
from handzoo.protocols import get_protocol
from handzoo.protocols.score_cli import main as score_main

RNG = np.random.default_rng(0)
N = 4
GX, GV = RNG.normal(0, 0.05, (N, 21, 3)), RNG.normal(0, 0.05, (N, 778, 3))
GJ = RNG.normal(0, 50, (N, 21, 3))
IJ = RNG.normal(0, 100, (N, 42, 3))
LINE = "," + ",".join(["1.0"] * 63)


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _fh(tmp: Path) -> Path:
    write_fh_files(tmp, GX, GV, GX + 0.01, GV + 0.01)
    return tmp


def _dexycb(tmp: Path, pred: bytes | None = None, gt: bytes | None = None) -> Path:
    write_joint_txt(tmp / "joint_3d.txt", np.arange(N), GJ, extra=False)
    write_joint_txt(tmp / "res.txt", np.arange(N), GJ + 1, extra=False)
    if pred is not None:
        (tmp / "res.txt").write_bytes(pred)
    if gt is not None:
        (tmp / "joint_3d.txt").write_bytes(gt)
    return tmp


def _interhand(tmp: Path, gt: dict | None = None, pred: dict | None = None) -> Path:
    g = {
        "joint_cam": IJ,
        "joint_valid": np.ones((N, 42)),
        "hand_type": np.array(["right", "left", "interacting", "right"]),
    }
    np.savez(tmp / "interhand_gt.npz", **{**g, **(gt or {})})
    np.savez(tmp / "pred.npz", **{"joint_cam": IJ + 3, **(pred or {})})
    return tmp


# -- FreiHAND-style JSON ---------------------------------------------------------------------------
def test_ragged_evaluation_verts(tmp_path: Path) -> None:
    d = _fh(tmp_path)
    (d / "evaluation_verts.json").write_text(json.dumps([GV[0].tolist(), GV[1][:5].tolist(), 3, []]))
    with pytest.raises(AnnotationError, match="evaluation_verts.json: sample 1"):
        get_protocol("freihand").score_files(d, d / "pred.json")


def test_finite_1e308_values_are_refused_not_a_linalg_error(tmp_path: Path) -> None:
    d = _fh(tmp_path)
    (d / "pred.json").write_text(json.dumps([np.full_like(GX, 1e308).tolist(), np.full_like(GV, 1e308).tolist()]))
    with pytest.raises(SubmissionError, match="beyond 1e\\+09"):
        get_protocol("freihand").score_files(d, d / "pred.json")


@pytest.mark.parametrize("name", ["pred.json", "evaluation_xyz.json"])
def test_deeply_nested_json(tmp_path: Path, name: str) -> None:
    d = _fh(tmp_path)
    (d / name).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises((SubmissionError, AnnotationError), match=name.replace(".", "\\.")):
        get_protocol("freihand").score_files(d, d / "pred.json")


# -- DexYCB toolkit text ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pred", "gt", "err", "match"),
    [
        (b"\xff\xfe0" + LINE.encode() + b"\n", None, SubmissionError, "res.txt line 1 is not UTF-8"),
        (b"0" + LINE.encode() + b"\n1,\xe9" + LINE.encode() + b"\n", None, SubmissionError, "line 2 is not UTF-8"),
        (None, b"0,\xff" + LINE.encode() + b"\n", AnnotationError, "joint_3d.txt line 1 is not UTF-8"),
        (("1" * 40 + LINE + "\n").encode(), None, SubmissionError, "image id 1111.* is out of range"),
        (
            "".join(f"{i}," + ",".join(["1e308"] * 63) + "\n" for i in range(N)).encode(),
            None,
            SubmissionError,
            "beyond",
        ),
    ],
)
def test_dexycb_hostile_text(tmp_path: Path, pred, gt, err, match) -> None:
    d = _dexycb(tmp_path, pred, gt)
    with pytest.raises(err, match=match):
        get_protocol("dexycb").score_files(d, d / "res.txt")


def test_dexycb_non_utf8_through_the_score_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _dexycb(tmp_path, pred=b"\xff" + LINE.encode() + b"\n")
    argv = [
        "--protocol",
        "dexycb",
        "--gt-dir",
        str(d),
        "--pred",
        str(d / "res.txt"),
        "--out",
        str(d / "o"),
        "--no-plot",
    ]
    assert score_main(argv) != 0
    err = capsys.readouterr().err
    assert "not UTF-8" in err and "Traceback" not in err


# -- npz archives ----------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["pred", "gt"])
def test_truncated_interhand_npz(tmp_path: Path, which: str) -> None:
    d = _interhand(tmp_path)
    f = d / ("pred.npz" if which == "pred" else "interhand_gt.npz")
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(SubmissionError if which == "pred" else AnnotationError, match="truncated or corrupt .npz"):
        get_protocol("interhand").score_files(d, d / "pred.npz")


@pytest.mark.parametrize("name", ["stb-3dhand", "rhd"])
def test_truncated_npz_submission_and_ground_truth(tmp_path: Path, name: str) -> None:
    good = _npz(joints=GX)
    np.savez(tmp_path / "gt.npz", joints=GX)
    (tmp_path / "pred.npz").write_bytes(good[:200])
    with pytest.raises(SubmissionError, match="truncated or corrupt"):
        get_protocol(name).score_files(tmp_path, tmp_path / "pred.npz")
    (tmp_path / "pred.npz").write_bytes(good)
    (tmp_path / "gt.npz").write_bytes(good[:-10])
    with pytest.raises(AnnotationError, match="truncated or corrupt"):
        get_protocol(name).score_files(tmp_path, tmp_path / "pred.npz")


def test_random_bytes_npz_is_not_called_pickled(tmp_path: Path) -> None:
    np.savez(tmp_path / "gt.npz", joints=GX)
    (tmp_path / "pred.npz").write_bytes(bytes(np.random.default_rng(3).integers(0, 256, 500, dtype=np.uint8)))
    with pytest.raises(SubmissionError, match="is not an .npz archive") as info:
        get_protocol("stb-3dhand").score_files(tmp_path, tmp_path / "pred.npz")
    assert "pickle" not in str(info.value)
    np.save(tmp_path / "one.npy", GX)
    (tmp_path / "pred.npz").write_bytes((tmp_path / "one.npy").read_bytes())
    with pytest.raises(SubmissionError, match="a single .npy array"):
        get_protocol("stb-3dhand").score_files(tmp_path, tmp_path / "pred.npz")
    (tmp_path / "pred.npz").write_bytes(b"")
    with pytest.raises(SubmissionError, match="empty"):
        get_protocol("stb-3dhand").score_files(tmp_path, tmp_path / "pred.npz")


def test_object_array_in_npz_says_objects(tmp_path: Path) -> None:
    np.savez(tmp_path / "gt.npz", joints=GX)
    np.savez(tmp_path / "pred.npz", joints=np.array([GX, "x"], dtype=object))
    with pytest.raises(SubmissionError, match="Python objects"):
        get_protocol("stb-3dhand").score_files(tmp_path, tmp_path / "pred.npz")


# -- InterHand joint_cam ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("gt", "pred", "err", "match"),
    [
        (None, {"joint_cam": np.float64(3.0)}, SubmissionError, "single number"),
        ({"joint_cam": np.float64(3.0)}, None, AnnotationError, "single number"),
        (None, {"joint_cam": np.full_like(IJ, 1e308)}, SubmissionError, "beyond"),
        ({"joint_cam": np.full_like(IJ, 1e308)}, None, AnnotationError, "beyond"),
    ],
)
def test_interhand_scalar_and_huge_joint_cam(tmp_path: Path, gt, pred, err, match) -> None:
    d = _interhand(tmp_path, gt, pred)
    with pytest.raises(err, match=match):
        get_protocol("interhand").score_files(d, d / "pred.npz")


def test_interhand_ragged_joint_cam_json(tmp_path: Path) -> None:
    d = _interhand(tmp_path)
    (d / "pred.json").write_text(json.dumps({"joint_cam": [IJ[0].tolist(), [[1, 2]], 5, []]}))
    with pytest.raises(SubmissionError, match="sample 1"):
        get_protocol("interhand").score_files(d, d / "pred.json")


@pytest.mark.parametrize("joints", [{}, [["a"] * 3] * 21, [[1, 2], [3]], 5])
def test_pck3d_joints_that_are_not_an_array(tmp_path: Path, joints) -> None:
    """Found by tests/fuzz/test_fuzz_submissions.py: a dict, strings or ragged lists raised TypeError."""
    np.savez(tmp_path / "gt.npz", joints=GX)
    (tmp_path / "pred.json").write_text(json.dumps({"joints": joints}))
    with pytest.raises(SubmissionError):
        get_protocol("egodexter-3dhand").score_files(tmp_path, tmp_path / "pred.json")


def test_pck3d_valid_flags_of_the_wrong_shape(tmp_path: Path) -> None:
    np.savez(tmp_path / "gt.npz", joints=GX, valid=np.ones((N, 5)))
    np.savez(tmp_path / "pred.npz", joints=GX)
    with pytest.raises(SubmissionError, match="validity flags have shape"):
        get_protocol("stb-3dhand").score_files(tmp_path, tmp_path / "pred.npz")
