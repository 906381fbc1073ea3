"""Model-card validation: the JSON schema (``card_schema.json``) plus the rules a schema cannot say.

The schema fixes the structure of the front matter. :func:`card_problems` adds cross-field rules
(variant = file name, licence consistency, plausible result values) and, with ``strict=True``,
the completeness rules every card shipped with handzoo must meet (summary, full paper reference,
crop rule, weights licence, prose sections with licence and citation). The format is documented
in ``handzoo/hub/CARD_SCHEMA.md``.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from pathlib import Path
from typing import Any

from handzoo.catalogue.cards import ModelCard
from handzoo.errors import ConfigError

__all__ = ["card_schema", "card_problems", "check_card"]

_PAPER_KEYS = ("title", "authors", "venue", "year", "code")


@functools.lru_cache(maxsize=1)
def card_schema() -> dict[str, Any]:
    """The JSON schema of a card's front matter (``handzoo/hub/card_schema.json``)."""
    text = importlib.resources.files("handzoo.hub").joinpath("card_schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def _front_matter(card: ModelCard) -> dict[str, Any]:
    return {**card.metadata, "handzoo": dict(card.fields)}


def _schema_problems(card: ModelCard) -> list[str]:
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema is a dependency of the hub tools
        raise ConfigError(
            "validating model cards needs the 'jsonschema' package", hint="pip install jsonschema"
        ) from None
    validator = jsonschema.Draft202012Validator(card_schema())
    problems = []
    for err in sorted(validator.iter_errors(_front_matter(card)), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in err.absolute_path) or "(front matter)"
        problems.append(f"{where}: {err.message}")
    return problems


def _rule_problems(card: ModelCard) -> list[str]:
    problems = []
    if not card.name.startswith(card.method + "-"):
        problems.append(f"handzoo/variant: {card.name!r} must start with the method name {card.method + '-'!r}")
    if card.path is not None and Path(card.path).stem != card.name:
        problems.append(f"handzoo/variant: {card.name!r} differs from the file name {Path(card.path).name!r}")
    wl = card.fields.get("weights_license")
    if wl is not None and card.license not in (wl, "other"):
        problems.append(f"license: front-matter licence {card.license!r} differs from weights_license {wl!r}")
    for i, r in enumerate(card.results):
        value, unit = r.value, r.unit
        if value is None:
            continue
        if unit == "%" and not 0 <= value <= 100 or unit == "fraction" and not 0 <= value <= 1:
            problems.append(f"handzoo/results/{i}: value {value} is out of range for unit {unit!r}")
        if unit in ("mm", "fps", "ms") and value < 0:
            problems.append(f"handzoo/results/{i}: negative {unit} value {value}")
    return problems


def _strict_problems(card: ModelCard) -> list[str]:
    problems = []
    f = card.fields
    if not f.get("summary"):
        problems.append("handzoo/summary: missing")
    # handzoo's own models (weights bundled in the package, no paper block) cite no paper
    own_model = card.weights.bundled is not None and "paper" not in f
    missing = [] if own_model else [k for k in _PAPER_KEYS if not getattr(card.paper, k)]
    if missing:
        problems.append(f"handzoo/paper: missing {', '.join(missing)}")
    if not card.input.crop:
        problems.append("handzoo/input/crop: missing (say how the network input is cut from the image)")
    if not f.get("weights_license"):
        problems.append("handzoo/weights_license: missing")
    no_weights = card.original is None and card.hub is None and card.weights.bundled is None
    if no_weights and not card.planned and "pretrained=False" not in card.body:
        problems.append("body: no weights at all, but the prose does not show `pretrained=False` usage")
    body = card.body
    if not re.search(r"^#+ .*(Licen[cs]e)", body, re.MULTILINE):
        problems.append("body: no 'Licence' section")
    if "```bibtex" not in body:
        problems.append("body: no citation (a ```bibtex block)")
    if "-nc" in card.weights_license and "non-commercial" not in body.lower():
        problems.append("body: the weights are non-commercial but the prose does not say so")
    if card.hand_model == "mano" and "MANO" not in body:
        problems.append("body: the variant needs MANO but the prose does not say so")
    return problems


def card_problems(card: ModelCard, strict: bool = False) -> list[str]:
    """Everything wrong with a card, as readable strings (empty when the card is valid).

    Args:
        card: the parsed card.
        strict: also apply the completeness rules of the cards shipped with handzoo.
    """
    problems = _schema_problems(card) + _rule_problems(card)
    if strict:
        problems += _strict_problems(card)
    return problems


def check_card(card: ModelCard, strict: bool = False) -> ModelCard:
    """Validate a card and return it.

    Raises:
        ConfigError: listing every problem found.
    """
    problems = card_problems(card, strict=strict)
    if problems:
        where = card.path or card.name
        raise ConfigError(
            f"model card {where} is invalid:\n  - " + "\n  - ".join(problems),
            hint="see handzoo/hub/CARD_SCHEMA.md for the card format",
        )
    return card
