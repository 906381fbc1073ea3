"""From the 22 parameters to the hand: MANO with a fixed root rotation, then the global rotation.

The authors' MANO layer poses the right hand with pose ``hands_mean + pca @ hands_components[:6]``
and the root joint rotated by the constant axis-angle ``(pi, 0, 0)`` (MANO's y-up hand turned to
a y-down, z-forward camera frame), then multiplies vertices and joints by the predicted global
rotation ``R`` about the *origin* of MANO's frame (not about the wrist). The 2D points are the
weak-perspective projection ``(tx, ty) + s * (x, y)`` in pixels of the 256x256 crop.

Equivalent MANO parameters: ``global_orient = log(R @ R_x(pi))``, ``hand_pose = pca @ components``
(to be used with the hands mean, i.e. MANO's default ``flat_hand_mean=False``), ``betas``; MANO's
global rotation turns about the wrist's rest position ``J0``, so reproducing the authors' mesh needs
the extra translation ``(R - I) J0``, returned as ``transl``.
"""

from __future__ import annotations

import math

import torch

from handzoo.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from handzoo.interfaces import HandModel

__all__ = ["ROOT_ROTATION", "decode_hand", "weak_perspective"]

ROOT_ROTATION = (math.pi, 0.0, 0.0)


def weak_perspective(points: torch.Tensor, scale: torch.Tensor, trans: torch.Tensor) -> torch.Tensor:
    """``trans + scale * points[..., :2]`` for (N, P, 3) points, (N,) scales and (N, 2) shifts."""
    return trans[:, None, :] + scale[:, None, None] * points[..., :2]


def decode_hand(
    hand_model: HandModel,
    scale: torch.Tensor,
    trans: torch.Tensor,
    rot: torch.Tensor,
    pose_pca: torch.Tensor,
    betas: torch.Tensor,
    with_mano: bool = True,
) -> dict[str, torch.Tensor]:
    """Pose the hand model and project it.

    Args:
        hand_model: a right-hand model in PCA mode (``use_pca=True``, as many components as
            ``pose_pca`` has columns, ``flat_hand_mean=False``).
        scale, trans, rot, pose_pca, betas: the head's outputs.
        with_mano: also return the equivalent MANO parameters (``global_orient``, ``hand_pose``,
            ``transl``).

    Returns:
        ``vertices`` (N, V, 3) and ``joints3d`` (N, 21, 3, handzoo21) in metres in the network's
        frame (no translation), ``joints2d`` (N, 21, 2) and ``vertices2d`` (N, V, 2) in crop pixels,
        and the MANO parameters when asked.
    """
    n = rot.shape[0]
    dtype = rot.dtype
    root = torch.stack([torch.full_like(rot[:, 0], v) for v in ROOT_ROTATION], 1)  # no host tensor (CUDA graphs)
    if n:
        verts, joints = hand_model(root, pose_pca, betas)
    else:  # an empty batch (the hand model needs one hand at least)
        verts = rot.new_zeros(0, hand_model.num_vertices, 3)
        joints = rot.new_zeros(0, 21, 3)
    R = axis_angle_to_matrix(rot)
    verts = verts @ R.transpose(1, 2)
    joints = joints @ R.transpose(1, 2)
    out = {
        "vertices": verts,
        "joints3d": joints,
        "joints2d": weak_perspective(joints, scale, trans),
        "vertices2d": weak_perspective(verts, scale, trans),
    }
    if with_mano:
        comps = getattr(hand_model, "hand_components", None)
        hand_pose = pose_pca @ comps.to(dtype) if comps is not None else pose_pca
        R0 = axis_angle_to_matrix(root)
        out["global_orient"] = matrix_to_axis_angle(R @ R0)
        J0 = hand_model.J_template[0].to(dtype) + (betas @ hand_model.J_shapedirs.to(dtype))[:, :3]
        out["hand_pose"] = hand_pose
        out["transl"] = (J0[:, None, :] @ R.transpose(1, 2))[:, 0] - J0
    return out
