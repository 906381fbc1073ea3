"""Model cards: every shipped card meets the schema and the completeness rules; the validator bites."""

from __future__ import annotations

from pathlib import Path

import pytest

from handzoo.errors import ConfigError
from handzoo.hub.cards import load_card, parse_card, render_card
from handzoo.hub.validate import card_problems, card_schema, check_card

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "model_cards").glob("*.md"))
CATALOGUE_VARIANTS = {
    "smhr-freihand",
    "smhr-multihand",
    "h2onet-dexycb",
    "h2onet-sf-dexycb",
    "hand4whole-hand",
    "hand4whole-body",
    "digit-interhand",
    "3dhand-rgb",
    "3dhand-rgb2d",
}


def test_every_design_variant_has_a_card():
    assert CATALOGUE_VARIANTS <= {p.stem for p in SHIPPED}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_card_is_complete(path):
    card = load_card(path)
    assert card_problems(card, strict=True) == []


def test_cards_seen_by_the_plugin_manager_are_valid():
    from handzoo.variants import model_cards

    cards = model_cards()
    assert CATALOGUE_VARIANTS <= set(cards)
    for card in cards.values():
        assert card_problems(card) == [], card.name


def test_template_plugin_card_meets_the_schema():
    card = load_card(REPO / "examples/plugin_template/handzoo_template/cards/template-demo.md")
    assert card_problems(card) == []


@pytest.mark.parametrize("path", SHIPPED[:3], ids=lambda p: p.stem)
def test_render_parse_round_trip(path):
    card = load_card(path)
    again = parse_card(render_card(card))
    assert (again.name, again.method, again.metadata, again.fields) == (
        card.name,
        card.method,
        card.metadata,
        card.fields,
    )
    assert again.body.strip() == card.body.strip()


def test_schema_is_valid_json_schema():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(card_schema())


def _card(**changes):
    base = load_card(REPO / "model_cards/h2onet-dexycb.md")
    fields = {**base.fields}
    meta = dict(base.metadata)
    for key, value in changes.items():
        if key in meta or key == "license":
            meta[key] = value
        else:
            fields[key] = value
    return type(base)(fields["variant"], base.method, meta, fields, base.body, base.path)


GOOD_HUB = {"repo_id": "org/h2onet-dexycb", "filename": "model.safetensors", "revision": "a" * 40, "sha256": "b" * 64}


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"weights": {"hub": {**GOOD_HUB, "revision": "main"}, "original": None}}, "revision"),
        ({"weights": {"hub": {**GOOD_HUB, "filename": "model.pth"}, "original": None}}, "filename"),
        ({"weights": {"hub": {**GOOD_HUB, "sha256": "xyz"}, "original": None}}, "sha256"),
        ({"weights": {"hub": None}}, "original"),
        ({"architecture": {"backbone": "resnet50"}}, "type"),
        ({"hand_model": "smpl"}, "hand_model"),
        ({"input": {"size": [128], "colour": "RGB", "range": [0, 1]}}, "size"),
        (
            {
                "results": [
                    {"dataset": "x", "protocol": "p", "metric": "mpjpe", "value": 5, "unit": "inch", "source": "s"}
                ]
            },
            "unit",
        ),
        (
            {
                "results": [
                    {"dataset": "x", "protocol": "p", "metric": "f@5mm", "value": 80, "unit": "fraction", "source": "s"}
                ]
            },
            "out of range",
        ),
        ({"results": [{"dataset": "x", "metric": "mpjpe", "value": 5, "unit": "mm", "source": "s"}]}, "protocol"),
        ({"license": "cc-by-nc-4.0"}, "weights_license"),
        ({"library_name": "timm"}, "library_name"),
        ({"variant": "h2onet-other"}, "file name"),
    ],
)
def test_validator_reports_problems(changes, needle):
    problems = card_problems(_card(**changes))
    assert any(needle in p for p in problems), problems


def test_strict_rules_need_licence_and_citation():
    base = load_card(REPO / "model_cards/digit-interhand.md")
    bare = type(base)(base.name, base.method, base.metadata, base.fields, "# digit-interhand\n", base.path)
    problems = card_problems(bare, strict=True)
    assert any("Licence" in p for p in problems) and any("bibtex" in p for p in problems)
    assert any("non-commercial" in p for p in problems)
    with pytest.raises(ConfigError, match="CARD_SCHEMA"):
        check_card(bare, strict=True)


def test_card_accessors():
    card = load_card(REPO / "model_cards/digit-interhand.md")
    assert card.weights_license == "cc-by-nc-4.0" and card.hub is None
    assert card.original["url"].startswith("https://") and card.original["filename"] == "db7cba8c1.pt"
    new = card.with_fields(weights={**card.weights, "hub": GOOD_HUB})
    assert new.hub == GOOD_HUB and card.hub is None
