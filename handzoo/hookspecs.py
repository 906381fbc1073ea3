"""Hook specifications of the ``handzoo`` plugin system (pluggy). Nothing else lives here.

A plugin is a module exposed through the entry-point group ``handzoo``::

    [project.entry-points.handzoo]
    mymethod = "handzoo_mymethod"

The module defines functions decorated with :data:`hookimpl`. Keep its top level light (no
torch import): cards are read when listing models; code is imported only when a model is built.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pluggy

__all__ = ["PROJECT", "hookspec", "hookimpl", "handzoo_model_cards", "handzoo_register", "handzoo_converters"]

PROJECT = "handzoo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def handzoo_model_cards() -> list[Path]:  # type: ignore[empty-body]
    """Return the paths of the plugin's model cards (Markdown files with YAML front matter).

    Called when the model table is built (``handzoo list``). Must not import torch.
    """


@hookspec
def handzoo_register(registries: Any) -> None:  # type: ignore[empty-body]
    """Register the plugin's classes in the registries.

    Args:
        registries: the :mod:`handzoo.registry` module; use e.g.
            ``registries.METHODS.register_module(module=MyMethod)``.

    Called once, lazily, before the first model, dataset or loss is built.
    """


@hookspec
def handzoo_converters() -> dict[str, Callable[..., Any]]:  # type: ignore[empty-body]
    """Return checkpoint converters by method name.

    A converter turns the authors' original state dict into this plugin's state dict (see
    :mod:`handzoo.hub.convert` for the signature).
    """
