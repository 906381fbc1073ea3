"""Recognise state-dict entries that hold MANO (or SMPL/SMPL-X/FLAME) model data.

MANO's licence forbids redistributing its arrays or anything derived from them. Authors'
checkpoints sometimes embed them (manopth ``th_*`` buffers, ``mano_layer.*``, H2ONet's
``mano_joint_reg``); :func:`convert_checkpoint <handzoo.hub.convert.convert_checkpoint>` drops
them and ``handzoo push`` refuses to upload any file that still holds one. Hand-model arrays a
method needs at run time belong in non-persistent buffers filled from the user's MANO file.

A key is flagged when one of its dotted components is a known body-model module name, when its
last component is a known MANO array name, or when it matches an extra fnmatch pattern (from a
card's ``weights.mano_derived_keys`` or a converter module's ``MANO_DERIVED_KEYS``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

__all__ = ["MANO_MODULE_NAMES", "MANO_ARRAY_NAMES", "is_mano_key", "mano_keys"]

MANO_MODULE_NAMES = frozenset({"mano_layer", "smpl_layer", "smplx_layer", "flame_layer", "mano_joint_reg"})
MANO_ARRAY_NAMES = frozenset(
    {
        "v_template",
        "shapedirs",
        "posedirs",
        "J_regressor",
        "hands_components",
        "hands_mean",
        "hands_coeffs",
        "kintree_table",
        "lbs_weights",
        "mano_joint_reg",
        "th_betas",
        "th_shapedirs",
        "th_posedirs",
        "th_v_template",
        "th_J_regressor",
        "th_weights",
        "th_faces",
        "th_hands_mean",
        "th_selected_comps",
        "th_comps",
    }
)


def is_mano_key(key: str, extra_patterns: Iterable[str] = ()) -> bool:
    """True when a state-dict key holds MANO-derived data (see the module docstring)."""
    parts = key.split(".")
    if parts[-1] in MANO_ARRAY_NAMES or any(p in MANO_MODULE_NAMES for p in parts):
        return True
    return any(fnmatch.fnmatchcase(key, pat) for pat in extra_patterns)


def mano_keys(keys: Iterable[str], extra_patterns: Iterable[str] = ()) -> list[str]:
    """The flagged keys among ``keys``, sorted."""
    pats = tuple(extra_patterns)
    return sorted(k for k in keys if is_mano_key(k, pats))
