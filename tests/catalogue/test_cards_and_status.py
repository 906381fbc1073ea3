"""Typed model cards and the status of a variant (planned cards: list, plugins, load)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import handzoo
from handzoo.catalogue import (
    HubWeights,
    InputSpec,
    ModelCard,
    OriginalWeights,
    PaperResult,
    Status,
    load_card,
    paper_result_key,
    parse_card,
    render_card,
)
from handzoo.catalogue.protocols import PROTOCOL_IDS
from handzoo.cli import main
from handzoo.errors import PlannedVariantError
from handzoo.hookspecs import hookimpl
from handzoo.plugins import PluginManager

REPO = Path(__file__).resolve().parents[2]
CARDS = sorted((REPO / "model_cards").glob("*.md"))
# methods with no code in handzoo yet (their plugins flip these cards to available when they land)
PLANNED = {"hand4whole-body"}


def test_card_fields_are_typed() -> None:
    card = load_card(REPO / "model_cards/h2onet-dexycb.md")
    assert isinstance(card.input, InputSpec) and isinstance(card.original, OriginalWeights)
    h, w = card.input.size
    assert isinstance(h, int) and isinstance(w, int) and card.input.colour in ("RGB", "BGR")
    assert isinstance(card.paper.year, int) and card.paper.title
    assert card.status is Status.AVAILABLE and not card.planned
    assert all(isinstance(r, PaperResult) and isinstance(r.value, float) for r in card.results)
    # the records still read as the YAML mapping they came from
    assert card.original["url"] == card.original.url and dict(card.weights)["original"]["url"] == card.original.url


def test_hub_weights_round_trip_through_yaml() -> None:
    card = load_card(REPO / "model_cards/digit-interhand.md")
    hub = {"repo_id": "org/x", "filename": "model.safetensors", "revision": "a" * 40, "sha256": "b" * 64}
    new = card.with_fields(weights={**card.weights, "hub": hub})
    assert isinstance(new.hub, HubWeights) and new.hub.sha256 == "b" * 64 and new.hub == hub
    again = parse_card(render_card(new))
    assert again.hub == new.hub and again.original == card.original and again.status == card.status


@pytest.mark.parametrize("path", CARDS, ids=lambda p: p.stem)
def test_paper_results_have_canonical_keys(path: Path) -> None:
    for r in load_card(path).results:
        key = paper_result_key(r)
        assert key == r.key
        assert key.protocol in PROTOCOL_IDS, (path.stem, r.protocol)
        assert key.metric and key.split, (path.stem, r)


def test_planned_cards() -> None:
    status = {p.stem: load_card(p).status for p in CARDS}
    assert all(status[n] is Status.PLANNED for n in PLANNED)
    assert status["h2onet-dexycb"] is Status.AVAILABLE and status["hand4whole-hand"] is Status.AVAILABLE


def test_load_of_a_planned_variant_says_so_in_one_line() -> None:
    for pretrained in (True, False):
        with pytest.raises(PlannedVariantError) as err:
            handzoo.load("hand4whole-body", pretrained=pretrained)
        text = str(err.value)
        assert "planned" in text and "\n" not in text and "hand4whole-body" in text


def test_list_shows_planned(capsys: pytest.CaptureFixture) -> None:
    assert main(["list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["hand4whole-body"]["status"] == "planned" and rows["hand4whole-hand"]["status"] == "available"
    assert main(["list", "--status", "planned", "--json"]) == 0
    names = {r["name"] for r in json.loads(capsys.readouterr().out)}
    assert "hand4whole-body" in names and "hand4whole-hand" not in names and "h2onet-dexycb" not in names


def _card(name: str, status: str | None) -> ModelCard:
    base = load_card(REPO / "model_cards/hand4whole-hand.md")
    fields = {**base.fields, "variant": name, "method": "demo"}
    if status is None:
        fields.pop("status", None)
    else:
        fields["status"] = status
    return ModelCard(name, "demo", base.metadata, fields, base.body)


class _CardsOnly:
    def __init__(self, cards: list[ModelCard]) -> None:
        self._cards = cards

    @hookimpl
    def handzoo_model_cards(self) -> list[ModelCard]:
        return self._cards


def test_plugins_status_of_a_plugin_with_only_planned_cards(fresh_plugins, capsys: pytest.CaptureFixture) -> None:
    pm = PluginManager(autoload=False, extra=[], entry_points=[])
    pm.register(_CardsOnly([_card("demo-a", "planned"), _card("demo-b", "planned")]), name="planned-only")
    pm.register(_CardsOnly([_card("demo-c", "planned"), _card("demo-d", None)]), name="mixed")
    fresh_plugins(pm)
    infos = {i.name: i for i in pm.plugins()}
    assert infos["planned-only"].status == "cards only (planned)" and infos["planned-only"].planned == [
        "demo-a",
        "demo-b",
    ]
    assert infos["mixed"].status == "ok"
    assert main(["plugins", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["planned-only"]["status"] == "cards only (planned)"
    assert main(["plugins"]) == 0
    table = capsys.readouterr().out
    assert "cards only (planned)" in table and "demo-a (planned)" in table
