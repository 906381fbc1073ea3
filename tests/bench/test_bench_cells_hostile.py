"""Hostile cached cells and output folders: nothing wrong is reported, nothing is half-written.

Cases from a hardening review: a cell whose metric is a string (results.json/.md were rewritten
while .csv/.html were not), a cell replaced by a folder, ``--out`` that is a file (found only after
every cell was computed), a hand-edited plausible number reported as if measured.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_fakes import tiny_providers

from handzoo.bench import cli, runner
from handzoo.bench.cache import CACHE_FORMAT, cell_digest
from handzoo.bench.report import REPORT_FILES, write_report
from handzoo.bench.runner import BenchConfig, run_bench
from handzoo.errors import ConfigError

ARGS = dict(models="zero,tiny-good", progress=False)


def _run(out: Path):
    return run_bench(BenchConfig(out=out, **ARGS), tiny_providers())


def _cells(out: Path) -> list[Path]:
    return sorted((out / "cells").glob("*.json"))


def _by_model(run) -> dict:
    return {r.cell.model: r for r in run.results}


def test_cells_carry_a_digest_of_their_content(tmp_path: Path) -> None:
    _run(tmp_path)
    assert CACHE_FORMAT == "4"
    for p in _cells(tmp_path):
        data = json.loads(p.read_text())
        assert data["digest"] == cell_digest(data)


def test_hand_edited_plausible_number_is_recomputed_with_a_note(tmp_path: Path) -> None:
    first = _by_model(_run(tmp_path))
    p = next(p for p in _cells(tmp_path) if p.name.startswith("zero__"))
    data = json.loads(p.read_text())
    metric = next(k for k, v in data["metrics"].items() if isinstance(v, float))
    data["metrics"][metric] = data["metrics"][metric] * 0.5  # plausible, smaller error
    p.write_text(json.dumps(data))
    again = _by_model(_run(tmp_path))
    assert again["zero"].cached is False and again["zero"].metrics[metric] == first["zero"].metrics[metric]
    assert "digest does not match" in again["zero"].info["cache_note"]
    assert again["tiny-good"].cached is True
    # the recomputed cell replaced the edited one: the next run reuses it
    assert _by_model(_run(tmp_path))["zero"].cached is True


def test_string_metric_in_a_cell_never_reaches_a_report(tmp_path: Path) -> None:
    first = _by_model(_run(tmp_path))
    p = next(p for p in _cells(tmp_path) if p.name.startswith("zero__"))
    data = json.loads(p.read_text())
    metric = next(iter(data["metrics"]))
    data["metrics"][metric] = "12.5"
    data["digest"] = cell_digest(data)  # even with a matching digest
    p.write_text(json.dumps(data))
    again = _by_model(_run(tmp_path))
    assert again["zero"].metrics[metric] == first["zero"].metrics[metric]
    assert "not a valid cell" in again["zero"].info["cache_note"] and metric in again["zero"].info["cache_note"]


def test_invalid_result_leaves_every_report_file_untouched(tmp_path: Path) -> None:
    run = _run(tmp_path)
    write_report(run, tmp_path)
    before = {k: (tmp_path / f).read_bytes() for k, f in REPORT_FILES.items()}
    run.results[0].metrics["PA-MPJPE"] = "not a number"
    with pytest.raises(ConfigError, match="invalid at metrics/PA-MPJPE"):
        write_report(run, tmp_path)
    assert {k: (tmp_path / f).read_bytes() for k, f in REPORT_FILES.items()} == before


def test_cell_replaced_by_a_folder(tmp_path: Path) -> None:
    _run(tmp_path)
    p = next(p for p in _cells(tmp_path) if p.name.startswith("zero__"))
    p.unlink()
    p.mkdir()
    (p / "keep.txt").write_text("user data")
    again = _by_model(_run(tmp_path))
    assert again["zero"].cached is False and "not a regular file (a folder)" in again["zero"].info["cache_note"]
    assert p.is_file() and (p.with_name(p.name + ".not-a-cell") / "keep.txt").read_text() == "user data"


@pytest.mark.parametrize("junk", [b"", b"\xff\xfe", b"[" * 50_000, b"[1, 2]", b'{"digest": 5}'])
def test_unreadable_cells_are_recomputed(tmp_path: Path, junk: bytes) -> None:
    _run(tmp_path)
    for p in _cells(tmp_path):
        p.write_bytes(junk)
    again = _run(tmp_path)
    assert len(again.results) == 2 and not any(r.cached for r in again.results)
    assert all("cache_note" in r.info for r in again.results)


def test_out_that_is_a_file_fails_before_any_cell_is_computed(tmp_path: Path, monkeypatch, capsys) -> None:
    computed = []
    real = runner._Harness._finish
    monkeypatch.setattr(runner._Harness, "_finish", lambda self, *a, **k: computed.append(1) or real(self, *a, **k))
    out = tmp_path / "report"
    out.write_text("not a folder")
    with pytest.raises(ConfigError, match="exists and is not a folder"):
        _run(out)
    assert not computed
    monkeypatch.setattr(runner, "Providers", lambda: tiny_providers())
    assert cli.main(["--models", "zero", "--no-progress", "--out", str(out)]) != 0
    assert "not a folder" in capsys.readouterr().err and not computed
    assert out.read_text() == "not a folder"


def test_report_file_that_is_a_folder_fails_first(tmp_path: Path) -> None:
    (tmp_path / "results.csv").mkdir(parents=True)
    with pytest.raises(ConfigError, match="results.csv is a folder"):
        _run(tmp_path)
    assert not (tmp_path / "results.json").exists()
