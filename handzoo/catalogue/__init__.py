"""The catalogue: what handzoo knows about, as plain typed data (no torch, no models).

The bottom of the contracts layer. It imports nothing of handzoo above :mod:`handzoo.errors`:

* :mod:`~handzoo.catalogue.names` — one canonical spelling per name and the one alias rule.
* :mod:`~handzoo.catalogue.cards` — model cards as typed records (:class:`ModelCard`, status).
* :mod:`~handzoo.catalogue.datasets` — :class:`DatasetSpec` (declared by each loader) and the
  one dataset-root lookup.
* :mod:`~handzoo.catalogue.hand_models` — the hand models cards name (MANO: the user's files).
* :mod:`~handzoo.catalogue.protocols` — protocol ids and their spellings.
* :mod:`~handzoo.catalogue.records` — the bench's cell records (what ``results.json`` holds).
* :mod:`~handzoo.catalogue.results` — typed (dataset, split, protocol, metric) result keys.
"""

from __future__ import annotations

from handzoo.catalogue.cards import (
    CARD_PACKAGE,
    BenchLimits,
    BundledWeights,
    HubWeights,
    InputSpec,
    ModelCard,
    OriginalWeights,
    PaperRef,
    PaperResult,
    ResultKey,
    Status,
    WeightsSources,
    builtin_card_paths,
    load_card,
    parse_card,
    render_card,
)
from handzoo.catalogue.datasets import DATA_ENV, DatasetSpec, dataset_spec, dataset_specs, locate_root, register_dataset
from handzoo.catalogue.hand_models import HAND_MODEL_NAMES, HAND_MODELS, HandModelSpec, hand_model_spec
from handzoo.catalogue.names import (
    DATASET_NAMES,
    METRIC_NAMES,
    PROTOCOL_NAMES,
    NameTable,
    canonical_metric,
    spelling_key,
)
from handzoo.catalogue.protocols import PROTOCOL_IDS, declare_protocol
from handzoo.catalogue.records import Cell, CellResult, SkippedCell
from handzoo.catalogue.results import matches, paper_result_key, result_key

__all__ = [
    "CARD_PACKAGE",
    "DATA_ENV",
    "DATASET_NAMES",
    "HAND_MODELS",
    "HAND_MODEL_NAMES",
    "METRIC_NAMES",
    "PROTOCOL_IDS",
    "PROTOCOL_NAMES",
    "BenchLimits",
    "BundledWeights",
    "Cell",
    "CellResult",
    "DatasetSpec",
    "HandModelSpec",
    "HubWeights",
    "InputSpec",
    "ModelCard",
    "NameTable",
    "OriginalWeights",
    "PaperRef",
    "PaperResult",
    "ResultKey",
    "SkippedCell",
    "Status",
    "WeightsSources",
    "builtin_card_paths",
    "canonical_metric",
    "dataset_spec",
    "dataset_specs",
    "hand_model_spec",
    "declare_protocol",
    "load_card",
    "locate_root",
    "matches",
    "paper_result_key",
    "parse_card",
    "register_dataset",
    "render_card",
    "result_key",
    "spelling_key",
]
