"""FreiHAND and HO-3D: every scores.txt key equals the official eval.py's output (1e-9 relative)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from protocol_golden import GL, assert_close, load_golden, write_fh_files

from handzoo.geometry.joint_orders import convert_joints
from handzoo.protocols import get_protocol
from handzoo.protocols.score_cli import add_arguments, run

FREIHAND = load_golden("freihand")
HO3D = load_golden("ho3d")
SCENARIOS = sorted(FREIHAND["scenarios"])


def _cli(tmp: Path, protocol: str, gt_dir: Path, pred: Path, plot: bool = False) -> Path:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out = tmp / "out"
    argv = ["--protocol", protocol, "--gt-dir", str(gt_dir), "--pred", str(pred), "--out", str(out), "--no-progress"]
    assert run(parser.parse_args(argv + ([] if plot else ["--no-plot"]))) == 0
    return out


def _parse_scores_txt(path: Path) -> dict[str, str]:
    return dict(line.split(": ") for line in path.read_text().splitlines())


def _check(scores: dict[str, float], golden: dict, label: str) -> None:
    assert list(scores) == list(golden["scores_txt"]), label  # same keys, same order
    for k, v in golden["scores"].items():
        assert_close(scores[k], v, f"{label} {k}")
        assert f"{scores[k]:f}" == golden["scores_txt"][k], f"{label} {k}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_freihand_tensor_path(fh_inputs, scenario: str) -> None:
    d = fh_inputs
    res = get_protocol("freihand").evaluate(
        pred_joints=d[f"pred_xyz_{scenario}"],
        gt_joints=d["gt_xyz"],
        pred_verts=d[f"pred_verts_{scenario}"],
        gt_verts=d["gt_verts"],
    )
    _check(res.scores, FREIHAND["scenarios"][scenario], scenario)
    for name, curve in FREIHAND["scenarios"][scenario]["pck"].items():
        np.testing.assert_allclose(res.curves[name]["values"], curve, rtol=1e-12, atol=1e-15)
    assert res.metrics["PA-MPJPE"] == pytest.approx(res.scores["xyz_al_mean3d"] * 10, rel=1e-12)
    assert res.metrics["F@5"] == res.scores["f_al_score_5"]
    assert any("3960" in n for n in res.notes)


@pytest.mark.parametrize("scenario", ["noise", "zero", "nonmano"])
def test_freihand_drop_in_scorer(fh_inputs, tmp_path: Path, scenario: str) -> None:
    d = fh_inputs
    pred = write_fh_files(
        tmp_path / "ref", d["gt_xyz"], d["gt_verts"], d[f"pred_xyz_{scenario}"], d[f"pred_verts_{scenario}"]
    )
    out = _cli(tmp_path, "freihand", tmp_path, pred, plot=scenario == "noise")  # GT found under ref/
    golden = FREIHAND["scenarios"][scenario]
    assert _parse_scores_txt(out / "scores.txt") == golden["scores_txt"]
    import json

    payload = json.loads((out / "scores.json").read_text())
    for k, v in golden["scores"].items():
        assert_close(payload["scores"][k], v, k)
    assert payload["protocol"]["name"] == "freihand"
    assert (out / "pck.png").is_file() == (scenario == "noise")


def _ho3d_rows(d: dict, scenario: str) -> dict:
    """HO-3D files hold OpenGL, HO-3D-order arrays; handzoo rows are OpenCV, handzoo21."""

    def rows(a: np.ndarray) -> np.ndarray:  # a: the file's array
        return convert_joints(a * GL, "ho3d")

    return {
        "pred_joints": rows(d[f"pred_xyz_{scenario}"] * GL),
        "gt_joints": rows(d["gt_xyz"] * GL),
        "pred_verts": d[f"pred_verts_{scenario}"],
        "gt_verts": d["gt_verts"],
    }


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_ho3d_tensor_path(fh_inputs, scenario: str) -> None:
    res = get_protocol("ho3d-v2").evaluate(**_ho3d_rows(fh_inputs, scenario))
    _check(res.scores, HO3D["scenarios"][scenario], scenario)
    for name, curve in HO3D["scenarios"][scenario]["pck"].items():
        np.testing.assert_allclose(res.curves[name]["values"], curve, rtol=1e-12, atol=1e-15)
    assert "ST-MPJPE" in res.metrics


@pytest.mark.parametrize("scenario", ["noise", "constant"])
def test_ho3d_drop_in_scorer(fh_inputs, tmp_path: Path, scenario: str) -> None:
    d = fh_inputs
    pred = write_fh_files(
        tmp_path,
        d["gt_xyz"] * GL,
        d["gt_verts"] * GL,
        d[f"pred_xyz_{scenario}"] * GL,
        d[f"pred_verts_{scenario}"] * GL,
    )
    out = _cli(tmp_path, "ho3d", tmp_path, pred)
    assert _parse_scores_txt(out / "scores.txt") == HO3D["scenarios"][scenario]["scores_txt"]


def test_ho3d_v3_states_its_size(fh_inputs) -> None:
    res = get_protocol("ho3d-v3").evaluate(**_ho3d_rows(fh_inputs, "noise"))
    assert any("20137" in n for n in res.notes)
    _check(res.scores, HO3D["scenarios"]["noise"], "v3")
