"""The report files: results.json (schema-valid), results.md, results.csv, report.html + PNG plots."""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path

import pytest
from bench_fakes import tiny_providers

from handzoo.bench.paper import canonical_metric, convert_value, paper_comparisons
from handzoo.bench.report import REPORT_FILES, validate_document, write_report
from handzoo.bench.runner import BenchConfig, run_bench
from handzoo.errors import ConfigError


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("report")
    run = run_bench(BenchConfig(out=out, batch_size=4, progress=False), tiny_providers())
    return out, write_report(run, out)


def test_all_files_are_written(report) -> None:
    out, doc = report
    for name in REPORT_FILES.values():
        assert (out / name).is_file() and (out / name).stat().st_size > 0
    assert doc["files"]["plots"] == [
        "plots/pck_tiny_tiny-protocol.png",
        "plots/joints_tiny_tiny-protocol.png",
        "plots/samples_tiny-good_tiny_tiny-protocol.jpg",
        "plots/accuracy_vs_latency.png",
    ]
    for p in doc["files"]["plots"]:
        assert (out / p).read_bytes().startswith(b"\xff\xd8" if p.endswith(".jpg") else b"\x89PNG")


def test_results_json_is_schema_valid(report) -> None:
    out, doc = report
    on_disk = json.loads((out / "results.json").read_text())
    validate_document(on_disk)
    assert on_disk["results"] == doc["results"]
    good = next(r for r in on_disk["results"] if r["model"] == "tiny-good")
    assert good["weights_sha256"] == "a" * 64 and good["environment"]["torch_version"]
    assert good["timings"]["images_per_s"] > 0 and good["timings"]["ms_per_image"] > 0


def test_schema_rejects_broken_documents(report) -> None:
    _, doc = report
    broken = json.loads(json.dumps(doc))
    del broken["results"][0]["metrics"]
    with pytest.raises(ConfigError, match="metrics"):
        validate_document(broken)
    broken = json.loads(json.dumps(doc))
    next(r for r in broken["results"] if r["kind"] == "model")["weights_sha256"] = None
    with pytest.raises(ConfigError):
        validate_document(broken)


def test_markdown_has_paper_number_and_delta(report) -> None:
    out, _ = report
    md = (out / "results.md").read_text()
    # the card says MPJPE 0.1 cm = 1.00 mm; ours is 9/7 mm
    assert "1.29 (paper 1.00, Δ +0.29)" in md
    assert "## Skipped" in md and "handzoo convert tiny-noweights" in md


def test_csv_has_one_row_per_metric(report) -> None:
    out, doc = report
    rows = list(csv.DictReader(io.StringIO((out / "results.csv").read_text())))
    assert len(rows) == sum(len(r["metrics"]) for r in doc["results"])
    good = next(r for r in rows if r["model"] == "tiny-good" and r["metric"] == "mpjpe")
    assert float(good["paper"]) == pytest.approx(1.0) and float(good["delta"]) == pytest.approx(9 / 7 - 1.0)


def test_html_is_self_contained(report) -> None:
    out, _ = report
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and html.count("data:image/jpeg;base64,") == 1
    # nothing is fetched: no external stylesheet, script or image
    assert "<link" not in html and "<script" not in html
    assert 'src="http' not in html and "url(" not in html
    blob = html.split("data:image/png;base64,")[1].split('"')[0]
    assert base64.b64decode(blob).startswith(b"\x89PNG")


def test_paper_units_and_names() -> None:
    assert canonical_metric("PA-MPJPE") == canonical_metric("pa_mpjpe") == "pa_mpjpe"
    assert canonical_metric("F@5mm") == canonical_metric("f_al_score_5") == "f@5"
    assert convert_value(0.5, "cm", "mm") == 5.0
    assert convert_value(78.5, "%", "fraction") == pytest.approx(0.785)
    assert convert_value(1.0, "mm", "fraction") is None


def test_paper_comparison_matches_dataset_and_protocol(report) -> None:
    from bench_fakes import TinyCard

    from handzoo.bench.records import CellResult

    _, doc = report
    r = CellResult.from_dict(next(x for x in doc["results"] if x["model"] == "tiny-good"))
    card = TinyCard(
        "tiny-good",
        fields={
            "results": [
                {"dataset": "TINY", "protocol": "tiny-protocol", "metric": "MPVPE", "value": 2, "unit": "mm"},
                {"dataset": "tiny", "protocol": "other", "metric": "MPJPE", "value": 9, "unit": "mm"},
                {"dataset": "freihand", "metric": "MPJPE", "value": 9, "unit": "mm"},
            ]
        },
    )
    [cmp] = paper_comparisons(r, card)
    assert cmp["metric"] == "mpvpe" and cmp["paper"] == 2.0
    assert cmp["delta"] == pytest.approx(r.metrics["mpvpe"] - 2.0)


def test_paper_subsets_splits_and_spellings() -> None:
    from bench_fakes import TinyCard

    from handzoo.bench.records import Cell, CellResult

    cell = Cell("digit-interhand", "model", "interhand", "test", "interhand", "a" * 64)
    metrics = {"mpjpe_all": 12.0, "mpjpe_single": 10.0, "mpjpe_interacting": 14.0, "mrrpe": 30.0}
    r = CellResult(cell, "k", "f", 1, 1, metrics, {k: "mm" for k in metrics}, {}, {}, {}, {})
    rows = [
        {
            "dataset": "interhand2.6m",
            "split": "test",
            "subset": "single",
            "protocol": "interhand2.6m",
            "metric": "mpjpe",
        },
        {"dataset": "interhand2.6m", "split": "test", "subset": "all", "protocol": "interhand2.6m", "metric": "mpjpe"},
        {"dataset": "interhand2.6m", "split": "test", "subset": "interacting", "metric": "mrrpe"},
        {"dataset": "interhand2.6m", "split": "val", "subset": "single", "metric": "mpjpe"},
        {"dataset": "interhand2.6m", "split": "test", "protocol": "other", "metric": "mpjpe"},
    ]
    card = TinyCard("digit-interhand", fields={"results": [dict(x, value=11.0, unit="mm") for x in rows]})
    got = [(c["metric"], c["delta"]) for c in paper_comparisons(r, card)]
    assert got == [("mpjpe_single", -1.0), ("mpjpe_all", 1.0)]

    cell = Cell("h2onet-sf-dexycb", "model", "dexycb", "s0_test", "dexycb-handoccnet", "a" * 64)
    metrics = {"pa_mpjpe": 5.9, "pa_auc_j": 0.88}
    r = CellResult(cell, "k", "f", 1, 1, metrics, {"pa_mpjpe": "mm", "pa_auc_j": "fraction"}, {}, {}, {}, {})
    rows = [
        {
            "dataset": "dexycb",
            "split": "test",
            "subset": "s0",
            "protocol": "dexycb-handoccnet",
            "metric": "pa_mpjpe",
            "value": 5.7,
            "unit": "mm",
        },
        {
            "dataset": "dexycb",
            "split": "test",
            "subset": "s0",
            "protocol": "dexycb-handoccnet",
            "metric": "pa_auc_j",
            "value": 88.9,
            "unit": "%",
        },
        {"dataset": "dexycb", "split": "test", "protocol": "dexycb", "metric": "pa_mpjpe", "value": 1.0, "unit": "mm"},
    ]
    got = {c["metric"]: round(c["delta"], 6) for c in paper_comparisons(r, TinyCard("x", fields={"results": rows}))}
    assert got == {"pa_mpjpe": 0.2, "pa_auc_j": round(0.88 - 0.889, 6)}
