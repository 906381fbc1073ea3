"""Plain containers the harness passes around: ground truth, predictions, cells and their results.

Evaluation works on *hands*, not images: every annotated, valid hand of every evaluated sample is
one row, in the order (sample index, hand index). Ground truth and predictions are aligned row by
row, so a protocol never needs to know how a model batched or padded its outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "GroundTruth",
    "Predictions",
    "Cell",
    "SkippedCell",
    "CellResult",
    "empty_ground_truth",
    "concat_ground_truth",
    "concat_predictions",
]


@dataclass
class GroundTruth:
    """Annotated hands of an evaluated split (or one rank's shard of it), one row per hand.

    Attributes:
        sample_index: (M,) dataset index of each hand's sample.
        hand_index: (M,) index of the hand within its sample.
        side: (M,) 0 = right, 1 = left.
        joints3d: (M, 21, 3) float64 metres, OpenCV camera frame, ``handzoo21`` order.
        joints_valid: (M, 21) bool.
        vertices: (M, V, 3) float64 metres, or None when the dataset has no meshes.
        sample_meta: dataset index -> the sample's ``meta`` dict (raw fields protocols need).
    """

    sample_index: np.ndarray
    hand_index: np.ndarray
    side: np.ndarray
    joints3d: np.ndarray
    joints_valid: np.ndarray
    vertices: np.ndarray | None = None
    sample_meta: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def num_hands(self) -> int:
        """Number of rows (hands)."""
        return int(len(self.sample_index))

    @property
    def num_samples(self) -> int:
        """Number of distinct samples the hands come from."""
        return int(len(np.unique(self.sample_index)))

    def order(self) -> np.ndarray:
        """Row permutation that sorts by (sample index, hand index)."""
        return np.lexsort((self.hand_index, self.sample_index))

    def take(self, rows: np.ndarray) -> GroundTruth:
        """Rows ``rows`` (an index array), keeping the metadata of their samples."""
        keep = {int(i) for i in np.unique(self.sample_index[rows])}
        return GroundTruth(
            sample_index=self.sample_index[rows],
            hand_index=self.hand_index[rows],
            side=self.side[rows],
            joints3d=self.joints3d[rows],
            joints_valid=self.joints_valid[rows],
            vertices=None if self.vertices is None else self.vertices[rows],
            sample_meta={i: m for i, m in self.sample_meta.items() if i in keep},
        )


@dataclass
class Predictions:
    """A model's hands, aligned row by row with a :class:`GroundTruth`.

    Attributes:
        joints3d: (M, 21, 3) float64 metres, OpenCV camera frame, ``handzoo21`` order.
        vertices: (M, V', 3) float64 metres, or None when the model predicts no mesh.
        found: (M,) bool, False where the model returned no hand for that ground-truth hand (the
            row then holds zeros, as an empty entry in an official submission file would).
        root_from_gt: True when the model predicts root-relative hands and the harness placed
            them at the ground-truth root (as the mesh papers' evaluation code does).
    """

    joints3d: np.ndarray
    vertices: np.ndarray | None = None
    found: np.ndarray | None = None
    root_from_gt: bool = False

    def take(self, rows: np.ndarray) -> Predictions:
        """Rows ``rows`` (an index array)."""
        return Predictions(
            joints3d=self.joints3d[rows],
            vertices=None if self.vertices is None else self.vertices[rows],
            found=None if self.found is None else self.found[rows],
            root_from_gt=self.root_from_gt,
        )


def empty_ground_truth() -> GroundTruth:
    """A ground truth with no rows."""
    return GroundTruth(
        sample_index=np.zeros(0, dtype=np.int64),
        hand_index=np.zeros(0, dtype=np.int64),
        side=np.zeros(0, dtype=np.int64),
        joints3d=np.zeros((0, 21, 3)),
        joints_valid=np.zeros((0, 21), dtype=bool),
    )


def concat_ground_truth(parts: list[GroundTruth], sort: bool = True) -> GroundTruth:
    """Concatenate shards (e.g. gathered from ranks), by default sorting rows by (sample, hand).

    Parts without rows are ignored; vertices are kept only when every part has them with the same
    vertex count.
    """
    meta: dict[int, dict[str, Any]] = {}
    for p in parts:
        meta.update(p.sample_meta)
    parts = [p for p in parts if p.num_hands] or parts[:1]
    if not parts:
        return empty_ground_truth()
    has_verts = all(p.vertices is not None for p in parts) and len({p.vertices.shape[1:] for p in parts}) == 1
    gt = GroundTruth(
        sample_index=np.concatenate([p.sample_index for p in parts]),
        hand_index=np.concatenate([p.hand_index for p in parts]),
        side=np.concatenate([p.side for p in parts]),
        joints3d=np.concatenate([p.joints3d for p in parts]),
        joints_valid=np.concatenate([p.joints_valid for p in parts]),
        vertices=np.concatenate([p.vertices for p in parts]) if has_verts else None,
        sample_meta=meta,
    )
    return gt.take(gt.order()) if sort else gt


def concat_predictions(parts: list[Predictions]) -> Predictions:
    """Concatenate predictions row-wise (vertices kept when every part has the same count)."""
    if not parts:
        return Predictions(joints3d=np.zeros((0, 21, 3)), found=np.zeros(0, dtype=bool))
    verts = [p.vertices for p in parts]
    has_v = all(v is not None for v in verts) and len({v.shape[1:] for v in verts}) == 1
    found = [p.found if p.found is not None else np.ones(len(p.joints3d), dtype=bool) for p in parts]
    return Predictions(
        joints3d=np.concatenate([p.joints3d for p in parts]),
        vertices=np.concatenate(verts) if has_v else None,
        found=np.concatenate(found),
        root_from_gt=any(p.root_from_gt for p in parts),
    )


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
