"""Registries (mmengine) and the table of model variants read from model cards.

Registries hold classes: ``BACKBONES``, ``HEADS``, ``HAND_MODELS``, ``DATASETS``, ``LOSSES``,
``METHODS``. Plugins fill them in their ``handzoo_register`` hook, which runs lazily the first
time something is built (:func:`ensure_registered`). The variant table (``list_models``,
``model_info``, re-exported from :mod:`handzoo.variants`) needs only the cards and lives in its
own module so that listing imports neither mmengine, torch nor plugin code.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from mmengine.registry import Registry

from handzoo.errors import RegistryError
from handzoo.plugins import get_plugin_manager
from handzoo.variants import list_models, model_cards, model_info

__all__ = [
    "BACKBONES",
    "HEADS",
    "HAND_MODELS",
    "DATASETS",
    "LOSSES",
    "METHODS",
    "REGISTRY_NAMES",
    "ensure_registered",
    "build",
    "list_models",
    "model_info",
    "model_cards",
]

_SCOPE = "handzoo"
BACKBONES = Registry("backbone", scope=_SCOPE)
HEADS = Registry("head", scope=_SCOPE)
HAND_MODELS = Registry("hand model", scope=_SCOPE)
DATASETS = Registry("dataset", scope=_SCOPE)
LOSSES = Registry("loss", scope=_SCOPE)
METHODS = Registry("method", scope=_SCOPE)
REGISTRY_NAMES = ("BACKBONES", "HEADS", "HAND_MODELS", "DATASETS", "LOSSES", "METHODS")

# Core modules that register classes (hand models, datasets, shared backbones) on import.
_CORE_REGISTRATION_MODULES: tuple[str, ...] = ("handzoo.handmodels.registration", "handzoo.datasets")
_core_done = False


def _reset_for_tests() -> None:
    """Forget plugin registrations (used when the plugin manager is replaced)."""
    for name in REGISTRY_NAMES:
        reg = globals()[name]
        core = {k: v for k, v in reg.module_dict.items() if v.__module__.startswith("handzoo.")}
        reg._module_dict.clear()
        reg._module_dict.update(core)


def ensure_registered() -> None:
    """Import handzoo's own registering modules and run every plugin's registration hook once."""
    global _core_done
    if not _core_done:
        for mod in _CORE_REGISTRATION_MODULES:
            importlib.import_module(mod)
        _core_done = True
    import sys

    get_plugin_manager().register_all(sys.modules[__name__])


def _registry(kind: str) -> Registry:
    key = kind.upper()
    if key not in REGISTRY_NAMES:
        raise RegistryError(f"unknown registry {kind!r}", hint=f"one of: {', '.join(REGISTRY_NAMES)}")
    return globals()[key]


def build(kind: str, cfg: dict[str, Any]) -> Any:
    """Build an object from a config dict ``{'type': name, **kwargs}`` in the named registry.

    Raises:
        RegistryError: if the type is not registered (with the close matches).
    """
    ensure_registered()
    reg = _registry(kind)
    cfg = dict(cfg)
    name = cfg.get("type")
    if reg.get(name) is None:
        close = difflib.get_close_matches(str(name), list(reg.module_dict), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "run `handzoo plugins --modules` to see what is registered"
        raise RegistryError(f"{name!r} is not registered in {reg.name}", hint=hint)
    return reg.build(cfg)
