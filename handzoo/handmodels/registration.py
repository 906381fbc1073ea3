"""The built-in hand models in ``handzoo.registry.HAND_MODELS`` (imported when that kind is first used).

Config usage::

    build("hand_models", {"type": "openhand", "side": "left"})
    build("hand_models", {"type": "mano", "side": "right", "mano_dir": "~/mano", "flat_hand_mean": True,
                          "tip_vertex_ids": (745, 317, 445, 556, 673), "joint_regressor": "vertices"})

Options (both models): ``side``, ``flat_hand_mean``, ``tip_vertex_ids``, ``joint_regressor``
(``None``, ``'vertices'`` or a trained (21, V) matrix; see
:class:`~handzoo.handmodels.model.LBSHandModel`), ``num_betas``, ``use_pca``, ``num_pca_comps``,
``dtype``; ``mano`` also takes ``mano_dir`` (default ``$HANDZOO_MANO_DIR``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from handzoo.handmodels.model import LBSHandModel, hand_model
from handzoo.registry import HAND_MODELS

__all__ = ["openhand", "mano"]


def openhand(
    side: str = "right",
    flat_hand_mean: bool = False,
    tip_vertex_ids: tuple[int, int, int, int, int] | None = None,
    joint_regressor: str | np.ndarray | torch.Tensor | None = None,
    **kwargs: Any,
) -> LBSHandModel:
    """The shipped open hand model (see :func:`handzoo.handmodels.hand_model`)."""
    return hand_model(
        "openhand",
        side,
        flat_hand_mean=flat_hand_mean,
        tip_vertex_ids=tip_vertex_ids,
        joint_regressor=joint_regressor,
        **kwargs,
    )


def mano(
    side: str = "right",
    flat_hand_mean: bool = False,
    tip_vertex_ids: tuple[int, int, int, int, int] | None = None,
    joint_regressor: str | np.ndarray | torch.Tensor | None = None,
    mano_dir: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> LBSHandModel:
    """The user's MANO model (see :func:`handzoo.handmodels.hand_model`)."""
    return hand_model(
        "mano",
        side,
        mano_dir=mano_dir,
        flat_hand_mean=flat_hand_mean,
        tip_vertex_ids=tip_vertex_ids,
        joint_regressor=joint_regressor,
        **kwargs,
    )


for _fn in (openhand, mano):
    # module_dict, not HAND_MODELS.get(): get() falls back to importing a module of that name, so an
    # importable folder called 'mano' (e.g. ./mano/models/ in the working directory) would hide the model
    if _fn.__name__ not in HAND_MODELS.module_dict:
        HAND_MODELS.register_module(name=_fn.__name__, module=_fn)
