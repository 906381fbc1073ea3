"""RHD protocol: root-relative, scale-normalised 3D PCK/AUC 20-50 mm and EPE, dominant hand, visible joints."""

from __future__ import annotations

import json

import numpy as np
import pytest

from handzoo.bench import cli
from handzoo.protocols import get_protocol
from handzoo.testing.datasets import write_rhd
from handzoo.types import LEFT, RIGHT


def _by_hand(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray, scale: bool) -> dict[str, float]:
    """The RHD numbers computed by explicit loops (no handzoo code)."""
    per_joint: list[list[float]] = [[] for _ in range(21)]
    for g, p, v in zip(gt, pred, valid):
        p = p - p[0]
        if scale:
            p = p * np.linalg.norm(g[10] - g[9]) / np.linalg.norm(p[10] - p[9])
        p = p + g[0]
        for k in range(21):
            if v[k]:
                per_joint[k].append(float(np.linalg.norm(p[k] - g[k])) * 1000.0)
    ts = np.arange(51.0)
    curves = [np.array([np.mean(np.array(e) <= t) for t in ts]) for e in per_joint if e]
    pck = np.mean(curves, axis=0)
    w = (ts >= 20) & (ts <= 50)
    auc = float(np.sum((pck[w][1:] + pck[w][:-1]) / 2 * np.diff(ts[w])) / 30.0)
    return {"AUC_20_50": auc, "EPE_mean": float(np.mean([np.mean(e) for e in per_joint if e])), "PCK@30": pck[30]}


def _hands(m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gt = rng.normal(0, 0.04, (m, 21, 3)) + np.array([0, 0, 0.5])
    pred = gt * rng.uniform(0.7, 1.3, (m, 1, 1)) + rng.normal(0, 0.012, (m, 21, 3)) + rng.normal(0, 0.1, (m, 1, 3))
    return gt, pred


@pytest.mark.parametrize("scale", [True, False])
def test_rhd_equals_explicit_loops(scale: bool) -> None:
    gt, pred = _hands(9)
    valid = np.random.default_rng(1).random((9, 21)) > 0.2
    res = get_protocol("rhd").evaluate(pred_joints=pred, gt_joints=gt, joints_valid=valid, scale=scale)
    want = _by_hand(gt, pred, valid, scale)
    for k, v in want.items():
        assert res.metrics[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k
    assert res.headline[0] == "AUC_20_50" and res.units["EPE_mean"] == "mm"
    assert any("root-relative" in n for n in res.notes)


def test_rhd_scores_the_dominant_hand_and_its_visible_joints() -> None:
    gt, pred = _hands(4, seed=3)
    side = np.array([LEFT, RIGHT, LEFT, RIGHT])
    index = np.array([0, 0, 1, 1])
    vis1 = np.ones((2, 21), bool)
    vis1[1, 5:] = False
    meta = {0: {"dominant": 0, "visible": np.ones((2, 21), bool)}, 1: {"dominant": 1, "visible": vis1}}
    res = get_protocol("rhd").evaluate(pred_joints=pred, gt_joints=gt, side=side, sample_index=index, meta=meta)
    keep = [0, 3]  # sample 0: left (hand 0) dominant; sample 1: right (hand 1) dominant
    valid = np.stack([np.ones(21, bool), vis1[1]])
    want = _by_hand(gt[keep], pred[keep], valid, True)
    assert res.metrics["EPE_mean"] == pytest.approx(want["EPE_mean"], rel=1e-9)
    assert res.num_samples == 2 and any("2 of 4 hands" in n for n in res.notes)


def test_rhd_score_files(tmp_path) -> None:
    gt, pred = _hands(5, seed=4)
    np.savez(tmp_path / "gt.npz", joints=gt)
    (tmp_path / "pred.json").write_text(json.dumps({"joints": pred.tolist()}))
    res = get_protocol("rhd").score_files(tmp_path, tmp_path / "pred.json")
    assert res.metrics["AUC_20_50"] == pytest.approx(_by_hand(gt, pred, np.ones((5, 21), bool), True)["AUC_20_50"])


def test_handzoo_bench_scores_rhd(tmp_path, capsys) -> None:
    """`handzoo-bench --datasets rhd` used to skip RHD: "unknown evaluation protocol 'rhd'"."""
    write_rhd(tmp_path / "RHD", split="evaluation", n=3)
    args = ["--datasets", "rhd", "--models", "mean-hand", "--data-root", f"rhd={tmp_path / 'RHD'}"]
    assert cli.main([*args, "--out", str(tmp_path / "out"), "--no-progress", "--json"]) == 0
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    text = json.dumps(doc)
    assert "unknown evaluation protocol" not in text
    assert "AUC_20_50" in text and "EPE_mean" in text
