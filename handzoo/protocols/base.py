"""The protocol object and its result.

A :class:`Protocol` states how one benchmark is scored (units, joint order, frame, root, alignments,
threshold semantics, quirks of the official code) and scores either handzoo tensors
(:meth:`Protocol.evaluate`: metres, OpenCV camera frame, ``handzoo21`` order, one row per hand) or
the benchmark's official submission files (:meth:`Protocol.score_files`). Both paths end in the
same batched computation, whose numbers equal the official script's.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from handzoo.protocols._progress import NULL_PROGRESS, ProgressSink

__all__ = ["PCKSpec", "ProtocolResult", "Protocol", "curve_dict"]


@dataclass(frozen=True)
class PCKSpec:
    """PCK thresholds of a protocol: ``numpy.linspace(start, stop, steps)`` in ``unit``, counted with ``<=``."""

    start: float
    stop: float
    steps: int
    unit: str
    comparison: str = "<="


@dataclass
class ProtocolResult:
    """Scores of one evaluation.

    Attributes:
        protocol: protocol name.
        scores: the official output keys, in the official order and units (what ``scores.txt``
            holds), at full float64 precision.
        metrics: the same numbers under common names (``PA-MPJPE``, ``F@5``, ...), errors in mm.
        units: unit of each entry of ``metrics`` (``mm`` or ``fraction``).
        headline: the metrics papers report, most important first.
        curves: name -> ``{'thresholds_mm': [...], 'values': [...]}`` (PCK curves, mean over keypoints).
        num_samples: number of evaluated samples (hands for InterHand2.6M: samples).
        notes: remarks about the evaluation (non-official set size, ignored masks, ...).
        score_format: printf format of a value in ``scores.txt`` (the official one).
    """

    protocol: str
    scores: dict[str, float]
    metrics: dict[str, float]
    units: dict[str, str]
    headline: list[str]
    curves: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    num_samples: int = 0
    notes: list[str] = field(default_factory=list)
    score_format: str = "%f"

    def scores_txt(self) -> str:
        """The ``scores.txt`` text: one ``key: value`` line per official key, official formatting."""
        return "".join(f"{k}: {self.score_format % v}\n" for k, v in self.scores.items())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (NaN/inf become None)."""
        d = asdict(self)
        d.pop("score_format")
        d["scores"] = {k: _finite(v) for k, v in self.scores.items()}
        d["metrics"] = {k: _finite(v) for k, v in self.metrics.items()}
        d["curves"] = {n: {k: [_finite(x) for x in v] for k, v in c.items()} for n, c in self.curves.items()}
        return d


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(float(v)) else None


nan = float("nan")


def size_note(n: int, official: int | None, dataset: str) -> list[str]:
    """A note when ``n`` differs from the official evaluation-set size."""
    if official is None or n == official:
        return []
    return [
        f"{n} samples scored; the official {dataset} evaluation set has {official}: "
        "the numbers are not comparable with published results"
    ]


def curve_dict(thresholds_mm: Any, values: Any) -> dict[str, list[float]]:
    """A curve entry for :attr:`ProtocolResult.curves`."""
    return {"thresholds_mm": [float(x) for x in thresholds_mm], "values": [float(x) for x in values]}


class Protocol(ABC):
    """An official evaluation protocol. Subclasses fill the class attributes and the two scorers.

    Attributes:
        name: registry name (``freihand``, ``ho3d-v2``, ...).
        title: human-readable name.
        dataset: dataset the protocol scores.
        reference: the official code this reproduces (repository, commit, file).
        units: what the inputs and outputs are measured in.
        joint_order: joint order of the official files (a ``handzoo.geometry.joint_orders`` name).
        frame: coordinate frame of the official files (``opencv`` or ``opengl``).
        root_joint: root joint index, in ``joint_order``.
        alignments: alignments the protocol reports.
        reflection: whether its Procrustes allows reflections.
        pck: the PCK thresholds (None when the protocol reports none).
        fscore_thresholds: F-score thresholds in metres (strict ``<``), empty when none.
        official_size: number of samples of the official evaluation set (None when it varies).
        submission: the prediction file format read by :meth:`score_files`.
        ground_truth: the ground-truth layout read by :meth:`score_files`.
        quirks: behaviours of the official code reproduced on purpose.
        headline: metrics reported by papers.
    """

    name: str = ""
    title: str = ""
    dataset: str = ""
    reference: str = ""
    units: str = ""
    joint_order: str = "handzoo21"
    frame: str = "opencv"
    root_joint: int = 0
    alignments: tuple[str, ...] = ()
    reflection: str = ""
    pck: PCKSpec | None = None
    fscore_thresholds: tuple[float, ...] = ()
    official_size: int | None = None
    submission: str = ""
    ground_truth: str = ""
    quirks: tuple[str, ...] = ()
    headline: tuple[str, ...] = ()

    @abstractmethod
    def evaluate(
        self,
        *,
        pred_joints: Any,
        gt_joints: Any,
        pred_verts: Any = None,
        gt_verts: Any = None,
        joints_valid: Any = None,
        side: Any = None,
        sample_index: Any = None,
        meta: dict[int, dict[str, Any]] | None = None,
        progress: ProgressSink = NULL_PROGRESS,
        **kwargs: Any,
    ) -> ProtocolResult:
        """Score handzoo tensors: one row per hand, metres, OpenCV frame, ``handzoo21`` order.

        Args:
            pred_joints: (M, 21, 3) predicted joints.
            gt_joints: (M, 21, 3) ground-truth joints.
            pred_verts: (M, V', 3) predicted vertices or None.
            gt_verts: (M, V, 3) ground-truth vertices or None.
            joints_valid: (M, 21) annotation validity or None (all valid).
            side: (M,) 0 = right, 1 = left.
            sample_index: (M,) dataset index of each row (groups the hands of one image).
            meta: dataset index -> the sample's ``meta`` dict.
            progress: where to report progress.
            **kwargs: protocol-specific extras (documented by each protocol); unknown ones are ignored.

        Returns:
            A :class:`ProtocolResult`.
        """

    @abstractmethod
    def score_files(
        self, gt_dir: str | Path, pred_file: str | Path, progress: ProgressSink = NULL_PROGRESS
    ) -> ProtocolResult:
        """Score an official submission file against ground truth in ``gt_dir``.

        Raises:
            SubmissionError: malformed predictions (count, shape, NaN, missing file).
            DatasetNotFoundError: missing ground-truth files.
        """

    def describe(self) -> dict[str, Any]:
        """The protocol's statement as a dict (for ``scores.json`` and documentation)."""
        return {
            "name": self.name,
            "title": self.title,
            "dataset": self.dataset,
            "reference": self.reference,
            "units": self.units,
            "joint_order": self.joint_order,
            "frame": self.frame,
            "root_joint": self.root_joint,
            "alignments": list(self.alignments),
            "reflection": self.reflection,
            "pck": None if self.pck is None else asdict(self.pck),
            "fscore_thresholds_m": list(self.fscore_thresholds),
            "fscore_comparison": "<" if self.fscore_thresholds else None,
            "official_size": self.official_size,
            "submission": self.submission,
            "ground_truth": self.ground_truth,
            "quirks": list(self.quirks),
            "headline": list(self.headline),
        }

    def __repr__(self) -> str:
        return f"<Protocol {self.name}: {self.title}>"
