"""Training configs: one mmengine Config file per variant, kept with the plugin that owns it.

``find_config('h2onet-sf-openhand')`` looks for ``configs/<variant>.py`` in every loaded
plugin's package (so core knows no plugin by name); a path to a ``.py`` file is used as is.
Keys a config may set (defaults in :data:`DEFAULTS`): ``variant``, ``model`` (``kwargs``
overriding the card's architecture, ``loss``, ``freeze_norm``), ``stages``, ``train_data``
(``source``, ``transform``, ``batch_size``, ``num_workers``), ``val_data``, ``optim_wrapper``,
``param_scheduler``, ``max_iters``, ``accumulate``, ``amp``, ``ema``, ``seed``,
``checkpoint_interval``, ``log_interval``.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from handzoo.errors import ConfigError

__all__ = ["find_config", "load_config", "DEFAULTS", "import_object"]

DEFAULTS: dict[str, Any] = {
    "model": {"kwargs": {}, "loss": None, "freeze_norm": False},
    "stages": None,
    "val_data": None,
    "optim_wrapper": {"optimizer": {"type": "AdamW", "lr": 1e-3, "weight_decay": 1e-4}},
    "param_scheduler": None,
    "max_iters": 1000,
    "accumulate": 1,
    "amp": "auto",
    "ema": None,
    "seed": 0,
    "checkpoint_interval": 500,
    "max_keep_ckpts": 2,
    "log_interval": 10,
}


def _plugin_dirs() -> list[Path]:
    from handzoo.plugins import get_plugin_manager

    dirs = []
    for info in get_plugin_manager().plugins():
        try:
            spec = importlib.util.find_spec(info.module)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.submodule_search_locations:
            dirs += [Path(p) for p in spec.submodule_search_locations]
    return dirs


def find_config(name: str | os.PathLike) -> Path:
    """The config file of a variant name, or the given ``.py`` path.

    Raises:
        ConfigError: no plugin ships a config for the variant.
    """
    p = Path(os.path.expanduser(str(name)))
    if p.suffix == ".py":
        if not p.is_file():
            raise ConfigError(f"config file {p} does not exist")
        return p
    found = [d / "configs" / f"{name}.py" for d in _plugin_dirs() if (d / "configs" / f"{name}.py").is_file()]
    if not found:
        available = sorted(
            {f.stem for d in _plugin_dirs() for f in (d / "configs").glob("*.py") if f.stem != "__init__"}
        )
        raise ConfigError(
            f"no training config for {name!r}",
            hint="trainable variants: " + (", ".join(available) or "none") + "; or pass a config .py path",
        )
    return found[0]


def load_config(name: str | os.PathLike, overrides: dict[str, Any] | None = None) -> Any:
    """The mmengine Config of a variant (or file) with defaults filled and ``overrides`` set
    (dotted keys; a dict value replaces the whole entry)."""
    from mmengine.config import Config

    path = find_config(name)
    cfg = Config.fromfile(str(path))
    for k, v in DEFAULTS.items():
        if k not in cfg:
            cfg[k] = v
    if "variant" not in cfg:
        cfg["variant"] = path.stem
    for key, value in (overrides or {}).items():
        _set(cfg, key, value)
    cfg["config_path"] = str(path)
    return cfg


def _set(cfg: Any, dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in a Config, replacing (not merging) dicts and creating missing levels."""
    from mmengine.config import ConfigDict

    *path, last = dotted.split(".")
    node = cfg
    for k in path:
        if node.get(k) is None:
            node[k] = ConfigDict()
        node = node[k]
    node[last] = ConfigDict(value) if isinstance(value, dict) else value


def import_object(spec: str) -> Any:
    """``'package.module:Name'`` -> the object.

    Raises:
        ConfigError: the module or attribute does not exist.
    """
    if ":" not in spec:
        raise ConfigError(f"{spec!r} is not an import path", hint="write 'package.module:Name'")
    mod, _, attr = spec.partition(":")
    try:
        return getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot import {spec}: {exc}", hint="is the plugin installed?") from None
