"""``handzoo-bench --weights VARIANT=FILE`` (a local file) and ``--untrained`` (seeded random weights)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import torch
from bench_fakes import TinyModel, tiny_providers

from handzoo.bench import cli, runner
from handzoo.bench.models import UNTRAINED_SEED, resolve_models, untrained_id
from handzoo.bench.report import load_schema
from handzoo.bench.report.document import build_document
from handzoo.bench.report.tables import markdown_report
from handzoo.bench.runner import BenchConfig, run_bench
from handzoo.errors import ConfigError, WeightsError


class RecordingLoader:
    """``load_model`` that records its keyword arguments and the torch RNG state it was called in."""

    def __init__(self) -> None:
        self.model = TinyModel()
        self.calls: list[tuple[str, dict[str, Any], float]] = []

    def __call__(self, name: str, **kwargs: Any) -> TinyModel:
        self.calls.append((name, kwargs, float(torch.rand(1))))
        return self.model


@pytest.fixture
def weights_file(tmp_path: Path) -> Path:
    from safetensors.torch import save_file

    path = tmp_path / "mine.safetensors"
    save_file({"w": torch.arange(4.0)}, str(path))
    return path


def _providers(loader: RecordingLoader) -> runner.Providers:
    prov = tiny_providers()
    prov.load_model = loader
    return prov


def _cfg(tmp_path: Path, **kw: Any) -> BenchConfig:
    return BenchConfig(datasets=["tiny"], out=tmp_path / "out", progress=False, **kw)


def test_local_weights_make_a_variant_without_weights_runnable(tmp_path, weights_file) -> None:
    loader = RecordingLoader()
    run = run_bench(
        _cfg(tmp_path, models="tiny-noweights", weights={"tiny-noweights": str(weights_file)}), _providers(loader)
    )
    (result,) = run.results
    digest = hashlib.sha256(weights_file.read_bytes()).hexdigest()
    assert result.cell.model == "tiny-noweights" and result.cell.weights_sha256 == digest
    assert {n for n, _, _ in loader.calls} == {"tiny-noweights"}
    assert all(kw == {"weights": weights_file} for _, kw, _ in loader.calls)
    doc = build_document(run)
    jsonschema.validate(doc, load_schema())
    assert doc["results"][0]["weights_status"] == "local"


def test_local_weights_replace_published_ones_only_for_that_variant(tmp_path, weights_file) -> None:
    loader = RecordingLoader()
    cfg = _cfg(tmp_path, models="tiny-good,tiny-noweights", weights={"tiny-good": str(weights_file)})
    run = run_bench(cfg, _providers(loader))
    assert [r.cell.model for r in run.results] == ["tiny-good"]
    assert {s.model for s in run.skipped} == {"tiny-noweights"}
    assert loader.calls[0][1] == {"weights": weights_file}


def test_untrained_runs_every_selected_variant_with_seeded_random_weights(tmp_path) -> None:
    loader = RecordingLoader()
    run = run_bench(_cfg(tmp_path, models="tiny-good,tiny-noweights", untrained=True), _providers(loader))
    assert sorted(r.cell.model for r in run.results) == ["tiny-good", "tiny-noweights"]
    assert all(kw == {"pretrained": False} for _, kw, _ in loader.calls)
    # built under the fixed seed: the same random weights on every rank and run
    torch.manual_seed(UNTRAINED_SEED)
    expected = float(torch.rand(1))
    assert all(r == expected for _, _, r in loader.calls)
    sha = {r.cell.model: r.cell.weights_sha256 for r in run.results}
    assert sha["tiny-noweights"] == untrained_id(tiny_providers().cards["tiny-noweights"])
    assert sha["tiny-good"] != "a" * 64  # never mixed up with the published weights' cached cells
    doc = build_document(run)
    jsonschema.validate(doc, load_schema())
    assert {r["weights_status"] for r in doc["results"]} == {"untrained"}
    assert all(r["paper"] == [] for r in doc["results"])  # random weights are not compared with papers
    assert doc["summary"]["models_with_weights"] == []
    text = markdown_report(doc)
    assert "Untrained (random weights, a smoke run, not a result): tiny-good, tiny-noweights." in text
    assert "| untrained |" in text and "No model variant has weights" not in text


def test_untrained_cells_are_cached_apart_from_trained_ones(tmp_path) -> None:
    loader = RecordingLoader()
    run_bench(_cfg(tmp_path, models="tiny-good"), _providers(loader))
    again = run_bench(_cfg(tmp_path, models="tiny-good", untrained=True), _providers(loader))
    assert [r.cached for r in again.results] == [False]
    third = run_bench(_cfg(tmp_path, models="tiny-good", untrained=True), _providers(loader))
    assert [r.cached for r in third.results] == [True]


def test_resolve_models_checks_the_local_files(tmp_path, weights_file) -> None:
    cards = tiny_providers().cards
    with pytest.raises(ConfigError, match="unknown variant: 'nope'"):
        resolve_models("*", cards, baselines=[], weights={"nope": weights_file})
    with pytest.raises(ConfigError, match="no such file"):
        resolve_models("*", cards, baselines=[], weights={"tiny-good": tmp_path / "missing.safetensors"})
    bad = tmp_path / "ckpt.pth"
    bad.write_bytes(b"not safetensors at all")
    with pytest.raises(WeightsError, match="ckpt.pth"):
        resolve_models("*", cards, baselines=[], weights={"tiny-good": bad})


@pytest.fixture
def recording_cli(monkeypatch: pytest.MonkeyPatch) -> RecordingLoader:
    loader = RecordingLoader()
    monkeypatch.setattr(runner, "Providers", lambda: _providers(loader))
    return loader


def test_cli_weights_alone_selects_the_variant(recording_cli, tmp_path, weights_file, capsys) -> None:
    out = tmp_path / "r"
    args = ["--weights", f"tiny-noweights={weights_file}", "--json", "--no-progress", "--out", str(out)]
    assert cli.main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {(r["model"], r["weights_status"]) for r in doc["results"]} == {("tiny-noweights", "local")}
    assert {n for n, _, _ in recording_cli.calls} == {"tiny-noweights"}


def test_cli_untrained(recording_cli, tmp_path, capsys) -> None:
    args = ["--models", "tiny-noweights", "--untrained", "--no-progress", "--out", str(tmp_path / "r")]
    assert cli.main(args) == 0
    assert "Untrained (random weights, a smoke run, not a result): tiny-noweights." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("tiny-good", "expected VARIANT=FILE"),
        ("=x.safetensors", "expected VARIANT=FILE"),
        ("nope=x.safetensors", "unknown variant"),
        ("tiny-good=missing.safetensors", "no such file"),
    ],
)
def test_cli_weights_errors_are_one_line_messages(recording_cli, tmp_path, capsys, value, needle) -> None:
    assert cli.main(["--weights", value, "--no-progress", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
