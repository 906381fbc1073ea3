"""Registries (mmengine) and the table of model variants read from model cards.

Registries hold classes: ``BACKBONES``, ``HEADS``, ``HAND_MODELS``, ``DATASETS``, ``LOSSES``,
``METHODS``. Plugins fill them in their ``handzoo_register`` hook, which runs lazily the first
time something is built (:func:`ensure_registered`). The variant table (``list_models``,
``model_info``) needs only the cards, so listing never imports torch or plugin code.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from collections.abc import Iterable
from typing import Any

from mmengine.registry import Registry

from handzoo.errors import ModelNotFoundError, RegistryError
from handzoo.hub.cards import ModelCard
from handzoo.plugins import get_plugin_manager

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
_CORE_REGISTRATION_MODULES: tuple[str, ...] = ()
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


def model_cards() -> dict[str, ModelCard]:
    """Every known variant's card, by name."""
    return get_plugin_manager().cards()


def list_models(
    pattern: str | Iterable[str] = "*",
    exclude: str | Iterable[str] | None = None,
    method: str | None = None,
) -> list[str]:
    """List model variant names, like ``timm.list_models``.

    Args:
        pattern: fnmatch wildcard(s), e.g. ``'h2onet-*'``.
        exclude: wildcard(s) to leave out.
        method: keep only this method's variants.

    Returns:
        Sorted variant names.
    """
    pats = [pattern] if isinstance(pattern, str) else list(pattern)
    excl = [exclude] if isinstance(exclude, str) else list(exclude or [])
    names = []
    for name, card in model_cards().items():
        if not any(fnmatch.fnmatchcase(name, p) for p in pats):
            continue
        if any(fnmatch.fnmatchcase(name, p) for p in excl):
            continue
        if method is not None and card.method != method:
            continue
        names.append(name)
    return sorted(names)


def model_info(name: str) -> ModelCard:
    """Return the card of a model variant.

    Raises:
        ModelNotFoundError: for an unknown name, with the closest known names.
    """
    cards = model_cards()
    if name in cards:
        return cards[name]
    close = difflib.get_close_matches(name, list(cards), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "run `handzoo list` to see the known variants"
    raise ModelNotFoundError(f"unknown model variant {name!r}", hint=hint)
