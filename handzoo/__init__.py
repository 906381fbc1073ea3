"""handzoo: published 3D hand reconstruction methods side by side.

Public API (imported lazily so that ``import handzoo`` and ``handzoo list`` stay fast)::

    import handzoo
    handzoo.list_models("h2onet-*")
    handzoo.model_info("h2onet-dexycb")
    model = handzoo.load("h2onet-dexycb")
    out = model(images, boxes=boxes)          # -> handzoo.HandOutput
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> "module:attribute"
_LAZY: dict[str, str] = {
    "HandzooError": "handzoo.errors:HandzooError",
    "HandOutput": "handzoo.types:HandOutput",
    "Sample": "handzoo.types:Sample",
    "RIGHT": "handzoo.types:RIGHT",
    "LEFT": "handzoo.types:LEFT",
    "ModelCard": "handzoo.hub.cards:ModelCard",
    "list_models": "handzoo.variants:list_models",
    "model_info": "handzoo.variants:model_info",
    "get_plugin_manager": "handzoo.plugins:get_plugin_manager",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'handzoo' has no attribute {name!r}")
    module, attr = target.split(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
