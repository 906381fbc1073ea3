"""The report's pictures: per-joint bars, the sample grid, the extra table columns, the latency plot
(absent without timings), a readable PCK panel, and a report that renders with NaN and failed cells."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bench_fakes import TinyModel, hand_of, tiny_providers, tiny_scorer

from handzoo.bench.records import GroundTruth, Predictions
from handzoo.bench.report import validate_document, write_report
from handzoo.bench.report.html import html_report
from handzoo.bench.report.pictures import finger_means, sample_grid
from handzoo.bench.report.plots import _panel_range
from handzoo.bench.report.tables import headline, markdown_report
from handzoo.bench.runner import BenchConfig, run_bench
from handzoo.bench.samples import per_hand_errors, pick_rows, sample_info
from handzoo.bench.scoring import ScoreResult, clean_number


def _rotation(seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


def test_per_hand_errors_ignore_similarity_and_see_joint_noise() -> None:
    gt = np.stack([hand_of(i)[0] for i in range(5)]).astype(np.float64)
    pred = np.stack([1.7 * g @ _rotation(i).T + 0.3 for i, g in enumerate(gt)])  # same hands, moved and scaled
    pred[3, 8] += [0.004, 0.0, 0.0]  # one fingertip 4 mm off on hand 3
    valid = np.ones((5, 21), dtype=bool)
    valid[4, 20] = False
    per_hand, per_joint = per_hand_errors(gt, pred, valid)
    assert per_hand[[0, 1, 2, 4]] == pytest.approx(0.0, abs=1e-4)  # FreiHAND's 1e-8 epsilon
    assert 0.05 < per_hand[3] < 4.0 and per_joint[3, 8] == per_joint[3].max()
    assert np.isnan(per_joint[4, 20]) and np.isfinite(per_joint[4, :20]).all()


def test_pick_rows_best_median_worst_once_each() -> None:
    errs = np.array([5.0, 1.0, np.nan, 9.0, 3.0, 7.0, 2.0, 8.0, 4.0, 6.0])
    picks = pick_rows(errs, per_rank=2)
    assert [r for r, _ in picks] == ["best", "best", "median", "median", "worst", "worst"]
    assert [errs[i] for _, i in picks] == [1.0, 2.0, 4.0, 5.0, 8.0, 9.0]  # 5 is the median
    few = pick_rows(np.array([2.0, 1.0]), per_rank=3)  # fewer hands than tiles: each hand once
    assert sorted(i for _, i in few) == [0, 1] and few[0] == ("best", 1)
    assert pick_rows(np.array([np.nan]), 3) == []


def test_sample_info_keeps_only_a_few_hands() -> None:
    m = 500
    rng = np.random.default_rng(0)
    gt_j = np.stack([hand_of(i % 9)[0] for i in range(m)]).astype(np.float64)
    pred_j = gt_j + rng.normal(scale=0.001, size=gt_j.shape) * np.linspace(0.1, 3, m)[:, None, None]
    gt = GroundTruth(
        sample_index=np.arange(m),
        hand_index=np.zeros(m, dtype=np.int64),
        side=np.zeros(m, dtype=np.int64),
        joints3d=gt_j,
        joints_valid=np.ones((m, 21), dtype=bool),
    )
    info = sample_info(gt, Predictions(joints3d=pred_j), per_rank=3)
    assert len(info["per_joint"]["values"]) == 21 and all(v > 0 for v in info["per_joint"]["values"])
    ranks = [s["rank"] for s in info["samples"]]
    assert ranks == ["best"] * 3 + ["median"] * 3 + ["worst"] * 3
    errs = [s["pa_mpjpe"] for s in info["samples"]]
    assert errs == sorted(errs) and max(s["sample_index"] for s in info["samples"][:3]) < 100
    assert len(json.dumps(info)) < 20_000  # the same size for 500 or 500 000 hands


def test_finger_means() -> None:
    values: list[float | None] = [1.0] + [2.0] * 4 + [3.0, None, 5.0, None] + [None] * 12
    assert finger_means(values) == [1.0, 2.0, 4.0, None, None, None]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("pictures")
    run = run_bench(BenchConfig(out=out, batch_size=4, progress=False), tiny_providers())
    return out, write_report(run, out)


def test_cells_keep_per_joint_errors_and_picked_hands(report) -> None:
    out, doc = report
    validate_document(json.loads((out / "results.json").read_text()))
    good = next(r for r in doc["results"] if r["model"] == "tiny-good")
    assert len(good["info"]["per_joint"]["values"]) == 21
    picks = good["info"]["samples"]
    # 7 samples, one valid hand each: every hand is shown once, best first
    assert sorted(p["sample_index"] for p in picks) == list(range(7))
    assert [p["rank"] for p in picks][0] == "best" and picks[-1]["rank"] == "worst"
    assert np.asarray(picks[0]["gt_joints3d"]).shape == (21, 3)
    baseline = next(r for r in doc["results"] if r["kind"] == "baseline")
    assert baseline["info"]["samples"] == [] and len(baseline["info"]["per_joint"]["values"]) == 21


def test_html_has_sample_grid_and_per_joint_bars(report) -> None:
    out, doc = report
    html = (out / "report.html").read_text()
    assert "<h3>Sample hands</h3>" in html and "<h3>Error per joint and per finger</h3>" in html
    assert 'alt="samples_tiny-good_tiny_tiny-protocol"' in html and 'alt="joints_tiny_tiny-protocol"' in html
    assert (out / "plots" / "samples_tiny-good_tiny_tiny-protocol.jpg").stat().st_size > 5_000


def test_sample_grid_without_the_dataset_still_draws(report, tmp_path: Path) -> None:
    _, doc = report
    good = next(r for r in doc["results"] if r["model"] == "tiny-good")
    path = sample_grid(good, None, tmp_path)
    assert path is not None and path.read_bytes().startswith(b"\xff\xd8")  # JPEG

    class Broken:
        def __getitem__(self, i: int) -> Any:
            raise OSError("disk gone")

    assert sample_grid(good, Broken(), tmp_path / "b") is not None
    assert sample_grid({**good, "info": {**good["info"], "samples": []}}, None, tmp_path) is None


def _freihand_like(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    for r in doc["results"]:
        r["metrics"] = {"MPJPE": 40.0, "PA-MPJPE": 9.0, "MPVPE": 41.0, "PA-MPVPE": 8.5, "AUC-J": 0.3,
                        "PA-AUC-J": 0.8, "F@5": 0.6}  # fmt: skip
        r["units"] = {k: ("fraction" if "AUC" in k or "@" in k else "mm") for k in r["metrics"]}
        r["info"]["headline"] = ["PA-MPJPE", "PA-MPVPE", "F@5"]
        r["paper"] = []
    return doc


def test_main_table_has_mpjpe_mpvpe_and_auc(report) -> None:
    _, doc = report
    doc = _freihand_like(doc)
    assert headline(doc["results"]) == ["PA-MPJPE", "PA-MPVPE", "F@5", "MPJPE", "MPVPE", "PA-AUC-J", "AUC-J"]
    html = html_report(doc, {})
    for col in ("MPJPE (mm)", "MPVPE (mm)", "PA-AUC-J (fraction)", "AUC-J (fraction)"):
        assert f"<th>{col}</th>" in html
    assert "| MPJPE (mm) | MPVPE (mm) | PA-AUC-J (fraction) | AUC-J (fraction) |" in markdown_report(doc)


def test_latency_plot_absent_and_said_so_without_model_timings(tmp_path: Path) -> None:
    run = run_bench(BenchConfig(out=tmp_path, batch_size=4, progress=False), tiny_providers(cards={}))
    doc = write_report(run, tmp_path)
    assert {r["kind"] for r in doc["results"]} == {"baseline"}
    assert not any("accuracy_vs_latency" in p for p in doc["files"]["plots"])
    assert not (tmp_path / "plots" / "accuracy_vs_latency.png").exists()
    html = (tmp_path / "report.html").read_text()
    assert "<h2>Accuracy vs latency</h2>" in html and "Not drawn: no model cell has a timing" in html


def test_unaligned_panel_is_zoomed_and_cut_to_its_curves() -> None:
    t = list(np.linspace(0, 50, 11))
    near_zero = {"thresholds_mm": t, "values": [0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.12, 0.15, 0.18, 0.2]}
    x_hi, y_hi = _panel_range([near_zero])
    assert x_hi == 50 and y_hi == pytest.approx(0.3)
    fast = {"thresholds_mm": t, "values": [0.0, 0.5, 0.9, 1.0] + [1.0] * 7}
    x_hi, y_hi = _panel_range([fast])
    assert x_hi == pytest.approx(16.5) and y_hi == 1.0  # 1.1 x the threshold where it saturates


class _NaNModel(TinyModel):
    """Every joint NaN on odd samples (a diverged network)."""

    def __call__(self, images: list[np.ndarray], boxes: list[np.ndarray], **ctx: Any) -> Any:
        out = super().__call__(images, boxes, **ctx)
        for b, img in enumerate(images):
            if int(img[0, 0, 0]) % 2:
                out.joints3d[b] = float("nan")
        return out


def _clean_scorer(protocol: str, gt: GroundTruth, pred: Predictions) -> ScoreResult:
    s = tiny_scorer(protocol, gt, pred)
    return ScoreResult({k: clean_number(v) for k, v in s.metrics.items()}, s.units, s.curves, s.headline)


@pytest.mark.parametrize("all_nan", [False, True])
def test_report_renders_with_nan_and_failed_cells(tmp_path: Path, all_nan: bool) -> None:
    class AllNaN(TinyModel):
        def __call__(self, images: list[np.ndarray], boxes: list[np.ndarray], **ctx: Any) -> Any:
            out = super().__call__(images, boxes, **ctx)
            out.joints3d[:] = float("nan")
            return out

    prov = tiny_providers(model=AllNaN() if all_nan else _NaNModel())
    prov.scorer = _clean_scorer
    run = run_bench(BenchConfig(out=tmp_path, batch_size=4, progress=False), prov)
    doc = write_report(run, tmp_path)
    validate_document(json.loads((tmp_path / "results.json").read_text()))
    good = next(r for r in doc["results"] if r["model"] == "tiny-good")
    assert good["metrics"]["mpjpe"] is None
    picks = good["info"]["samples"]
    if all_nan:
        assert picks == [] and good["info"]["per_joint"]["values"] == [None] * 21
    else:
        assert sorted(p["sample_index"] for p in picks) == [0, 2, 4, 6]  # the NaN hands are never picked
    html = (tmp_path / "report.html").read_text()
    assert "tiny-good" in html and html.rstrip().endswith("</html>")
    # a model that raises is a skipped cell; the report still renders around it

    def broken(name: str, **kwargs: Any) -> Any:
        raise RuntimeError("weights corrupt")

    prov.load_model = broken
    run = run_bench(BenchConfig(out=tmp_path / "failed", batch_size=4, progress=False), prov)
    doc = write_report(run, tmp_path / "failed")
    assert any(s["model"] == "tiny-good" and "weights corrupt" in s["reason"] for s in doc["skipped"])
    assert "Not drawn" in (tmp_path / "failed" / "report.html").read_text()


def test_chunked_errors_equal_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    import handzoo.bench.samples as samples

    rng = np.random.default_rng(3)
    gt = rng.normal(scale=0.03, size=(300, 21, 3)) + [0.0, 0.0, 0.5]
    pred = gt + rng.normal(scale=0.004, size=gt.shape)
    pred[7] = np.nan
    valid = rng.random((300, 21)) > 0.1
    whole, whole_joints = per_hand_errors(gt, pred, valid)
    monkeypatch.setattr(samples, "_CHUNK", 64)  # 5 chunks, the last one short
    parts, part_joints = per_hand_errors(gt, pred, valid)
    np.testing.assert_allclose(parts, whole, equal_nan=True)
    np.testing.assert_allclose(part_joints, whole_joints, equal_nan=True)
    g = GroundTruth(np.arange(300), np.zeros(300, np.int64), np.zeros(300, np.int64), gt, valid)
    info = sample_info(g, Predictions(joints3d=pred))
    expected = np.nanmean(whole_joints, axis=0)
    np.testing.assert_allclose(info["per_joint"]["values"], expected, atol=1e-4)
    assert 7 not in [s["sample_index"] for s in info["samples"]]


def test_report_files_get_the_usual_permissions(report) -> None:
    import os
    import stat

    out, _ = report
    mask = os.umask(0)
    os.umask(mask)
    for name in ("report.html", "results.json", "results.md", "results.csv"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o666 & ~mask  # readable by a web server


def test_sample_grid_survives_odd_numbers(report, tmp_path: Path) -> None:
    _, doc = report
    good = json.loads(json.dumps(next(r for r in doc["results"] if r["model"] == "tiny-good")))
    picks = good["info"]["samples"]
    picks[0]["pred_joints3d"][3][0] = float("inf")
    picks[1]["gt_joints3d"][0][2] = float("nan")
    picks[2]["pred_joints3d"] = [[0.0, 0.0, 0.0]] * 21  # behind the camera
    picks[3]["sample_index"] = 10**9  # not in the dataset
    from bench_fakes import TinyDataset

    assert sample_grid(good, TinyDataset(), tmp_path) is not None
