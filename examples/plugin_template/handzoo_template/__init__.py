"""A minimal third-party handzoo plugin.

handzoo finds this module through the ``handzoo`` entry-point group declared in
``pyproject.toml``. Keep this file light: it must not import torch, because ``handzoo list``
reads the model cards without loading any model code.
"""

from __future__ import annotations

from pathlib import Path

from handzoo.hookspecs import hookimpl

__version__ = "0.1.0"


@hookimpl
def handzoo_model_cards() -> list[Path]:
    """Model cards of the variants this plugin provides."""
    return sorted((Path(__file__).parent / "cards").glob("*.md"))


@hookimpl
def handzoo_register(registries) -> None:
    """Register the plugin's classes; called only when a model is about to be built."""
    from handzoo_template.model import TemplateDemo

    registries.METHODS.register_module(module=TemplateDemo)
