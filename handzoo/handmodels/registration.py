"""Register the built-in hand models in ``handzoo.registry.HAND_MODELS`` (imported on demand).

Config usage: ``build("hand_models", {"type": "openhand", "side": "left"})`` or
``{"type": "mano", "side": "right", "mano_dir": "..."}``.
"""

from __future__ import annotations

from typing import Any

from handzoo.handmodels.model import LBSHandModel, hand_model
from handzoo.registry import HAND_MODELS

__all__ = ["openhand", "mano"]


def openhand(side: str = "right", **kwargs: Any) -> LBSHandModel:
    """The shipped open hand model (see :func:`handzoo.handmodels.hand_model`)."""
    return hand_model("openhand", side, **kwargs)


def mano(side: str = "right", **kwargs: Any) -> LBSHandModel:
    """The user's MANO model (see :func:`handzoo.handmodels.hand_model`)."""
    return hand_model("mano", side, **kwargs)


for _fn in (openhand, mano):
    if HAND_MODELS.get(_fn.__name__) is None:
        HAND_MODELS.register_module(name=_fn.__name__, module=_fn)
