"""Fuzzing model cards: mutated card files through load, the load-time checks and every accessor."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import yaml
from fuzz_profiles import fuzz_settings, handzoo_or_result, mutated
from hypothesis import given
from hypothesis import strategies as st

_HUB_TESTS = str(Path(__file__).resolve().parents[1] / "hub")
if _HUB_TESTS not in sys.path:
    sys.path.insert(0, _HUB_TESTS)

from hub_tiny import tiny_card  # noqa: E402

from handzoo.catalogue.card_checks import check_card_fields  # noqa: E402
from handzoo.catalogue.cards import builtin_card_paths, load_card, render_card  # noqa: E402

_DIR = Path(tempfile.mkdtemp(prefix="handzoo-fuzz-card-"))
_SHIPPED = sorted({p for m in ("h2onet", "smhr", "digit") for p in builtin_card_paths(m)})
_BASES = [render_card(tiny_card()).encode()] + [p.read_bytes() for p in _SHIPPED[:3]]


def _use(card) -> None:
    """Everything commands read from a card that passed the checks must work."""
    check_card_fields(card.metadata, {**card.fields, "variant": card.name, "method": card.method}, card.path)
    _ = (card.summary, card.paper.title, card.input.size, card.weights.hub, card.original, card.bundled)
    _ = (card.results, [r.value for r in card.results], card.bench.datasets, card.status, card.architecture)
    _ = (card.hand_model, card.license, card.weights_license, card.planned)
    json.dumps(card.to_dict(), default=str)
    render_card(card)


def _load_and_use(p: Path):
    card = load_card(p)
    _use(card)
    return card


def _file(data: bytes) -> Path:
    p = _DIR / "tiny-demo.md"
    p.write_bytes(data)
    return p


@fuzz_settings(examples=120, long_examples=2000)
@given(st.sampled_from(_BASES).flatmap(lambda b: mutated(b, max_edits=6)))
def test_mutated_card_bytes(data):
    handzoo_or_result("card", _load_and_use, _file(data))


_yaml_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8,
)
_FIELDS = [
    "summary",
    "paper",
    "architecture",
    "hand_model",
    "input",
    "weights",
    "results",
    "bench",
    "status",
    "variant",
]


@fuzz_settings(examples=100, long_examples=1500)
@given(st.dictionaries(st.sampled_from(_FIELDS), _yaml_value, max_size=4))
def test_card_fields_replaced(changes):
    """Typed nonsense in any field: refused at load with a ConfigError, or usable everywhere."""
    front = yaml.safe_load(render_card(tiny_card()).split("---")[1])
    front["handzoo"].update(changes)
    text = "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n\nBody.\n"
    handzoo_or_result("card", _load_and_use, _file(text.encode()))
