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

from handzoo._lazy import lazy_getattr

# name -> submodule holding it: loaded on first use, so that reading a protocol or dataset name
# (catalogue.names) does not import the model-card machinery (yaml, schema checks)
_LAZY = {
    "CARD_PACKAGE": "cards",
    "BenchLimits": "cards",
    "BundledWeights": "cards",
    "HubWeights": "cards",
    "InputSpec": "cards",
    "ModelCard": "cards",
    "OriginalWeights": "cards",
    "PaperRef": "cards",
    "PaperResult": "cards",
    "ResultKey": "cards",
    "Status": "cards",
    "WeightsSources": "cards",
    "builtin_card_paths": "cards",
    "load_card": "cards",
    "parse_card": "cards",
    "render_card": "cards",
    "DATA_ENV": "datasets",
    "DatasetSpec": "datasets",
    "dataset_spec": "datasets",
    "dataset_specs": "datasets",
    "locate_root": "datasets",
    "register_dataset": "datasets",
    "HAND_MODEL_NAMES": "hand_models",
    "HAND_MODELS": "hand_models",
    "HandModelSpec": "hand_models",
    "hand_model_spec": "hand_models",
    "DATASET_NAMES": "names",
    "METRIC_NAMES": "names",
    "PROTOCOL_NAMES": "names",
    "NameTable": "names",
    "canonical_metric": "names",
    "spelling_key": "names",
    "PROTOCOL_IDS": "protocols",
    "declare_protocol": "protocols",
    "Cell": "records",
    "CellResult": "records",
    "SkippedCell": "records",
    "matches": "results",
    "paper_result_key": "results",
    "result_key": "results",
}

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

__getattr__ = lazy_getattr(__name__, _LAZY)
