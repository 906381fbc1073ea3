"""One lazy attribute loader for handzoo's packages (PEP 562 ``__getattr__``).

Packages re-export names without importing torch-heavy submodules until a name is used, which
keeps ``import handzoo`` and ``handzoo list`` fast.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_getattr"]


def lazy_getattr(package: str, table: Mapping[str, str], submodules: Iterable[str] = ()) -> Callable[[str], Any]:
    """Build a module ``__getattr__`` resolving names on first use and caching them.

    Args:
        package: the package's ``__name__``.
        table: public name -> ``"module:attribute"`` (absolute), or -> ``"submodule"`` of
            ``package`` holding an attribute of the same name.
        submodules: submodule names returned as modules (``package.rotations``).
    """
    subs = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        if name in subs:
            return importlib.import_module(f"{package}.{name}")
        target = table.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attr = target.partition(":")
        if not attr:
            module, attr = f"{package}.{module}", name
        value = getattr(importlib.import_module(module), attr)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
