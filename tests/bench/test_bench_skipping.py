"""Planning: which cells run, and why the others do not (with the command that fixes it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bench_fakes import TinyCard, tiny_cards, tiny_providers

from handzoo.bench.datasets import DatasetSpec, find_root, parse_data_roots, resolve_datasets
from handzoo.bench.models import applies_to, resolve_models
from handzoo.bench.runner import BenchConfig, run_bench
from handzoo.errors import ConfigError, WeightsNotAvailableError


def _skips(run) -> dict[tuple[str, str], tuple[str, str]]:
    return {(s.model, s.dataset): (s.reason, s.command) for s in run.skipped}


def test_skipped_cells_have_reasons_and_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HANDZOO_DATA", raising=False)
    monkeypatch.delenv("HANDZOO_MANO_DIR", raising=False)
    run = run_bench(BenchConfig(out=tmp_path, progress=False), tiny_providers())
    skips = _skips(run)
    reason, cmd = skips[("tiny-noweights", "*")]
    assert "no weights" in reason and "https://example.org/ckpt.pth" in reason
    assert cmd == "handzoo convert tiny-noweights CHECKPOINT"
    reason, cmd = skips[("tiny-mano", "tiny")]
    assert "MANO" in reason and "HANDZOO_MANO_DIR" in cmd and "mano.is.tue.mpg.de" in cmd
    reason, cmd = skips[("*", "absent")]
    assert "is not here" in reason and "put absent somewhere" in cmd and "--data-root absent=DIR" in cmd
    assert {r.cell.model for r in run.results} == {"mean-hand", "zero", "tiny-good"}


def test_mano_model_runs_once_mano_is_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mano = tmp_path / "mano"
    mano.mkdir()
    (mano / "MANO_RIGHT.pkl").write_bytes(b"stand-in")
    monkeypatch.setenv("HANDZOO_MANO_DIR", str(mano))
    run = run_bench(BenchConfig(models="tiny-mano", out=tmp_path / "out", progress=False), tiny_providers())
    assert [r.cell.model for r in run.results] == ["tiny-mano"]


def test_unknown_protocol_skips_the_dataset(tmp_path: Path) -> None:
    prov = tiny_providers()
    prov.dataset_specs = {"tiny": DatasetSpec("tiny", "bench", protocols=("nope",), embedded=True)}
    run = run_bench(BenchConfig(out=tmp_path, progress=False), prov)
    assert not run.results
    reason, cmd = _skips(run)[("*", "tiny")]
    assert "nope" in reason and "tiny-protocol" in cmd


def test_failing_model_is_skipped_and_others_still_run(tmp_path: Path) -> None:
    prov = tiny_providers()

    def broken(name: str):
        raise WeightsNotAvailableError("nothing cached", hint="handzoo convert tiny-good FILE")

    prov.load_model = broken
    run = run_bench(BenchConfig(out=tmp_path, progress=False), prov)
    reason, cmd = _skips(run)[("tiny-good", "tiny")]
    assert "nothing cached" in reason and cmd == "handzoo convert tiny-good FILE"
    assert {r.cell.model for r in run.results} == {"mean-hand", "zero"}

    def crashing(name: str):
        def model(images, boxes=None, **ctx):
            raise RuntimeError("shape mismatch in layer 3")

        return model

    prov.load_model = crashing
    run = run_bench(BenchConfig(out=tmp_path / "b", progress=False), prov)
    reason, _ = _skips(run)[("tiny-good", "tiny")]
    assert "shape mismatch in layer 3" in reason


def test_patterns_select_models_and_unknown_patterns_fail() -> None:
    cards = tiny_cards()
    from bench_fakes import tiny_status

    names = [e.name for e in resolve_models("tiny-g*,zero", cards, tiny_status)]
    assert names == ["zero", "tiny-good"]
    with pytest.raises(ConfigError, match="match no model"):
        resolve_models("nothing-*", cards, tiny_status)


def test_card_can_limit_its_datasets() -> None:
    from handzoo.bench.models import ModelEntry

    card = TinyCard("x", fields={"bench": {"datasets": ["freihand"]}})
    entry = ModelEntry("x", "model", card=card, weights_sha256="a" * 64, weights_status="cached")
    assert applies_to(entry, "freihand", env={}) is None
    reason, _ = applies_to(entry, "tiny", env={})
    assert "limits it to freihand" in reason


def test_data_roots(tmp_path: Path) -> None:
    (tmp_path / "parent" / "freihand").mkdir(parents=True)
    (tmp_path / "env" / "rhd").mkdir(parents=True)
    (tmp_path / "mine").mkdir()
    parents, named = parse_data_roots([str(tmp_path / "parent"), f"ho3d-v2={tmp_path / 'mine'}"])
    env = {"HANDZOO_DATA": str(tmp_path / "env")}
    assert find_root("freihand", parents, named, env) == tmp_path / "parent" / "freihand"
    assert find_root("ho3d-v2", parents, named, env) == tmp_path / "mine"
    assert find_root("rhd", parents, named, env) == tmp_path / "env" / "rhd"
    assert find_root("dexycb", parents, named, env) is None
    with pytest.raises(ConfigError):
        parse_data_roots(["=nowhere"])


def test_present_dataset_is_opened_with_its_root(tmp_path: Path) -> None:
    (tmp_path / "absent").mkdir()
    seen = {}

    def load(name, root=None, split=None):
        seen[name] = (root, split)
        return type("D", (), {"protocol": "p", "__len__": lambda s: 1, "__getitem__": lambda s, i: np.zeros(1)})()

    specs = {"absent": DatasetSpec("absent", "test", source="x")}
    [slot] = resolve_datasets(None, [str(tmp_path)], None, load, specs, env={})
    assert slot.available and slot.protocols == ("p",)
    assert seen["absent"] == (tmp_path / "absent", "test")
    [slot] = resolve_datasets(None, [f"absent={tmp_path / 'nowhere'}"], None, load, specs, env={})
    assert not slot.available and "no such folder" in slot.reason
    with pytest.raises(ConfigError, match="unknown dataset"):
        resolve_datasets(["nope"], [], None, load, specs, env={})


@pytest.mark.parametrize("workers", [0, 2])
def test_unreadable_samples_skip_the_cells_with_the_loader_message(tmp_path: Path, workers: int) -> None:
    from bench_fakes import TinyDataset

    from handzoo.errors import AnnotationError

    class Broken(TinyDataset):
        def __getitem__(self, index: int):
            if index == 3:
                raise AnnotationError("tiny: sample 3 is malformed in anno.json", hint="re-download anno.json")
            return super().__getitem__(index)

    prov = tiny_providers()
    prov.load_dataset = lambda name, root=None, split=None: Broken(n=7)
    prov.dataset_specs = {"tiny": prov.dataset_specs["tiny"]}
    run = run_bench(BenchConfig(out=tmp_path, progress=False, workers=workers), prov)
    assert not run.results
    skips = _skips(run)
    for model in ("mean-hand", "zero", "tiny-good"):
        reason, cmd = skips[(model, "tiny")]
        assert "sample 3 is malformed" in reason and cmd == "re-download anno.json"
        assert "Traceback" not in reason
