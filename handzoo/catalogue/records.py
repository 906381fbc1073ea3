"""The bench's result records as plain data: a cell (model x dataset x protocol), a skipped cell
and a cell's result (what ``results.json`` holds). No numpy, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Cell", "SkippedCell", "CellResult"]


@dataclass(frozen=True)
class Cell:
    """One model x dataset x protocol evaluation to run.

    Attributes:
        model: model variant or baseline name.
        kind: ``'model'`` or ``'baseline'``.
        dataset: dataset name.
        split: split evaluated.
        protocol: protocol name that scores it.
        weights_sha256: sha256 of the weights file (None for baselines).
    """

    model: str
    kind: str
    dataset: str
    split: str
    protocol: str
    weights_sha256: str | None = None

    @property
    def label(self) -> str:
        """``model @ dataset/protocol`` for messages."""
        return f"{self.model} @ {self.dataset}/{self.protocol}"


@dataclass(frozen=True)
class SkippedCell:
    """A cell that was not run, why, and the command that would make it run.

    ``model`` or ``dataset`` is ``'*'`` when the reason concerns every cell of a dataset or model.
    """

    model: str
    dataset: str
    reason: str
    command: str

    def to_dict(self) -> dict[str, str]:
        """JSON view."""
        return {"model": self.model, "dataset": self.dataset, "reason": self.reason, "command": self.command}


@dataclass
class CellResult:
    """What one evaluated cell produced (JSON-ready; cached on disk for resuming).

    Attributes:
        cell: the cell.
        key: the cache key (weights sha256 + dataset fingerprint + handzoo version + limit + ...).
        dataset_fingerprint: the dataset fingerprint the key was built from.
        num_samples: samples evaluated.
        num_hands: hands evaluated.
        metrics: metric name -> value (mm for errors, fractions for AUC and F-scores).
        units: metric name -> unit.
        curves: PCK curves, name -> {'thresholds_mm': [...], 'values': [...]}.
        timings: images_per_s, ms_per_image, model_s, data_s, total_s.
        info: everything else recorded with the cell (limit, root_from_gt, missing hands, ...).
        environment: handzoo version, device, torch version, machine.
        cached: True when this run read the result from the cache instead of computing it.
    """

    cell: Cell
    key: str
    dataset_fingerprint: str
    num_samples: int
    num_hands: int
    metrics: dict[str, float | None]
    units: dict[str, str]
    curves: dict[str, dict[str, list[float]]]
    timings: dict[str, float | None]
    info: dict[str, Any]
    environment: dict[str, Any]
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON view (the ``results[]`` entries of results.json)."""
        c = self.cell
        return {
            "model": c.model,
            "kind": c.kind,
            "weights_sha256": c.weights_sha256,
            "dataset": c.dataset,
            "split": c.split,
            "protocol": c.protocol,
            "dataset_fingerprint": self.dataset_fingerprint,
            "key": self.key,
            "num_samples": self.num_samples,
            "num_hands": self.num_hands,
            "metrics": dict(self.metrics),
            "units": dict(self.units),
            "curves": {k: dict(v) for k, v in self.curves.items()},
            "timings": dict(self.timings),
            "info": dict(self.info),
            "environment": dict(self.environment),
            "cached": self.cached,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CellResult:
        """Inverse of :meth:`to_dict`."""
        cell = Cell(d["model"], d["kind"], d["dataset"], d["split"], d["protocol"], d.get("weights_sha256"))
        return cls(
            cell=cell,
            key=d["key"],
            dataset_fingerprint=d["dataset_fingerprint"],
            num_samples=int(d["num_samples"]),
            num_hands=int(d["num_hands"]),
            metrics=dict(d["metrics"]),
            units=dict(d["units"]),
            curves={k: dict(v) for k, v in d.get("curves", {}).items()},
            timings=dict(d["timings"]),
            info=dict(d.get("info", {})),
            environment=dict(d.get("environment", {})),
            cached=bool(d.get("cached", False)),
        )
