"""Hand models: one LBS implementation (MANO's formulation), the MANO reader, the open hand.

::

    from handzoo.handmodels import hand_model
    right = hand_model("openhand", side="right")          # shipped, Apache-2.0
    mano = hand_model("mano", side="left", mano_dir="~/mano")  # the user's MANO files
    vertices, joints21 = right(global_orient, hand_pose, betas)
"""

from __future__ import annotations

from handzoo._lazy import lazy_getattr

_LAZY: dict[str, str] = {
    "hand_model": "model",
    "LBSHandModel": "model",
    "HAND_MODEL_NAMES": "model",
    "HandModelData": "data",
    "mirror_hand_data": "data",
    "load_mano": "mano_reader",
    "read_mano_pickle": "mano_reader",
    "find_mano_file": "mano_reader",
    "MANO_TIP_IDS": "mano_reader",
    "MANO_URL": "mano_reader",
    "load_openhand": "openhand",
    "OPENHAND_TIP_IDS": "openhand",
    "save_hand_png": "viz",
    "hand_model_config": "method_hand",
    "build_method_hand_model": "method_hand",
    "make_buffers_non_persistent": "method_hand",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
