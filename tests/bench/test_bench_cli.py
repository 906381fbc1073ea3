"""The ``handzoo-bench`` command line."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import jsonschema
import pytest
from bench_fakes import tiny_providers

from handzoo.bench import cli, runner
from handzoo.bench.report import load_schema


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's default providers replaced by the stand-ins."""
    monkeypatch.setattr(runner, "Providers", lambda: tiny_providers())


def test_all_json_validates_against_the_schema(tiny, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = cli.main(["--all", "--json", "--no-progress", "--out", str(tmp_path / "r"), "--batch-size", "4"])
    assert rc == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    jsonschema.validate(doc, load_schema())
    assert {r["model"] for r in doc["results"]} == {"mean-hand", "zero", "tiny-good"}
    assert "report written to" in captured.err and str(tmp_path / "r") in captured.err


def test_table_output_and_resume(tiny, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["--models", "zero,tiny-good", "--no-progress", "--out", str(tmp_path)]
    assert cli.main(args) == 0
    first = capsys.readouterr().out
    assert "| zero | baseline |" in first and "tiny-good" in first and "reused from cache: 0" in first
    assert cli.main(args) == 0
    assert "Cells evaluated: 0, reused from cache: 2" in capsys.readouterr().out


def test_errors_are_messages_not_tracebacks(tiny, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["--out", str(tmp_path)]) == 2
    assert "nothing to evaluate" in capsys.readouterr().err
    assert cli.main(["--all", "--batch-size", "0", "--out", str(tmp_path)]) == 2
    assert "--batch-size" in capsys.readouterr().err
    assert cli.main(["--models", "nope-*", "--out", str(tmp_path)]) == 2
    assert "match no model" in capsys.readouterr().err
    assert cli.main(["--datasets", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown dataset" in capsys.readouterr().err
    assert cli.main(["--all", "--device", "cuda", "--out", str(tmp_path)]) == 2
    assert "CUDA" in capsys.readouterr().err


def test_score_delegates_to_the_protocols_scorer(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}
    fake = types.ModuleType("handzoo.protocols.score_cli")
    fake.add_arguments = lambda p: p.add_argument("--protocol")
    fake.run = lambda args: seen.setdefault("protocol", args.protocol) and 0
    monkeypatch.setitem(sys.modules, "handzoo.protocols.score_cli", fake)
    assert cli.main(["score", "--protocol", "freihand"]) == 0
    assert seen == {"protocol": "freihand"}


def test_score_help_comes_from_the_drop_in_scorer(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["score", "--help"])
    assert exc.value.code == 0
    assert "--protocol" in capsys.readouterr().out


def test_real_synthetic_benchmark_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch) -> None:
    """What `make bench` runs, on 4 samples: real cards, hub status, synthetic data and protocol."""
    monkeypatch.delenv("HANDZOO_DATA", raising=False)
    out = tmp_path / "report"
    rc = cli.main(["--all", "--json", "--limit", "4", "--workers", "0", "--no-progress", "--out", str(out)])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, load_schema())
    cells = {(r["model"], r["dataset"], r["protocol"]) for r in doc["results"]}
    assert {("mean-hand", "synthetic", "freihand"), ("zero", "synthetic", "freihand")} <= cells
    for r in doc["results"]:
        assert r["num_samples"] == 4 and r["info"]["limit"] == 4
        assert r["metrics"]["PA-MPJPE"] > 0 and len(r["curves"]["xyz_al"]["values"]) == 100
    skipped = {(s["model"], s["dataset"]) for s in doc["skipped"]}
    assert ("*", "freihand") in skipped  # not on this machine: listed with where to get it
    for name in ("results.json", "results.md", "results.csv", "report.html"):
        assert (out / name).is_file()
