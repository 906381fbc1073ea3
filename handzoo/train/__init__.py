"""Training handzoo methods with mmengine's Runner (``handzoo-train``, ``handzoo train``).

:func:`train` runs a variant's config (``configs/<variant>.py`` in its plugin); see
:mod:`handzoo.train.runner` for what mmengine provides and :mod:`handzoo.train.data` for the
data path (pre-rendered synthetic shards or streamed datasets + the method's transform).
"""

from __future__ import annotations

from typing import Any

__all__ = ["train", "build_runner", "load_config", "export_weights"]


def __getattr__(name: str) -> Any:
    if name in ("train", "build_runner"):
        from handzoo.train import runner

        return getattr(runner, name)
    if name == "load_config":
        from handzoo.train.config import load_config

        return load_config
    if name == "export_weights":
        from handzoo.train.export import export_weights

        return export_weights
    raise AttributeError(name)
