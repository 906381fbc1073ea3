"""Geometry shared by every method: rotations, cameras, camera frames, joint orders, flipping.

Submodules are imported lazily so that ``handzoo.geometry.joint_orders`` (numpy only) does not
pull in torch::

    from handzoo.geometry import axis_angle_to_matrix, opengl_to_opencv, flip_axis_angle

The alignments the metrics use (FreiHAND's ``align_w_scale``, Umeyama) are in
:mod:`handzoo.metrics.procrustes`.
"""

from __future__ import annotations

from handzoo._lazy import lazy_getattr

_SUBMODULES = ("rotations", "cameras", "frames", "flip", "joint_orders")

# public name -> submodule
_LAZY: dict[str, str] = {
    **{
        n: "rotations"
        for n in (
            "axis_angle_to_matrix",
            "matrix_to_axis_angle",
            "axis_angle_to_quaternion",
            "quaternion_to_axis_angle",
            "quaternion_to_matrix",
            "matrix_to_quaternion",
            "rot6d_to_matrix",
            "matrix_to_rot6d",
            "rot6d_to_axis_angle",
            "axis_angle_to_rot6d",
            "standardize_quaternion",
            "quaternion_multiply",
        )
    },
    **{
        n: "cameras"
        for n in (
            "project_points",
            "perspective_projection",
            "weak_perspective_projection",
            "weak_perspective_to_translation",
            "unproject_points",
            "intrinsics_matrix",
        )
    },
    **{
        n: "frames"
        for n in (
            "OPENGL_TO_OPENCV",
            "opengl_to_opencv",
            "opencv_to_opengl",
        )
    },
    **{
        n: "flip"
        for n in (
            "flip_points",
            "flip_axis_angle",
            "flip_rotation_matrix",
            "flip_image",
            "flip_keypoints_2d",
            "flip_boxes",
            "flip_intrinsics",
            "flip_side",
        )
    },
    **{
        n: "joint_orders"
        for n in ("convert_joints", "order_map", "TO_HANDZOO21", "FROM_HANDZOO21", "JOINT_ORDERS", "HANDZOO21_BONES")
    },
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY, _SUBMODULES)


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(_SUBMODULES))
