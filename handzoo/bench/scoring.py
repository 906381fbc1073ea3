"""Scoring a cell: ground truth + predictions -> the protocol's metrics, units and PCK curves.

The numbers come from :mod:`handzoo.protocols` (the same code as the drop-in scorers, equal to the
official scripts); this module only adapts the harness's row arrays to a protocol object and
normalises what comes back (finite floats or None, a unit per metric, curves in mm).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from handzoo.bench.records import GroundTruth, Predictions
from handzoo.protocols import get_protocol

__all__ = ["ScoreResult", "Scorer", "protocol_scorer", "clean_number", "check_protocol"]


@dataclass
class ScoreResult:
    """What a protocol says about one cell.

    Attributes:
        metrics: metric name -> value (None for undefined values such as NaN).
        units: metric name -> unit (``mm``, ``fraction``, ...).
        curves: curve name -> ``{'thresholds_mm': [...], 'values': [...]}``.
        headline: metric names to show in tables, most important first.
    """

    metrics: dict[str, float | None]
    units: dict[str, str] = field(default_factory=dict)
    curves: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    headline: list[str] = field(default_factory=list)


Scorer = Callable[[str, GroundTruth, Predictions], ScoreResult]


def clean_number(value: Any) -> float | None:
    """A finite float, or None (NaN, inf, None, non-numbers)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def check_protocol(name: str) -> None:
    """Raise unless ``handzoo.protocols`` knows protocol ``name`` (any spelling of it).

    Raises:
        ConfigError: when the name is unknown.
    """
    get_protocol(name)


def _curves_of(raw: Any) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {}
    for name, curve in (raw or {}).items():
        if isinstance(curve, dict):
            t = curve.get("thresholds_mm", curve.get("thresholds"))
            v = curve.get("values", curve.get("pck"))
        else:
            t, v = curve
        t = np.asarray(t, dtype=np.float64).reshape(-1)
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        if t.size and t.max() <= 0.1:  # thresholds given in metres
            t = t * 1000.0
        out[str(name)] = {"thresholds_mm": [float(x) for x in t], "values": [clean_number(x) or 0.0 for x in v]}
    return out


def protocol_scorer(name: str, gt: GroundTruth, pred: Predictions) -> ScoreResult:
    """Score with ``handzoo.protocols.get_protocol(name)``.

    Raises:
        ConfigError: when the protocol is unknown.
    """
    protocol = get_protocol(name)
    raw = protocol.evaluate(
        pred_joints=pred.joints3d,
        gt_joints=gt.joints3d,
        pred_verts=pred.vertices,
        gt_verts=gt.vertices,
        joints_valid=gt.joints_valid,
        side=gt.side,
        sample_index=gt.sample_index,
        meta=gt.sample_meta,
    )
    metrics = {str(k): clean_number(v) for k, v in dict(raw.metrics).items()}
    units = {str(k): str(v) for k, v in dict(getattr(raw, "units", {}) or {}).items()}
    headline = [
        m for m in (getattr(raw, "headline", None) or getattr(protocol, "headline", None) or []) if m in metrics
    ]
    return ScoreResult(metrics, units, _curves_of(getattr(raw, "curves", None)), headline or list(metrics)[:6])
