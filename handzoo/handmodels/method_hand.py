"""How a method turns its ``hand_model=`` argument into the hand model its parameters drive.

Every method accepts the same three forms: a name (``'mano'``: the user's MANO files, or
``'openhand'``: the shipped open hand), a ``HAND_MODELS`` config dict, or a built
:class:`~handzoo.interfaces.HandModel`. A name or config gets the method's own settings where it
does not set them (``defaults``; ``mano_defaults`` only on MANO, e.g. the authors' fingertip
vertices), and is built through the registry. Crop-based methods mirror left hands, so the model
must be a right hand.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from torch import nn

from handzoo.errors import ConfigError
from handzoo.interfaces import HandModel

__all__ = ["hand_model_config", "build_method_hand_model", "make_buffers_non_persistent"]

_NAMES = ("mano", "openhand")


def hand_model_config(
    hand_model: str | Mapping[str, Any],
    *,
    method: str,
    defaults: Mapping[str, Any] | None = None,
    mano_defaults: Mapping[str, Any] | None = None,
    mano_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """The ``HAND_MODELS`` config a method builds from a name or a config.

    Args:
        hand_model: ``'mano'``, ``'openhand'`` or a config dict with ``type`` one of those.
        method: the method's display name, for error messages.
        defaults: settings used where the config does not set them.
        mano_defaults: further defaults only when the type is ``mano``.
        mano_dir: folder with the MANO files (only for ``mano``; default ``$HANDZOO_MANO_DIR``).

    Raises:
        ConfigError: another type, or an argument that is neither a name nor a mapping.
    """
    if isinstance(hand_model, str):
        cfg: dict[str, Any] = {"type": hand_model}
    elif isinstance(hand_model, Mapping):
        cfg = dict(hand_model)
    else:
        raise ConfigError(
            f"hand_model must be a name, a HAND_MODELS config or a HandModel, got {type(hand_model).__name__}"
        )
    name = str(cfg.get("type", "")).lower()
    if name not in _NAMES:
        raise ConfigError(
            f"unknown hand model {cfg.get('type')!r} for {method}",
            hint="use hand_model='mano' (the authors' weights, your MANO files) or 'openhand' (no MANO files needed)",
        )
    cfg["type"] = name
    for key, value in (defaults or {}).items():
        cfg.setdefault(key, value)
    if name == "mano":
        for key, value in (mano_defaults or {}).items():
            cfg.setdefault(key, value)
        if mano_dir is not None:
            cfg.setdefault("mano_dir", mano_dir)
    if cfg.get("tip_vertex_ids") is not None:
        cfg["tip_vertex_ids"] = tuple(int(t) for t in cfg["tip_vertex_ids"])
    return cfg


def build_method_hand_model(
    hand_model: str | Mapping[str, Any] | HandModel,
    *,
    method: str,
    defaults: Mapping[str, Any] | None = None,
    mano_defaults: Mapping[str, Any] | None = None,
    mano_dir: str | os.PathLike[str] | None = None,
    right_only: bool = True,
) -> HandModel:
    """Build (or pass through) the hand model of a method; see :func:`hand_model_config`.

    Args:
        right_only: refuse a left-hand model (methods that mirror left-hand crops).

    Raises:
        ConfigError: as :func:`hand_model_config`, or a left-hand model when ``right_only``.
    """
    if isinstance(hand_model, HandModel):
        hm = hand_model
    else:
        from handzoo.registry import build

        cfg = hand_model_config(
            hand_model, method=method, defaults=defaults, mano_defaults=mano_defaults, mano_dir=mano_dir
        )
        hm = build("hand_models", cfg)
    if right_only and getattr(hm, "side", "right") != "right":
        raise ConfigError(f"{method} needs a right-hand model (left hands are mirrored crops)")
    return hm


def make_buffers_non_persistent(module: nn.Module) -> None:
    """Keep a hand model's arrays out of the method's weights.

    The arrays come from the user's files at build time (MANO's licence forbids redistributing
    them), so they are neither saved with nor expected in a state dict.
    """
    for sub in module.modules():
        for name, buf in list(sub.named_buffers(recurse=False)):
            sub.register_buffer(name, buf, persistent=False)
