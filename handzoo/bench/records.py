"""Plain containers the harness passes around: ground truth, predictions, cells and their results.

Evaluation works on *hands*, not images: every annotated, valid hand of every evaluated sample is
one row, in the order (sample index, hand index). Ground truth and predictions are aligned row by
row, so a protocol never needs to know how a model batched or padded its outputs. The cell records
(:class:`Cell`, :class:`SkippedCell`, :class:`CellResult`) are plain data of the catalogue
(:mod:`handzoo.catalogue.records`), re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from handzoo.catalogue.records import Cell, CellResult, SkippedCell

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
