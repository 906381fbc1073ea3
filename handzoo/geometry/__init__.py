"""Geometry shared by every method, one concern per submodule (import the submodule you need)::

    from handzoo.geometry.rotations import axis_angle_to_matrix, rot6d_to_matrix
    from handzoo.geometry.cameras import project_points, weak_perspective_to_translation
    from handzoo.geometry.frames import OPENGL_TO_OPENCV, opengl_to_opencv
    from handzoo.geometry.flip import flip_axis_angle, flip_keypoints_2d
    from handzoo.geometry.joint_orders import HANDZOO21_BONES, convert_joints

``joint_orders`` and ``frames`` need numpy only; the others use torch. The submodules are also
reachable as attributes (``handzoo.geometry.rotations``), imported on first use. The alignments
the metrics use (FreiHAND's ``align_w_scale``, Umeyama) are in :mod:`handzoo.metrics.procrustes`.
"""

from __future__ import annotations

from handzoo._lazy import lazy_getattr

_SUBMODULES = ("rotations", "cameras", "frames", "flip", "joint_orders")

__all__: list[str] = []

__getattr__ = lazy_getattr(__name__, {}, _SUBMODULES)


def __dir__() -> list[str]:
    return sorted(_SUBMODULES)
