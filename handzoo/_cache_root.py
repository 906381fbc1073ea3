"""The root of handzoo's user cache: ``$HANDZOO_CACHE``, else ``$XDG_CACHE_HOME/handzoo``, else ``~/.cache/handzoo``.

Standard library only, so that every layer (the weights cache, the scoring ground-truth cache)
can read the one rule.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_root"]

CACHE_ENV = "HANDZOO_CACHE"


def cache_root() -> Path:
    """The cache root (read from the environment at each call)."""
    root = os.environ.get(CACHE_ENV)
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "handzoo"
