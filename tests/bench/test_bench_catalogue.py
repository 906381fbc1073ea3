"""The bench reads the catalogue: dataset names and roots, planned variants, paper keys, empty runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_fakes import TinyCard, tiny_cards, tiny_providers, tiny_status

from handzoo.bench import cli, runner
from handzoo.bench.datasets import resolve_datasets
from handzoo.bench.models import resolve_models
from handzoo.bench.paper import paper_comparisons
from handzoo.bench.records import Cell, CellResult
from handzoo.errors import ConfigError


def _never(name, root=None, split=None):
    raise AssertionError("not reached")


def test_named_empty_root_is_named_in_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HANDZOO_DATA", raising=False)
    empty = tmp_path / "EMPTY_DIR"
    empty.mkdir()
    [slot] = resolve_datasets(["freihand"], [f"freihand={empty}"])
    assert not slot.available and str(empty) in slot.reason
    # any spelling of the name in --data-root NAME=DIR
    [slot] = resolve_datasets(["HO3D_v2"], [f"ho3d_v2={empty}"])
    assert slot.name == "ho3d-v2" and str(empty) in slot.reason


def test_parent_roots_are_named_in_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HANDZOO_DATA", raising=False)
    [slot] = resolve_datasets(["freihand"], [str(tmp_path)])
    assert not slot.available and str(tmp_path / "FreiHAND") in slot.reason and "no root given" not in slot.reason


def test_unknown_data_root_name_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--data-root names unknown dataset"):
        resolve_datasets(["freihand"], [f"freihnd={tmp_path}"], loader=_never)


def test_planned_variant_is_skipped_as_not_implemented() -> None:
    cards = {**tiny_cards(), "tiny-plan": TinyCard("tiny-plan", hub={"sha256": "c" * 64}, planned=True)}
    for untrained in (False, True):
        [entry] = resolve_models("tiny-plan", cards, tiny_status, untrained=untrained)
        assert not entry.runnable and "not implemented yet" in entry.reason
        assert "convert" not in entry.reason + entry.command


def test_run_that_evaluates_nothing_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(runner, "Providers", lambda: tiny_providers())
    assert cli.main(["--datasets", "absent", "--no-progress", "--out", str(tmp_path)]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("handzoo-bench: nothing was evaluated:") and "is not here" in last


def _cell(dataset: str, split: str, protocol: str, metrics: dict[str, float]) -> CellResult:
    cell = Cell("m", "model", dataset, split, protocol, "a" * 64)
    return CellResult(cell, "k", "f", 1, 1, metrics, {k: "mm" for k in metrics}, {}, {}, {}, {})


def test_paper_numbers_match_by_typed_key_only() -> None:
    rows = [
        {"dataset": "DexYCB", "split": "test", "subset": "s0", "protocol": "dexycb_handoccnet", "metric": "PA-MPJPE"},
        {"dataset": "dex", "split": "test", "protocol": "dexycb-handoccnet", "metric": "pa_mpjpe"},  # a prefix
        {"dataset": "dexycb", "split": "test", "subset": "s1", "protocol": "dexycb-handoccnet", "metric": "pa_mpjpe"},
    ]
    card = TinyCard("m", fields={"results": [dict(r, value=5.0, unit="mm", source="s") for r in rows]})
    got = paper_comparisons(_cell("dexycb-handoccnet", "s0_test", "dexycb-handoccnet", {"pa_mpjpe": 6.0}), card)
    assert [(c["metric"], c["delta"]) for c in got] == [("pa_mpjpe", 1.0)]
    # HO-3D v2 numbers are not HO-3D v3 numbers
    card = TinyCard("m", fields={"results": [{"dataset": "ho3d_v2", "metric": "mpjpe", "value": 1.0, "unit": "mm"}]})
    assert paper_comparisons(_cell("ho3d-v3", "evaluation", "ho3d-v3", {"mpjpe": 2.0}), card) == []
    assert len(paper_comparisons(_cell("HO3D-v2", "evaluation", "ho3d-v2", {"mpjpe": 2.0}), card)) == 1
