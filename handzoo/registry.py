"""Registries that build: a method is a config tree of registered parts (mmengine ``Registry``).

Registries: ``BACKBONES``, ``HEADS``, ``HAND_MODELS``, ``DATASETS``, ``LOSSES``, ``METHODS``,
``DETECTORS``. :func:`build` makes an object from a config ``{'type': Name, **kwargs}``::

    from handzoo.registry import build
    hand = build("hand_models", {"type": "openhand", "side": "left", "flat_hand_mean": True})
    net = build("backbone", {"type": "TimmBackbone", "name": "resnet18", "out_indices": (4,)})

A method's constructor builds its parts the same way, so each part of a card's
``architecture:`` tree can be swapped for any registered one (a timm backbone, a third party's
head) without editing the method. An object that is already built passes through :func:`build`
unchanged, so constructors accept ``dict | nn.Module`` for each part.

Who registers what:

* core, lazily and per kind (the first time that kind is looked up): the hand models ``mano`` and
  ``openhand`` (:mod:`handzoo.handmodels.registration`), the generic ``TimmBackbone``
  (:mod:`handzoo.backbones`), the dataset loaders (:mod:`handzoo.datasets`);
* plugins, in their ``handzoo_register(registries)`` hook, run once before the first build:
  ``registries.HEADS.register_module(module=MyHead)``.

The variant table (``handzoo.list_models``, ``handzoo.model_info``) needs only the cards and
lives in :mod:`handzoo.variants`, so that listing imports neither torch nor plugin code.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Mapping
from typing import Any

from mmengine.registry import Registry

from handzoo.errors import RegistryError
from handzoo.plugins import get_plugin_manager

__all__ = [
    "BACKBONES",
    "HEADS",
    "HAND_MODELS",
    "DATASETS",
    "LOSSES",
    "METHODS",
    "DETECTORS",
    "REGISTRY_NAMES",
    "ensure_registered",
    "get_registry",
    "build",
    "reset_plugin_registrations",
]

_SCOPE = "handzoo"
REGISTRY_NAMES = ("BACKBONES", "HEADS", "HAND_MODELS", "DATASETS", "LOSSES", "METHODS", "DETECTORS")
_LABELS = {
    "BACKBONES": "backbone",
    "HEADS": "head",
    "HAND_MODELS": "hand model",
    "DATASETS": "dataset",
    "LOSSES": "loss",
    "METHODS": "method",
    "DETECTORS": "detector",
}
# core modules that register one kind of part; imported the first time that kind is looked up
_CORE_LOCATIONS: dict[str, list[str]] = {
    "BACKBONES": ["handzoo.backbones"],
    "HAND_MODELS": ["handzoo.handmodels.registration"],
    "DATASETS": ["handzoo.datasets"],
    "DETECTORS": ["handzoo.predict.detectors"],
}
# the names users may spell a kind with (besides the registry name itself, any case)
_KIND_ALIASES = {
    "BACKBONE": "BACKBONES",
    "HEAD": "HEADS",
    "HAND_MODEL": "HAND_MODELS",
    "HANDMODEL": "HAND_MODELS",
    "HANDMODELS": "HAND_MODELS",
    "DATASET": "DATASETS",
    "LOSS": "LOSSES",
    "METHOD": "METHODS",
    "DETECTOR": "DETECTORS",
}


def _new_registry(name: str) -> Registry:
    return Registry(_LABELS[name], scope=_SCOPE, locations=list(_CORE_LOCATIONS.get(name, [])))


BACKBONES = _new_registry("BACKBONES")
HEADS = _new_registry("HEADS")
HAND_MODELS = _new_registry("HAND_MODELS")
DATASETS = _new_registry("DATASETS")
LOSSES = _new_registry("LOSSES")
METHODS = _new_registry("METHODS")
DETECTORS = _new_registry("DETECTORS")


def _is_core(obj: Any) -> bool:
    return getattr(obj, "__module__", "").startswith("handzoo.")


def reset_plugin_registrations() -> None:
    """Forget what plugins registered; keep handzoo's own parts (used when plugins are replaced).

    Each registry is replaced by a fresh one holding only the core entries, so the next build
    runs the (new) plugins' registration hooks again. Look registries up as attributes of this
    module (``handzoo.registry.METHODS``) rather than keeping references across a reset.
    """
    module = sys.modules[__name__]
    for name in REGISTRY_NAMES:
        old: Registry = getattr(module, name)
        fresh = _new_registry(name)
        for key, obj in old.module_dict.items():
            if _is_core(obj):
                fresh.register_module(name=key, module=obj)
        setattr(module, name, fresh)


_reset_for_tests = reset_plugin_registrations  # the name the plugin manager calls


def ensure_registered() -> None:
    """Run every plugin's registration hook once (core parts register lazily, per kind)."""
    get_plugin_manager().register_all(sys.modules[__name__])


