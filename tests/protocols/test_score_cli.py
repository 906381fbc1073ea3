"""The drop-in scorer CLI: outputs, --json, and clear errors for bad submissions."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from protocol_golden import load_golden, write_fh_files, write_joint_txt

from handzoo.errors import (
    AnnotationError,
    ConfigError,
    DatasetNotFoundError,
    HandzooError,
    SubmissionError,
)
from handzoo.protocols.score_cli import add_arguments, main, run


def _args(gt: Path, pred: Path, out: Path, protocol: str = "freihand", *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(
        ["--protocol", protocol, "--gt-dir", str(gt), "--pred", str(pred), "--out", str(out), "--no-plot", *extra]
    )


@pytest.fixture
def fh_dir(fh_inputs, tmp_path: Path) -> Path:
    d = fh_inputs
    write_fh_files(tmp_path, d["gt_xyz"], d["gt_verts"], d["pred_xyz_noise"], d["pred_verts_noise"])
    return tmp_path


def test_json_output_and_pred_folder(fh_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_args(fh_dir, fh_dir, fh_dir / "out", "freihand", "--json")) == 0  # --pred DIR finds pred.json
    payload = json.loads(capsys.readouterr().out)
    golden = load_golden("freihand")["scenarios"]["noise"]["scores"]
    assert payload["scores"]["f_al_score_5"] == pytest.approx(golden["f_al_score_5"], rel=1e-12)
    assert payload["protocol"]["pck"] == {"start": 0.0, "stop": 0.05, "steps": 100, "unit": "m", "comparison": "<="}
    assert payload["protocol"]["fscore_comparison"] == "<"
    assert payload["units"]["PA-MPJPE"] == "mm" and payload["headline"][0] == "PA-MPJPE"


def test_table_output(fh_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_args(fh_dir, fh_dir / "pred.json", fh_dir / "out")) == 0
    out = capsys.readouterr().out
    assert "xyz_al_mean3d" in out and "note" in out


def _rewrite_pred(d: Path, fn) -> Path:
    pred = json.loads((d / "pred.json").read_text())
    (d / "pred.json").write_text(json.dumps(fn(pred)))
    return d / "pred.json"


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda p: p[0], "list of two lists"),
        (lambda p: [p[0][:-1], p[1]], "xyz_list has 11 entries"),
        (lambda p: [p[0], p[1][:-1]], "verts_list has 11 entries"),
        (lambda p: [[x[:20] for x in p[0]], p[1]], "sample 0 has shape \\(20, 3\\)"),
        (lambda p: [p[0], [p[1][0][:5]] + p[1][1:]], "sample 1 has shape \\(120, 3\\) but sample 0 has \\(5, 3\\)"),
        (lambda p: [p[0][:3] + [[["a", 1, 2]] * 21] + p[0][4:], p[1]], "sample 3"),
        (lambda p: [p[0][:2] + [[[float("nan"), 1, 2]] * 21] + p[0][3:], p[1]], "sample 2 contains NaN"),
    ],
)
def test_bad_pred_json(fh_dir: Path, mutate, match: str) -> None:
    pred = _rewrite_pred(fh_dir, mutate)
    with pytest.raises(SubmissionError, match=match):
        run(_args(fh_dir, pred, fh_dir / "out"))


def test_truncated_json_and_missing_files(fh_dir: Path, tmp_path: Path) -> None:
    (fh_dir / "pred.json").write_text((fh_dir / "pred.json").read_text()[:1000])
    with pytest.raises(SubmissionError, match="not valid JSON"):
        run(_args(fh_dir, fh_dir / "pred.json", fh_dir / "out"))
    with pytest.raises(SubmissionError, match="not found"):
        run(_args(fh_dir, fh_dir / "nope.json", fh_dir / "out"))
    (tmp_path / "other.json").write_text("[]")
    (fh_dir / "pred.json").unlink()
    with pytest.raises(SubmissionError, match="other .json files"):
        run(_args(fh_dir, fh_dir, fh_dir / "out"))  # two candidate files: ambiguous
    with pytest.raises(DatasetNotFoundError, match="evaluation_verts.json"):
        empty = tmp_path / "empty"
        empty.mkdir()
        run(_args(empty, fh_dir, fh_dir / "out"))
    with pytest.raises(DatasetNotFoundError):
        run(_args(tmp_path / "absent", fh_dir, fh_dir / "out"))


def test_unknown_protocol_and_unwritable_out(fh_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="known protocols"):
        run(_args(fh_dir, fh_dir, fh_dir / "out", "coco"))
    blocker = fh_dir / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="writable"):
        run(_args(fh_dir, fh_dir, blocker / "out"))
    argv = ["--protocol", "coco", "--gt-dir", str(fh_dir), "--pred", str(fh_dir), "--out", str(fh_dir)]
    assert main(argv) == 2
    assert "unknown evaluation protocol" in capsys.readouterr().err


def test_dexycb_results_errors(dexycb_inputs, tmp_path: Path) -> None:
    d = dexycb_inputs
    write_joint_txt(tmp_path / "joint_3d.txt", d["ids"], d["gt"], extra=False)
    res = tmp_path / "results.txt"

    def check(text: str, err: type[HandzooError], match: str) -> None:
        res.write_text(text)
        with pytest.raises(err, match=match):
            run(_args(tmp_path, res, tmp_path / "out", "dexycb"))

    good = [f"{int(i)}," + ",".join(map(repr, j.reshape(-1).tolist())) for i, j in zip(d["ids"], d["pred_noise"])]
    check("\n".join(good[1:]) + "\n", SubmissionError, "lacks 1 of the 15")
    check("\n".join(good[:3] + [good[3].rsplit(",", 1)[0]] + good[4:]), SubmissionError, "line 4 has 63")
    check("\n".join(good[:2] + [good[2].replace(",", ",x", 1)] + good[3:]), SubmissionError, "line 3 holds a value")
    check("\n".join(good[:1] + [good[1].rsplit(",", 1)[0] + ",nan"] + good[2:]), SubmissionError, "NaN")
    check("", SubmissionError, "empty")
    # a blank line: the toolkit raises (1 comma-separated element), so do we, naming file and line
    check("\n".join(good[:5] + [""] + good[5:]) + "\n", SubmissionError, r"results.txt line 6 is blank")
    check("\n".join(good) + "\n\n", SubmissionError, "line 16 is blank")
    res.write_text("\n".join(good + good[:2]) + "\n")  # duplicates: accepted (the last line wins), noted
    assert run(_args(tmp_path, res, tmp_path / "out", "dexycb")) == 0
    notes = json.loads((tmp_path / "out" / "scores.json").read_text())["notes"]
    assert any("more than once" in n for n in notes)
    (tmp_path / "joint_3d.txt").write_text("1,2,3\n")
    with pytest.raises(AnnotationError, match="ground truth"):
        run(_args(tmp_path, res, tmp_path / "out", "dexycb"))
    (tmp_path / "joint_3d.txt").unlink()
    with pytest.raises(DatasetNotFoundError):
        run(_args(tmp_path, res, tmp_path / "out", "dexycb-handoccnet"))


def test_interhand_file_errors(interhand_inputs, tmp_path: Path) -> None:
    d = interhand_inputs
    pred = tmp_path / "pred.npz"
    np.savez(pred, joint_cam=d["joint_cam"])
    with pytest.raises(DatasetNotFoundError, match="interhand_gt"):
        run(_args(tmp_path, pred, tmp_path / "out", "interhand"))
    np.savez(
        tmp_path / "interhand_gt.npz", joint_cam=d["joint_cam"], joint_valid=d["joint_valid"], hand_type=d["hand_type"]
    )
    np.savez(pred, joint_cam=d["joint_cam"][:-1])
    with pytest.raises(SubmissionError, match="17 samples"):
        run(_args(tmp_path, pred, tmp_path / "out", "interhand"))
    np.savez(pred, joint_coord=d["joint_coord"])
    with pytest.raises(AnnotationError, match="focal"):
        run(_args(tmp_path, pred, tmp_path / "out", "interhand"))
    np.savez(pred, something=np.zeros(3))
    with pytest.raises(SubmissionError, match="neither"):
        run(_args(tmp_path, pred, tmp_path / "out", "interhand"))
    np.savez(pred, joint_cam=d["joint_cam"])
    assert run(_args(tmp_path, pred, tmp_path / "out", "interhand")) == 0
    scores = json.loads((tmp_path / "out" / "scores.json").read_text())["scores"]
    assert scores["mpjpe_all"] == 0.0 and scores["mrrpe"] == 0.0 and scores["handedness_accuracy"] is None


def test_joints_only_submission(fh_dir: Path) -> None:
    pred = _rewrite_pred(fh_dir, lambda p: [p[0], [[] for _ in p[1]]])
    assert run(_args(fh_dir, pred, fh_dir / "out")) == 0
    payload = json.loads((fh_dir / "out" / "scores.json").read_text())
    s = payload["scores"]
    assert s["mesh_al_mean3d"] == -100.0 and s["mesh_auc3d"] == -1.0 and s["f_al_score_15"] == 0.0
    golden = load_golden("freihand")["scenarios"]["noise"]["scores"]
    assert s["xyz_al_mean3d"] == pytest.approx(golden["xyz_al_mean3d"], rel=1e-12)
