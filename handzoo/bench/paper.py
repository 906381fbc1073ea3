"""The papers' numbers (from each card's ``results``) beside ours, with the difference.

Cards name metrics the way papers do (``PA-MPJPE``, ``F@5``, ``AUC``) and give a unit (``mm``,
``cm``, ``%``, ``fraction``); protocols name them the way the official scripts do. Both are
reduced to a canonical name (:data:`CANONICAL`) and to our unit before comparing.
"""

from __future__ import annotations

import re
from typing import Any

from handzoo.bench.records import CellResult
from handzoo.bench.scoring import clean_number, normalise_metric_name

__all__ = ["CANONICAL", "canonical_metric", "canonical_dataset", "convert_value", "paper_comparisons"]

# canonical metric -> normalised spellings (see normalise_metric_name)
CANONICAL: dict[str, tuple[str, ...]] = {
    "pa_mpjpe": (
        "pampjpe",
        "pajpe",
        "jpepa",
        "procrustesmpjpe",
        "xyzalmean3d",
        "xyzprocrustesalmean3d",
        "procrustesmean",
    ),
    "pa_mpvpe": ("pampvpe", "pavpe", "vpepa", "meshalmean3d", "procrustesmpvpe"),
    "mpjpe": ("mpjpe", "jpe", "xyzmean3d", "epe", "mpjperootrelative", "rootrelativempjpe"),
    "mpvpe": ("mpvpe", "vpe", "meshmean3d", "pve"),
    "f@5": ("f@5", "fscore@5", "f5", "falscore5", "pafscore5", "fscore5"),
    "f@15": ("f@15", "fscore@15", "f15", "falscore15", "pafscore15", "fscore15"),
    "pa_auc_j": ("paaucj", "jaucpa", "xyzalauc3d", "xyzprocrustesalauc3d", "paauc"),
    "pa_auc_v": ("paaucv", "vaucpa", "meshalauc3d"),
    "auc": ("auc", "auc050", "auc2050", "3dpckauc"),
    "mrrpe": ("mrrpe",),
}
_LOOKUP = {alias: canon for canon, aliases in CANONICAL.items() for alias in aliases}
_UNIT_FACTOR = {"mm": 1.0, "millimetre": 1.0, "millimeter": 1.0, "cm": 10.0, "m": 1000.0}
_FRACTION_UNITS = {"fraction", "ratio", "", "none", "1"}


def canonical_metric(name: str) -> str:
    """Canonical name of a metric (the normalised name itself when no alias matches)."""
    n = normalise_metric_name(name)
    return _LOOKUP.get(n, n)


def canonical_dataset(name: str) -> str:
    """``'HO3D-v2'``, ``'ho3d_v2'`` -> ``'ho3dv2'``; ``'DexYCB (s0)'`` -> ``'dexycbs0'``."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


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


def _dataset_matches(paper_dataset: str, dataset: str) -> bool:
    """Same dataset, allowing a suffix on either side (``dexycb`` ~ ``dexycb_handoccnet``,
    ``interhand2.6m`` ~ ``interhand26m``) but not a bare number (``ho3dv2`` !~ ``ho3dv3``)."""
    p, d = canonical_dataset(paper_dataset), canonical_dataset(dataset)
    if p == d:
        return True
    short, long_ = (p, d) if len(p) < len(d) else (d, p)
    return long_.startswith(short) and not long_[len(short) :].isdigit() and not short[-1:].isdigit()


def _protocol_key(name: str) -> str:
    # InterHand2.6M is spelled with and without its "2.6M"
    return canonical_dataset(name).replace("interhand26m", "interhand")


def _split_kind(split: str) -> str:
    s = str(split).lower()
    if "val" in s:
        return "val"
    if "train" in s:
        return "train"
    return "test"  # test, evaluation, eval, s0_test, ...


def _our_metric_index(metrics: dict[str, Any]) -> dict[str, str]:
    """Normalised and canonical spellings of our metric names -> our name."""
    index: dict[str, str] = {}
    for name in metrics:
        for key in (normalise_metric_name(name), normalise_metric_name(canonical_metric(name))):
            index.setdefault(key, name)
    return index


def _paper_keys(metric: str, subset: str | None, split: str) -> list[str]:
    """Spellings under which a paper metric (of a subset, e.g. InterHand ``single``) may be ours."""
    bases = [normalise_metric_name(metric), normalise_metric_name(canonical_metric(metric))]
    sub = normalise_metric_name(subset or "")
    keys = []
    if sub and sub != "all" and sub not in normalise_metric_name(split):
        keys += [b + sub for b in bases] + [sub + b for b in bases]
        return keys
    if sub == "all":
        keys += [b + "all" for b in bases] + ["all" + b for b in bases]
    return keys + bases


def paper_comparisons(result: CellResult, card: Any) -> list[dict[str, Any]]:
    """The card's paper numbers that correspond to one of ``result``'s metrics.

    A card result matches when its dataset, protocol (if given) and split kind (test / val) are
    the cell's; a ``subset`` (InterHand ``single``/``interacting``) selects our metric of that
    subset, DexYCB's ``s0`` must be part of the split's name.

    Returns:
        Dicts with metric (ours), paper_metric, paper (value in our unit), paper_value and
        paper_unit (as in the card), ours, delta (ours - paper), unit, source.
    """
    if card is None:
        return []
    ours_index = _our_metric_index(result.metrics)
    out = []
    for r in getattr(card, "results", []) or []:
        if not _dataset_matches(str(r.get("dataset", "")), result.cell.dataset):
            continue
        proto = r.get("protocol")
        if proto and _protocol_key(proto) != _protocol_key(result.cell.protocol):
            continue
        if r.get("split") and _split_kind(r["split"]) != _split_kind(result.cell.split):
            continue
        keys = _paper_keys(str(r.get("metric", "")), r.get("subset"), result.cell.split)
        ours_name = next((ours_index[k] for k in keys if k in ours_index), None)
        if ours_name is None:
            continue
        ours = result.metrics.get(ours_name)
        unit = result.units.get(ours_name, "")
        paper_value = clean_number(r.get("value"))
        paper = None if paper_value is None else convert_value(paper_value, r.get("unit"), unit)
        out.append(
            {
                "metric": ours_name,
                "paper_metric": str(r.get("metric")),
                "paper": paper,
                "paper_value": paper_value,
                "paper_unit": str(r.get("unit") or ""),
                "ours": ours,
                "delta": None if ours is None or paper is None else ours - paper,
                "unit": unit,
                "source": str(r.get("source") or ""),
            }
        )
    return out
