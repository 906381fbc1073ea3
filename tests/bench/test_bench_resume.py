"""Resuming: finished cells are cached under --out and skipped by the next run."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from bench_fakes import SHA_A, TinyModel, tiny_providers

from handzoo.bench.cache import CellCache, cell_key
from handzoo.bench.records import Cell
from handzoo.bench.runner import BenchConfig, run_bench


def _cfg(out: Path, **kw) -> BenchConfig:
    return BenchConfig(out=out, batch_size=3, progress=False, **kw)


def test_second_run_skips_finished_cells(tmp_path: Path) -> None:
    model = TinyModel()
    first = run_bench(_cfg(tmp_path), tiny_providers(model=model))
    assert [r.cached for r in first.results] == [False, False, False]
    calls = model.calls
    assert calls > 0
    second = run_bench(_cfg(tmp_path), tiny_providers(model=model))
    assert [r.cached for r in second.results] == [True, True, True]
    assert model.calls == calls  # the model never ran again
    for a, b in zip(first.results, second.results):
        assert a.key == b.key and a.metrics == b.metrics and a.curves == b.curves
    assert len(list((tmp_path / "cells").glob("*.json"))) == 3


def test_changed_limit_or_no_resume_recomputes(tmp_path: Path) -> None:
    run_bench(_cfg(tmp_path), tiny_providers())
    limited = run_bench(_cfg(tmp_path, limit=4), tiny_providers())
    assert not any(r.cached for r in limited.results)
    assert all(r.num_samples == 4 for r in limited.results)
    forced = run_bench(_cfg(tmp_path, resume=False), tiny_providers())
    assert not any(r.cached for r in forced.results)


def test_interrupted_run_resumes_from_what_was_stored(tmp_path: Path) -> None:
    """Only the cells whose files exist are reused; a corrupt file counts as missing."""
    first = run_bench(_cfg(tmp_path), tiny_providers())
    files = {r.cell.model: CellCache(tmp_path / "cells").path(r.cell, r.key) for r in first.results}
    files["zero"].unlink()
    files["tiny-good"].write_text("{ truncated", encoding="utf-8")
    model = TinyModel()
    again = run_bench(_cfg(tmp_path), tiny_providers(model=model))
    cached = {r.cell.model: r.cached for r in again.results}
    assert cached == {"mean-hand": True, "zero": False, "tiny-good": False}
    assert model.calls > 0
    assert json.loads(files["tiny-good"].read_text())["model"] == "tiny-good"


def test_cell_key_covers_weights_data_version_and_limit() -> None:
    cell = Cell("tiny-good", "model", "tiny", "bench", "tiny-protocol", SHA_A)
    base = cell_key(cell, "f" * 64, "0.1.0", None)
    assert cell_key(cell, "f" * 64, "0.1.0", None) == base
    variants = [
        cell_key(replace(cell, weights_sha256="b" * 64), "f" * 64, "0.1.0", None),
        cell_key(cell, "e" * 64, "0.1.0", None),
        cell_key(cell, "f" * 64, "0.2.0", None),
        cell_key(cell, "f" * 64, "0.1.0", 10),
        cell_key(replace(cell, protocol="other"), "f" * 64, "0.1.0", None),
    ]
    assert len({base, *variants}) == 6


def test_changed_dataset_recomputes(tmp_path: Path) -> None:
    run_bench(_cfg(tmp_path), tiny_providers(n=7))
    other = run_bench(_cfg(tmp_path), tiny_providers(n=8))
    assert not any(r.cached for r in other.results)