def _kind_key(kind: str) -> str:
    if not isinstance(kind, str):
        raise RegistryError(f"registry kind must be a name, got {kind!r}", hint=f"one of: {_kinds_hint()}")
    key = kind.strip().upper().replace("-", "_").replace(" ", "_")
    key = _KIND_ALIASES.get(key, key)
    if key not in REGISTRY_NAMES:
        raise RegistryError(f"unknown registry {kind!r}", hint=f"one of: {_kinds_hint()}")
    return key


def _kinds_hint() -> str:
    return ", ".join(n.lower() for n in REGISTRY_NAMES)


def get_registry(kind: str) -> Registry:
    """The registry of one kind of part, with core and plugin entries registered.

    Args:
        kind: ``'backbones'``, ``'heads'``, ``'hand_models'``, ``'datasets'``, ``'losses'``,
            ``'methods'`` or ``'detectors'`` (any case; the singular works too).

    Raises:
        RegistryError: unknown kind.
    """
    key = _kind_key(kind)
    ensure_registered()
    reg: Registry = getattr(sys.modules[__name__], key)
    reg.import_from_location()
    return reg


def _lookup(reg: Registry, name: Any) -> str:
    """The registered name for ``name`` (exact, else the one case-insensitive match)."""
    if not isinstance(name, str) or not name:
        raise RegistryError(f"config 'type' must be a registered {reg.name} name, got {name!r}")
    if name in reg.module_dict:
        return name
    folded = [k for k in reg.module_dict if k.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    close = difflib.get_close_matches(name, list(reg.module_dict), n=3)
    hint = f"did you mean {', '.join(close)}?" if close else "run `handzoo plugins --modules` to see what is registered"
    raise RegistryError(f"{name!r} is not registered in {reg.name}", hint=hint)


def build(kind: str, cfg: Mapping[str, Any] | str | Any) -> Any:
    """Build an object of one kind from a config.

    Args:
        kind: registry kind, e.g. ``'backbones'``, ``'hand_model'``, ``'HEADS'`` (any case,
            singular or plural).
        cfg: ``{'type': Name, **kwargs}``; a bare name is ``{'type': name}``; anything else (an
            ``nn.Module`` or other object that is already built) is returned unchanged.

    Returns:
        The built object.

    Raises:
        RegistryError: unknown kind, or the type is not registered (with the close matches).
    """
    reg = get_registry(kind)
    if isinstance(cfg, str):
        cfg = {"type": cfg}
    if not isinstance(cfg, Mapping):
        return cfg
    args = dict(cfg)
    if "type" not in args:
        raise RegistryError(f"a {reg.name} config needs a 'type' key, got keys {sorted(args)}")
    typ = args["type"]
    if isinstance(typ, type) or callable(typ):
        return reg.build(args)  # a class or factory given directly
    args["type"] = _lookup(reg, typ)
    return reg.build(args)
