"""Model cards, the weights cache, Hugging Face Hub download/upload and checkpoint conversion.

One concern per module (imported lazily, so ``import handzoo.hub`` pulls in neither torch nor
huggingface_hub):

* :mod:`~handzoo.hub.cards` — re-exports the typed model cards of :mod:`handzoo.catalogue.cards`.
* :mod:`~handzoo.hub.validate` — the card schema (``card_schema.json``) and its extra rules.
* :mod:`~handzoo.hub.cache` — the local weights cache (``HANDZOO_CACHE``), atomic placement.
* :mod:`~handzoo.hub.integrity` — sha256 and safetensors header checks (no torch).
* :mod:`~handzoo.hub.status` — ``weights_status(card)`` for ``handzoo list``.
* :mod:`~handzoo.hub.download` — pinned, verified ``hf_hub_download`` into the cache.
* :mod:`~handzoo.hub.convert` — the authors' checkpoints -> safetensors, through plugin key maps.
* :mod:`~handzoo.hub.load` — ``handzoo.load(name)``: card -> cache -> hub -> build -> strict load.
* :mod:`~handzoo.hub.push` — upload converted weights + a generated card (maintainers).
* a stand-in Hub server on 127.0.0.1 for tests is :class:`handzoo.testing.StandInHub`.
"""

from __future__ import annotations

from handzoo._lazy import lazy_getattr

_LAZY = {
    "ModelCard": "handzoo.catalogue.cards:ModelCard",
    "load_card": "handzoo.catalogue.cards:load_card",
    "check_card": "handzoo.hub.validate:check_card",
    "weights_status": "handzoo.hub.status:weights_status",
    "cache_dir": "handzoo.hub.cache:cache_dir",
    "download_weights": "handzoo.hub.download:download_weights",
    "convert_checkpoint": "handzoo.hub.convert:convert_checkpoint",
    "load": "handzoo.hub.load:load",
    "push_weights": "handzoo.hub.push:push_weights",
}

__all__ = list(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
