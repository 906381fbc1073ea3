"""InterHand2.6M: raw InterNet outputs and handzoo rows, equal to Dataset.evaluate (1e-9 relative)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from protocol_golden import assert_close, load_golden

from handzoo.errors import InputError
from handzoo.geometry.joint_orders import convert_joints
from handzoo.protocols import get_protocol
from handzoo.protocols.interhand import internet_to_camera
from handzoo.protocols.score_cli import add_arguments, run

GOLDEN = load_golden("interhand")["scores"]
GT_KEYS = ("joint_cam", "joint_valid", "hand_type", "hand_type_valid", "focal", "princpt", "abs_depth")


def _cli(tmp: Path, pred: Path) -> dict:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    argv = ["--protocol", "interhand2.6m", "--gt-dir", str(tmp), "--pred", str(pred), "--out", str(tmp / "o")]
    assert run(parser.parse_args(argv + ["--no-plot"])) == 0
    return json.loads((tmp / "o" / "scores.json").read_text())


def test_raw_internet_outputs_npz(interhand_inputs, tmp_path: Path) -> None:
    d = interhand_inputs
    np.savez(tmp_path / "interhand_gt.npz", **{k: d[k] for k in GT_KEYS})
    np.savez(
        tmp_path / "pred.npz",
        joint_coord=d["joint_coord"],
        rel_root_depth=d["rel_root_depth"],
        inv_trans=d["inv_trans"],
        hand_type=d["hand_prob"],
    )
    payload = _cli(tmp_path, tmp_path / "pred.npz")
    for k, v in GOLDEN.items():
        assert_close(payload["scores"][k], v, k)


def test_camera_joints_json(interhand_inputs, tmp_path: Path) -> None:
    d = interhand_inputs
    cam, rel = internet_to_camera(
        d["joint_coord"], d["rel_root_depth"], d["inv_trans"], d["focal"], d["princpt"], d["abs_depth"]
    )
    gt = {k: d[k].tolist() for k in ("joint_cam", "joint_valid", "hand_type_valid")}
    gt["hand_type"] = [("right", "left", "interacting")[int(t)] for t in d["hand_type"]]
    (tmp_path / "interhand_gt.json").write_text(json.dumps(gt))
    pred = {"joint_cam": cam.tolist(), "rel_root": rel.tolist(), "hand_prob": d["hand_prob"].tolist()}
    (tmp_path / "pred.json").write_text(json.dumps(pred))
    payload = _cli(tmp_path, tmp_path / "pred.json")
    for k, v in GOLDEN.items():
        assert_close(payload["scores"][k], v, k)


def _rows(d: dict) -> dict:
    """One row per annotated hand, handzoo conventions (metres, handzoo21)."""
    cam, rel = internet_to_camera(
        d["joint_coord"], d["rel_root_depth"], d["inv_trans"], d["focal"], d["princpt"], d["abs_depth"]
    )
    cam = np.asarray(cam)
    gj, pj, valid, side, sidx = [], [], [], [], []
    for i, t in enumerate(d["hand_type"]):
        for h in (0,) if t == 0 else (1,) if t == 1 else (1, 0):  # row order must not matter
            sl = slice(21 * h, 21 * h + 21)
            gj.append(convert_joints(d["joint_cam"][i, sl], "interhand") / 1000)
            pj.append(convert_joints(cam[i, sl], "interhand") / 1000)
            valid.append(convert_joints(d["joint_valid"][i, sl, None], "interhand")[:, 0] > 0)
            side.append(h)
            sidx.append(10 * i + 3)
    meta = {
        10 * i + 3: {"hand_type": ("right", "left", "interacting")[int(t)], "hand_type_valid": bool(v)}
        for i, (t, v) in enumerate(zip(d["hand_type"], d["hand_type_valid"]))
    }
    return {
        "pred_joints": np.stack(pj),
        "gt_joints": np.stack(gj),
        "joints_valid": np.stack(valid),
        "side": np.array(side),
        "sample_index": np.array(sidx),
        "meta": meta,
        "pred_hand_prob": d["hand_prob"],
        "pred_rel_root": np.asarray(rel) / 1000,
    }


def test_handzoo_rows(interhand_inputs) -> None:
    res = get_protocol("interhand").evaluate(**_rows(interhand_inputs))
    for k, v in GOLDEN.items():
        assert_close(res.scores[k], v, k)
    assert res.metrics["MPJPE"] == res.scores["mpjpe_all"]


def test_rows_without_extras(interhand_inputs) -> None:
    rows = _rows(interhand_inputs)
    for k in ("meta", "pred_hand_prob", "pred_rel_root"):
        rows.pop(k)
    res = get_protocol("interhand").evaluate(**rows)
    assert np.isnan(res.scores["handedness_accuracy"]) and res.notes
    # types inferred from the rows present equal the annotated ones here
    assert_close(res.scores["mpjpe_single"], GOLDEN["mpjpe_single"], "single")
    assert res.scores["mrrpe"] > 0


def test_rows_errors(interhand_inputs) -> None:
    rows = _rows(interhand_inputs)
    rows["side"] = rows["side"] * 0
    with pytest.raises(InputError, match="same hand"):
        get_protocol("interhand").evaluate(**rows)
    rows = _rows(interhand_inputs)
    rows["side"][0] = 2
    with pytest.raises(InputError):
        get_protocol("interhand").evaluate(**rows)
