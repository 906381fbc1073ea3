"""The plugin manager: discovery, autoload policy, error isolation and introspection.

Plugins are modules named by entry points in the group ``handzoo`` (built-in ones included:
there is no private shortcut). Policy, as in pytest:

* by default every entry point of the group is loaded;
* ``HANDZOO_DISABLE_PLUGIN_AUTOLOAD=1`` loads none of them, except those named in
  ``HANDZOO_PLUGINS`` (comma-separated entry-point names or importable module paths);
* ``HANDZOO_PLUGINS`` also adds modules that have no entry point when autoload is on.

A plugin that fails to import, raises in a hook, or provides a variant name that another plugin
already provides is recorded with its error and skipped; the others keep working.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from handzoo import hookspecs
from handzoo.catalogue.card_checks import check_card_fields
from handzoo.catalogue.cards import ModelCard, load_card
from handzoo.errors import PluginError

__all__ = ["ENTRY_POINT_GROUP", "PluginInfo", "PluginManager", "get_plugin_manager", "reset_plugin_manager"]

ENTRY_POINT_GROUP = "handzoo"
_DISABLE_ENV = "HANDZOO_DISABLE_PLUGIN_AUTOLOAD"
_PLUGINS_ENV = "HANDZOO_PLUGINS"
_BUILTIN_DIST = "handzoo"


@dataclass
class PluginInfo:
    """What one plugin is and what it provided.

    Attributes:
        name: plugin name (entry-point name, or module path for ``HANDZOO_PLUGINS`` modules).
        module: import path of the plugin module.
        distribution: the installed distribution providing it, if any.
        version: that distribution's version.
        builtin: True for the plugins shipped with handzoo.
        variants: model variants its cards provide.
        planned: those of its variants whose card is ``status: planned`` (no code yet).
        converters: method names it has checkpoint converters for.
        registered: registry name -> class names it registered (filled once models are built).
        errors: error messages (import failure, hook failure, duplicate names).
    """

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    builtin: bool = False
    variants: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)
    converters: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the plugin loaded and every hook ran without error."""
        return not self.errors

    @property
    def status(self) -> str:
        """``ok``; ``cards only (planned)`` when every variant it provides is planned; else its errors."""
        if self.errors:
            return " | ".join(self.errors)
        if self.variants and len(self.planned) == len(self.variants):
            return "cards only (planned)"
        return "ok"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable view."""
        d = asdict(self)
        d["ok"] = self.ok
        d["status"] = self.status
        return d


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _short_error(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" ({Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


class PluginManager:
    """Loads plugins and gathers what they provide, isolating each plugin's failures.

    Args:
        autoload: load every entry point of the ``handzoo`` group. Default: True unless
            ``HANDZOO_DISABLE_PLUGIN_AUTOLOAD`` is set.
        extra: plugin names/modules to load in addition. Default: ``HANDZOO_PLUGINS``.
        entry_points: entry points to consider (for tests); default: the installed ones.
    """

    def __init__(
        self,
        autoload: bool | None = None,
        extra: Iterable[str] | None = None,
        entry_points: Iterable[metadata.EntryPoint] | None = None,
    ) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._infos: dict[str, PluginInfo] = {}
        self._cards: dict[str, ModelCard] | None = None
        self._converters: dict[str, Callable[..., Any] | str] | None = None
        self._registered = False
        if autoload is None:
            autoload = not _env_true(_DISABLE_ENV)
        if extra is None:
            extra = [s.strip() for s in os.environ.get(_PLUGINS_ENV, "").split(",") if s.strip()]
        eps = list(entry_points) if entry_points is not None else list(metadata.entry_points(group=ENTRY_POINT_GROUP))
        wanted = set(extra)
        by_name = {}
        for ep in eps:
            by_name.setdefault(ep.name, ep)
        # built-ins first, then by name: deterministic precedence for duplicate variant names
        ordered = sorted(by_name.values(), key=lambda ep: (not self._is_builtin(ep), ep.name))
        for ep in ordered:
            if autoload or ep.name in wanted:
                self._load_entry_point(ep)
                wanted.discard(ep.name)
        for mod in sorted(wanted):
            self._load_module_path(mod)

    # -- loading ---------------------------------------------------------------------------

    @staticmethod
    def _is_builtin(ep: metadata.EntryPoint) -> bool:
        dist = getattr(ep, "dist", None)
        return bool(dist and dist.metadata["Name"] == _BUILTIN_DIST)

    def _load_entry_point(self, ep: metadata.EntryPoint) -> None:
        dist = getattr(ep, "dist", None)
        info = PluginInfo(
            name=ep.name,
            module=ep.value,
            distribution=dist.metadata["Name"] if dist else None,
            version=dist.version if dist else None,
            builtin=self._is_builtin(ep),
        )
        self._infos[ep.name] = info
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not break the others
            info.errors.append(f"import failed: {_short_error(exc)}")
            return
        self._register_object(obj, info)

    def _load_module_path(self, path: str) -> None:
        info = PluginInfo(name=path, module=path)
        self._infos[path] = info
        try:
            obj = importlib.import_module(path)
        except Exception as exc:
            info.errors.append(f"import failed: {_short_error(exc)}")
            return
        self._register_object(obj, info)

    def _register_object(self, obj: Any, info: PluginInfo) -> None:
        if info.version is None and isinstance(obj, ModuleType):
            info.version = getattr(obj, "__version__", None)
        try:
            self._pm.register(obj, name=info.name)
        except Exception as exc:
            info.errors.append(f"registration failed: {_short_error(exc)}")

    def register(self, obj: Any, name: str, version: str | None = None) -> PluginInfo:
        """Register a plugin object (module or instance with hookimpls) directly.

        Used by tests and by applications that embed handzoo.
        """
        info = PluginInfo(name=name, module=getattr(obj, "__name__", type(obj).__name__), version=version)
        self._infos[name] = info
        self._register_object(obj, info)
        self._cards = self._converters = None
        return info

    # -- hooks, isolated per plugin ----------------------------------------------------------

    def _call_each(self, hook_name: str, **kwargs: Any) -> Iterable[tuple[PluginInfo, Any]]:
        hook = getattr(self._pm.hook, hook_name)
        for impl in hook.get_hookimpls():
            info = self._infos.get(impl.plugin_name)
            if info is None:
                continue
            try:
                yield info, impl.function(**kwargs)
            except Exception as exc:
                info.errors.append(f"{hook_name} failed: {_short_error(exc)}")

    def cards(self) -> dict[str, ModelCard]:
        """All model cards by variant name (first plugin wins; duplicates are recorded)."""
        if self._cards is None:
            cards: dict[str, ModelCard] = {}
            for info in self._ordered_infos():
                info.variants.clear()
                info.planned.clear()
            for info, paths in self._call_each("handzoo_model_cards"):
                for path in paths or []:
                    try:
                        card = path if isinstance(path, ModelCard) else load_card(path)
                        check_card_fields(
                            card.metadata,
                            {**card.fields, "variant": card.name, "method": card.method},
                            card.path or card.name,
                        )
                    except Exception as exc:
                        info.errors.append(f"bad model card {path}: {exc}")
                        continue
                    if card.name in cards:
                        other = cards[card.name].plugin
                        info.errors.append(f"variant {card.name!r} is already provided by plugin {other!r}; skipped")
                        continue
                    cards[card.name] = card.with_plugin(info.name)
                    info.variants.append(card.name)
                    if card.planned:
                        info.planned.append(card.name)
            self._cards = dict(sorted(cards.items()))
        return self._cards

    def converters(self) -> dict[str, Callable[..., Any] | str]:
        """Checkpoint converters by method name (callables or ``'module:function'`` strings)."""
        if self._converters is None:
            conv: dict[str, Callable[..., Any] | str] = {}
            for info, result in self._call_each("handzoo_converters"):
                for method, fn in (result or {}).items():
                    if method in conv:
                        info.errors.append(f"converter for {method!r} is already provided; skipped")
                        continue
                    conv[method] = fn
                    info.converters.append(method)
            self._converters = conv
        return self._converters

    def register_all(self, registries: Any) -> None:
        """Run every plugin's ``handzoo_register`` hook once, recording what each registered."""
        if self._registered:
            return
        self._registered = True
        regs = {n: getattr(registries, n) for n in registries.REGISTRY_NAMES}
        hook = self._pm.hook.handzoo_register
        for impl in hook.get_hookimpls():
            info = self._infos.get(impl.plugin_name)
            if info is None:
                continue
            before = {n: set(r.module_dict) for n, r in regs.items()}
            try:
                impl.function(registries=registries)
            except Exception as exc:
                info.errors.append(f"handzoo_register failed: {_short_error(exc)}")
            for n, r in regs.items():
                # handzoo's own parts may register while a hook imports core modules: not the plugin's
                new = sorted(
                    k
                    for k in set(r.module_dict) - before[n]
                    if not getattr(r.module_dict[k], "__module__", "").startswith("handzoo.")
                )
                if new:
                    info.registered[n] = new

    # -- introspection -------------------------------------------------------------------------

    def _ordered_infos(self) -> list[PluginInfo]:
        return sorted(self._infos.values(), key=lambda i: (not i.builtin, i.name))

    def plugins(self) -> list[PluginInfo]:
        """Every plugin considered, with what it provided and its errors."""
        self.cards()
        self.converters()
        return self._ordered_infos()

    def get(self, name: str) -> PluginInfo:
        """Info about one plugin.

        Raises:
            PluginError: if no plugin of that name was loaded.
        """
        if name not in self._infos:
            raise PluginError(f"no plugin named {name!r}", hint="run `handzoo plugins` to see the loaded plugins")
        return self._infos[name]


_MANAGER: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, created on first use with the environment's policy."""
    global _MANAGER
    if _MANAGER is None:
        _MANAGER = PluginManager()
    return _MANAGER


def reset_plugin_manager(manager: PluginManager | None = None) -> None:
    """Replace (or drop, when None) the process-wide manager. For tests and embedding."""
    global _MANAGER
    _MANAGER = manager
    reg = sys.modules.get("handzoo.registry")
    if reg is not None:
        reg._reset_for_tests()
