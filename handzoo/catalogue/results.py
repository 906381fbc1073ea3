"""Typed keys of results: which (dataset, split, protocol, metric) a number measures.

A paper's number and ours are compared only when their keys are equal (``None`` in a paper's key
means "any": a card that names no split or protocol). Every part is reduced to its canonical
spelling by the one alias rule of :mod:`handzoo.catalogue.names`; nothing is matched by prefix
or similarity.
"""

from __future__ import annotations

import re

from handzoo.catalogue import protocols as _protocols  # noqa: F401  (declares the protocol ids)
from handzoo.catalogue.cards import PaperResult, ResultKey
from handzoo.catalogue.datasets import dataset_spec
from handzoo.catalogue.names import DATASET_NAMES, PROTOCOL_NAMES, canonical_metric, spelling_key

__all__ = ["result_key", "paper_result_key", "matches"]

_WHOLE_SPLIT = re.compile(r"[_\-\s]all$", re.IGNORECASE)


def _dataset(name: str) -> str:
    spec = dataset_spec(name)
    if spec is None:
        return DATASET_NAMES.lookup(name) or spelling_key(name)
    return DATASET_NAMES.canonical(spec.results_as) if spec.results_as else spec.name


def _metric(name: str) -> str:
    # "<metric>_all" is the metric over the whole split
    return canonical_metric(_WHOLE_SPLIT.sub("", str(name)))


def result_key(
    dataset: str, split: str | None, protocol: str | None, metric: str, subset: str | None = None
) -> ResultKey:
    """The canonical key of a number.

    Args:
        dataset: any spelling of the dataset (``'HO3D-v2'``, ``'interhand2.6m'``).
        split: the split (``'test'``), or None for any.
        protocol: the protocol, or None for any.
        metric: the metric (``'PA-MPJPE'``, ``'mpjpe_single'``).
        subset: a qualifier: a setup of the dataset's splits (DexYCB ``s0`` with split ``test``
            -> ``s0_test``), else a subset of the metric (InterHand ``single`` -> ``mpjpe_single``;
            ``all`` = the whole split).
    """
    spec = dataset_spec(dataset)
    canon_split: str | None = None
    if split is not None:
        if spec is not None:
            canon_split = spec.canonical_split(split)
            if subset and spec.canonical_split(f"{subset}_{split}") in spec.splits:
                canon_split, subset = spec.canonical_split(f"{subset}_{split}"), None
        else:
            canon_split = spelling_key(split)
    if subset and spelling_key(subset) != "all":
        metric = f"{metric}_{subset}"
    proto = None if protocol is None else (PROTOCOL_NAMES.lookup(protocol) or spelling_key(protocol))
    return ResultKey(_dataset(dataset), canon_split, proto, _metric(metric))


def paper_result_key(result: PaperResult) -> ResultKey:
    """The key of one of a card's results."""
    return result_key(result.dataset, result.split, result.protocol, result.metric, result.subset)


def matches(paper: ResultKey, ours: ResultKey) -> bool:
    """True when a paper's key (None parts = any) names our number."""
    return (
        paper.dataset == ours.dataset
        and paper.metric == ours.metric
        and (paper.split is None or paper.split == ours.split)
        and (paper.protocol is None or paper.protocol == ours.protocol)
    )
