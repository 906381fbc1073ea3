"""Weights bundled inside a package (card ``weights.bundled``): loaded sha256-checked, tampering refused."""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

import pytest
import torch

import handzoo
from handzoo.catalogue.cards import parse_card
from handzoo.errors import ChecksumError
from handzoo.hub.load import build_model, resolve_weights
from handzoo.hub.status import weights_status
from handzoo.train.export import export_weights

_TINY = "{type: TimmBackbone, name: resnet10t, out_indices: [4]}"


def _card_text(package: str, sha: str) -> str:
    """The shipped card of compact-openhand, with a small backbone and the given bundled weights."""
    text = importlib.resources.files("handzoo_model_cards").joinpath("compact-openhand.md").read_text()
    text = re.sub(r"\n    bundled:\n(      .*\n)+", "\n", text)  # drop the shipped weights' entry
    text = re.sub(r"backbone: \{[^}]*\}", "backbone: " + _TINY, text, count=1)
    text = text.replace("input_size: 128", "input_size: 64", 1)
    entry = f"    bundled:\n      package: {package}\n      path: weights/tiny.safetensors\n      sha256: {sha}\n"
    return text.replace("    original: null\n", "    original: null\n" + entry, 1)


@pytest.fixture()
def bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A throw-away package holding fp16 weights of a small compact model, and its card."""
    name = f"hz_bundle_test_{abs(hash(str(tmp_path)))}"  # a fresh package per test (no stale import)
    pkg = tmp_path / name
    (pkg / "weights").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    draft = parse_card(_card_text(name, "0" * 64))
    torch.manual_seed(0)
    model = build_model(draft)
    info = export_weights(model, pkg / "weights" / "tiny.safetensors", half=True)
    card = parse_card(_card_text(name, info["sha256"]))
    return card, model, Path(info["path"])


def test_bundled_weights_load_sha256_checked(bundled) -> None:
    card, model, path = bundled
    assert card.weights.bundled.sha256 and weights_status(card) == "bundled"
    assert resolve_weights(card) == path
    loaded = handzoo.load(card)
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v.half().float()), k


def test_tampered_bundled_weights_are_refused(bundled) -> None:
    card, _, path = bundled
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="sha256"):
        handzoo.load(card)


def test_the_shipped_compact_model_loads_its_bundled_weights() -> None:
    card = handzoo.model_info("compact-openhand")
    assert weights_status(card) == "bundled"
    path = resolve_weights(card)
    assert path.stat().st_size < 10 * 2**20  # < 10 MB in the package
    model = handzoo.load("compact-openhand")
    assert not model.training and model.card.name == "compact-openhand"
