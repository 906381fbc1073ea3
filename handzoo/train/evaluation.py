"""Evaluation during training with the bench's code: same inputs, same matching, same protocols.

The validation DataLoader yields raw samples; the model runs its user-facing pipeline on them
(:meth:`MethodTrainModel.forward` ``mode='predict'``, inputs built by
:func:`handzoo.bench.inference.model_inputs`), predictions are matched to the ground truth by
:mod:`handzoo.bench.inference` and scored by the dataset's protocol (:mod:`handzoo.protocols`),
so a number logged here is the number ``handzoo-bench`` reports for the same samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mmengine.evaluator import BaseMetric
from torch.utils.data import DataLoader

__all__ = ["ProtocolMetric", "build_val_dataloader", "IndexedSamples"]


class IndexedSamples:
    """Dataset view yielding ``(index, sample)`` so rows keep their dataset index."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.metainfo = {"name": getattr(dataset, "name", type(dataset).__name__)}

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[int, Any]:
        return index, self.dataset[index]


def _collate_samples(batch: list[tuple[int, Any]]) -> dict[str, list[tuple[int, Any]]]:
    return {"samples": list(batch)}


def build_val_dataloader(dataset: Any, batch_size: int = 16, num_workers: int = 0) -> DataLoader:
    """A DataLoader of raw samples for :class:`ProtocolMetric`, sharded over processes."""
    from mmengine.dataset import DefaultSampler

    from handzoo.bench.workers import die_with_parent

    ds = IndexedSamples(dataset)
    return DataLoader(
        ds,
        batch_size=batch_size,
        sampler=DefaultSampler(ds, shuffle=False),
        num_workers=num_workers,
        collate_fn=_collate_samples,
        worker_init_fn=die_with_parent if num_workers else None,  # workers end with the trainer
    )


class ProtocolMetric(BaseMetric):
    """Scores predictions with a handzoo protocol (``freihand`` for the synthetic data).

    Args:
        protocol: protocol name (:func:`handzoo.protocols.get_protocol`).
        keys: metrics to report (all the protocol's headline metrics by default).
        prefix: prefix of the logged names.
    """

    default_prefix = "val"

    def __init__(
        self, protocol: str = "freihand", keys: Sequence[str] | None = None, prefix: str | None = None
    ) -> None:
        super().__init__(prefix=prefix)
        self.protocol = protocol
        self.keys = list(keys) if keys else None

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Keep the ground-truth and prediction rows of one batch."""
        from handzoo.bench.inference import _rows_of_output, ground_truth_of

        for batch, out in data_samples:
            gt = ground_truth_of(batch)
            pred = _rows_of_output(out, batch, gt)
            if gt.vertices is None:
                pred.vertices = None
            self.results.append((gt, pred))

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Concatenate the rows and score them with the protocol."""
        from handzoo.bench.records import concat_ground_truth, concat_predictions
        from handzoo.bench.scoring import protocol_scorer

        gt = concat_ground_truth([r[0] for r in results], sort=False)
        pred = concat_predictions([r[1] for r in results])
        score = protocol_scorer(self.protocol, gt, pred)
        names = self.keys or score.headline
        return {n: float(score.metrics[n]) for n in names if score.metrics.get(n) is not None}
