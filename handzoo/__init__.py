"""handzoo: published 3D hand reconstruction methods side by side.

Public API (imported lazily so that ``import handzoo`` and ``handzoo list`` stay fast)::

    import handzoo
    handzoo.list_models("h2onet-*")
    handzoo.model_info("h2onet-dexycb")
    model = handzoo.load("h2onet-dexycb")
    out = model(images, boxes=boxes)          # -> handzoo.HandOutput (input: handzoo.make_query)
    right = handzoo.hand_model("openhand")   # shipped open hand model (MANO layout)
    ds = handzoo.load_dataset("synthetic", split="bench")
"""

from __future__ import annotations

from handzoo._lazy import lazy_getattr
from handzoo._version import __version__

# public name -> "module:attribute"
_LAZY: dict[str, str] = {
    "HandzooError": "handzoo.errors:HandzooError",
    "HandOutput": "handzoo.types:HandOutput",
    "Sample": "handzoo.types:Sample",
    "RIGHT": "handzoo.types:RIGHT",
    "LEFT": "handzoo.types:LEFT",
    "ModelCard": "handzoo.catalogue.cards:ModelCard",
    "list_models": "handzoo.variants:list_models",
    "model_info": "handzoo.variants:model_info",
    "get_plugin_manager": "handzoo.plugins:get_plugin_manager",
    "load": "handzoo.hub.load:load",
    "convert_checkpoint": "handzoo.hub.convert:convert_checkpoint",
    "weights_status": "handzoo.hub.status:weights_status",
    "hand_model": "handzoo.handmodels:hand_model",
    "make_query": "handzoo.query:make_query",
    "HandQuery": "handzoo.query:HandQuery",
    "build": "handzoo.registry:build",
    "load_dataset": "handzoo.datasets:load_dataset",
    "list_datasets": "handzoo.datasets:list_datasets",
    "get_protocol": "handzoo.protocols:get_protocol",
    "list_protocols": "handzoo.protocols:list_protocols",
}

__all__ = ["__version__", *_LAZY]


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
