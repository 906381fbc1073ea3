"""DexYCB: the toolkit, HandOccNet's and H2ONet's evaluations, equal to the official code (1e-9 relative)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from protocol_golden import assert_close, load_golden, write_fh_files, write_joint_txt

from handzoo.protocols import get_protocol
from handzoo.protocols.score_cli import add_arguments, run

TOOLKIT = load_golden("dexycb")
HANDOCCNET = load_golden("dexycb_handoccnet")
H2ONET = load_golden("dexycb_h2onet")
SCENARIOS = sorted(TOOLKIT["scenarios"])
_ALIGN = {"absolute": "absolute", "root-relative": "root_relative", "procrustes": "procrustes"}


def _score_json(tmp: Path, protocol: str, gt_dir: Path, pred: Path) -> dict:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        ["--protocol", protocol, "--gt-dir", str(gt_dir), "--pred", str(pred), "--out", str(tmp / "out"), "--no-plot"]
    )
    assert run(args) == 0
    return json.loads((tmp / "out" / "scores.json").read_text())


def _check_toolkit(scores: dict, golden: dict, label: str) -> None:
    for al, key in _ALIGN.items():
        for m in ("mpjpe", "auc"):
            assert_close(scores[f"{key}_{m}"], golden["results"][al][m], f"{label} {key}_{m}")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_toolkit_tensor_path(dexycb_inputs, scenario: str) -> None:
    d = dexycb_inputs
    res = get_protocol("dexycb").evaluate(pred_joints=d[f"pred_{scenario}"] / 1000, gt_joints=d["gt"] / 1000)
    _check_toolkit(res.scores, TOOLKIT["scenarios"][scenario], scenario)
    for al, curve in TOOLKIT["scenarios"][scenario]["pck"].items():
        np.testing.assert_allclose(res.curves[al]["values"], curve, rtol=1e-12, atol=1e-15)
    assert res.metrics["PA-MPJPE"] == res.scores["procrustes_mpjpe"]
    assert res.units["PA-MPJPE"] == "mm" and res.units["PA-AUC"] == "fraction"


@pytest.mark.parametrize("scenario", ["noise", "mirrored", "zero"])
def test_toolkit_drop_in(dexycb_inputs, tmp_path: Path, scenario: str) -> None:
    d = dexycb_inputs
    write_joint_txt(tmp_path / "joint_3d.txt", d["ids"], d["gt"], extra=False)
    pred = write_joint_txt(tmp_path / "results.txt", d["ids"], d[f"pred_{scenario}"])
    payload = _score_json(tmp_path, "dexycb", tmp_path, pred)
    _check_toolkit(payload["scores"], TOOLKIT["scenarios"][scenario], scenario)
    assert any("ignored" in n for n in payload["notes"])  # the extra id 99999
    assert "absolute_mpjpe: " in (tmp_path / "out" / "scores.txt").read_text()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_handoccnet_tensor_path(dexycb_inputs, scenario: str) -> None:
    d = dexycb_inputs
    res = get_protocol("dexycb-handoccnet").evaluate(
        pred_joints=d[f"pred_{scenario}"] / 1000, gt_joints=d["gt"] / 1000, side=d["side"]
    )
    gold = HANDOCCNET["scenarios"][scenario]
    assert_close(res.scores["mpjpe"], gold["mpjpe"], "mpjpe")
    assert_close(res.scores["pa_mpjpe"], gold["pa_mpjpe"], "pa_mpjpe")


def test_handoccnet_rejects_reflections(dexycb_inputs) -> None:
    mirrored, noise = HANDOCCNET["scenarios"]["mirrored"], HANDOCCNET["scenarios"]["noise"]
    assert mirrored["pa_mpjpe"] > 5 * noise["pa_mpjpe"]  # the official numbers themselves
    h2o = H2ONET["scenarios"]
    assert h2o["mirrored"]["PAMPJPE"] == pytest.approx(h2o["noise"]["PAMPJPE"])


def test_handoccnet_drop_in(dexycb_inputs, tmp_path: Path) -> None:
    d = dexycb_inputs
    write_joint_txt(tmp_path / "joint_3d.txt", d["ids"], d["gt"], extra=False)
    pred = write_joint_txt(tmp_path / "results.txt", d["ids"], d["pred_large"])
    payload = _score_json(tmp_path, "dexycb-handoccnet", tmp_path, pred)
    for k in ("mpjpe", "pa_mpjpe"):
        assert_close(payload["scores"][k], HANDOCCNET["scenarios"]["large"][k], k)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_h2onet_tensor_path(dexycb_inputs, scenario: str) -> None:
    d = dexycb_inputs
    res = get_protocol("dexycb-h2onet").evaluate(
        pred_joints=d[f"pred_{scenario}"] / 1000,
        gt_joints=d["gt"] / 1000,
        pred_verts=d[f"pred_verts_{scenario}"],
        gt_verts=d["gt_verts"],
    )
    gold = H2ONET["scenarios"][scenario]
    pairs = (
        ("mpjpe", "MPJPE"),
        ("pa_mpjpe", "PAMPJPE"),
        ("mpvpe", "MPVPE"),
        ("pa_mpvpe", "PAMPVPE"),
        ("score", "score"),
    )
    for ours, theirs in pairs:
        assert_close(res.scores[ours], gold[theirs], f"{scenario} {ours}")


def test_h2onet_drop_in_and_joints_only(dexycb_inputs, tmp_path: Path) -> None:
    d = dexycb_inputs
    pred = write_fh_files(tmp_path, d["gt"] / 1000, d["gt_verts"], d["pred_noise"] / 1000, d["pred_verts_noise"])
    payload = _score_json(tmp_path, "dexycb-h2onet", tmp_path, pred)
    assert_close(payload["scores"]["pa_mpvpe"], H2ONET["scenarios"]["noise"]["PAMPVPE"], "pa_mpvpe")
    res = get_protocol("dexycb-h2onet").evaluate(pred_joints=d["pred_noise"] / 1000, gt_joints=d["gt"] / 1000)
    assert np.isnan(res.scores["mpvpe"]) and res.notes
    assert_close(res.scores["pa_mpjpe"], H2ONET["scenarios"]["noise"]["PAMPJPE"], "pa_mpjpe")


@pytest.mark.parametrize("scenario", ["noise", "mirrored", "large"])
def test_h2onet_paper_extras_equal_freihand_official(fh_inputs, scenario: str) -> None:
    """PA-AUC and aligned F-scores (H2ONet's paper metrics, not in its evaluate()) use FreiHAND's
    definitions; Procrustes ignores the root shift, so on the FreiHAND fixture they equal the
    official FreiHAND outputs."""
    d = fh_inputs
    res = get_protocol("dexycb-h2onet").evaluate(
        pred_joints=d[f"pred_xyz_{scenario}"],
        gt_joints=d["gt_xyz"],
        pred_verts=d[f"pred_verts_{scenario}"],
        gt_verts=d["gt_verts"],
    )
    fh = load_golden("freihand")["scenarios"][scenario]["scores"]
    assert_close(res.metrics["PA-AUC-J"], fh["xyz_al_auc3d"], "PA-AUC-J")
    assert_close(res.metrics["PA-AUC-V"], fh["mesh_al_auc3d"], "PA-AUC-V")
    assert_close(res.metrics["F@5"], fh["f_al_score_5"], "F@5")
    assert_close(res.metrics["F@15"], fh["f_al_score_15"], "F@15")
    assert_close(res.metrics["PA-MPJPE"], fh["xyz_al_mean3d"] * 10, "PA-MPJPE")
    assert set(res.scores) == {"mpjpe", "pa_mpjpe", "mpvpe", "pa_mpvpe", "score"}
    assert res.units["F@5"] == "fraction" and "vertices_pa" in res.curves


def test_h2onet_paper_metrics_only_when_asked(fh_inputs, tmp_path: Path) -> None:
    """``handzoo-bench score`` does the official work by default; --paper-metrics adds the extras."""
    from handzoo.errors import ConfigError

    d = fh_inputs
    pred = write_fh_files(tmp_path, d["gt_xyz"], d["gt_verts"], d["pred_xyz_noise"], d["pred_verts_noise"])
    proto = get_protocol("dexycb-h2onet")
    plain = proto.score_files(tmp_path, pred)
    assert np.isnan(plain.metrics["F@5"]) and np.isnan(plain.metrics["PA-AUC-J"])
    assert any("--paper-metrics" in n for n in plain.notes)
    full = proto.score_files(tmp_path, pred, paper_metrics=True)
    assert plain.scores == full.scores
    fh = load_golden("freihand")["scenarios"]["noise"]["scores"]
    assert_close(full.metrics["F@5"], fh["f_al_score_5"], "F@5")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    common = ["--gt-dir", str(tmp_path), "--pred", str(pred), "--out", str(tmp_path / "o"), "--no-plot", "--json"]
    assert run(parser.parse_args(["--protocol", "dexycb-h2onet", "--paper-metrics", *common])) == 0
    with pytest.raises(ConfigError, match="paper-only"):
        run(parser.parse_args(["--protocol", "freihand", "--paper-metrics", *common]))
