"""The papers' numbers (from each card's ``results``) beside ours, with the difference.

A card's number and one of ours are paired when their typed keys are equal
(:func:`handzoo.catalogue.result_key`: dataset, split, protocol and metric, each in its canonical
spelling; a card that names no split or protocol matches any). Nothing is matched by prefix or
similarity. Values are converted to our unit (``mm``/``cm``/``m``, ``%``/``fraction``) before the
difference is taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handzoo.bench.records import CellResult
from handzoo.bench.scoring import clean_number
from handzoo.catalogue.cards import PaperResult, ResultKey
from handzoo.catalogue.names import canonical_metric
from handzoo.catalogue.results import matches, paper_result_key, result_key

__all__ = ["canonical_metric", "convert_value", "paper_comparisons", "cell_metric_keys"]

_UNIT_FACTOR = {"mm": 1.0, "millimetre": 1.0, "millimeter": 1.0, "cm": 10.0, "m": 1000.0}
_FRACTION_UNITS = {"fraction", "ratio", "", "none", "1"}


def convert_value(value: float, unit: str | None, to_unit: str | None) -> float | None:
    """``value`` in ``unit`` expressed in ``to_unit`` (lengths mm/cm/m; %, fractions); None if incompatible."""
    u = (unit or "").strip().lower()
    t = (to_unit or "").strip().lower()
    if u == t:
        return value
    if u in _UNIT_FACTOR and t in _UNIT_FACTOR:
        return value * _UNIT_FACTOR[u] / _UNIT_FACTOR[t]
    if u == "%" and t in _FRACTION_UNITS:
        return value / 100.0
    if u in _FRACTION_UNITS and t == "%":
        return value * 100.0
    if u in _FRACTION_UNITS and t in _FRACTION_UNITS:
        return value
    return None


def _declare_datasets() -> None:
    """Make sure the loaders have declared their dataset specs (their names and splits)."""
    import handzoo.datasets  # noqa: F401


def cell_metric_keys(result: CellResult) -> dict[ResultKey, str]:
    """Our metrics of one cell by typed key (the first of two names with the same key wins)."""
    _declare_datasets()
    c = result.cell
    keys: dict[ResultKey, str] = {}
    for name in result.metrics:
        keys.setdefault(result_key(c.dataset, c.split, c.protocol, name), name)
    return keys


def paper_comparisons(result: CellResult, card: Any) -> list[dict[str, Any]]:
    """The card's paper numbers whose typed key is one of ``result``'s metrics.

    Returns:
        Dicts with metric (ours), paper_metric, paper (value in our unit), paper_value and
        paper_unit (as in the card), ours, delta (ours - paper), unit, source.
    """
    if card is None:
        return []
    ours = cell_metric_keys(result)
    out = []
    for row in getattr(card, "results", None) or []:
        r = row if isinstance(row, PaperResult) else PaperResult.from_yaml(row if isinstance(row, Mapping) else {})
        key = paper_result_key(r)
        ours_name = next((name for k, name in ours.items() if matches(key, k)), None)
        if ours_name is None:
            continue
        value = result.metrics.get(ours_name)
        unit = result.units.get(ours_name, "")
        paper_value = clean_number(r.value)
        paper = None if paper_value is None else convert_value(paper_value, r.unit, unit)
        out.append(
            {
                "metric": ours_name,
                "paper_metric": r.metric,
                "paper": paper,
                "paper_value": paper_value,
                "paper_unit": r.unit,
                "ours": value,
                "delta": None if value is None or paper is None else value - paper,
                "unit": unit,
                "source": r.source,
            }
        )
    return out
