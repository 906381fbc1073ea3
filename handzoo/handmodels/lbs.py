"""Linear blend skinning in MANO's formulation (functional, batched, differentiable).

``v_shaped = v_template + shapedirs . betas``; ``J = J_regressor . v_shaped``;
``v_posed = v_shaped + posedirs . vec(R_1..J-1 - I)``; each joint's world transform is the
product of the local rigid transforms along the kinematic chain; vertices are skinned with
``sum_j w_vj G_j (v_posed, 1)`` where ``G_j`` is joint j's world transform relative to its rest
pose. Rotations are axis-angle relative to the parent, expressed in the rest frame (MANO/smplx).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence

import torch

from handzoo.geometry.rotations import axis_angle_to_matrix

__all__ = ["blend_shapes", "vertices_to_joints", "kinematic_levels", "rigid_transforms", "lbs"]


def blend_shapes(betas: torch.Tensor, shapedirs: torch.Tensor) -> torch.Tensor:
    """Per-vertex displacements (B, V, 3) of ``betas`` (B, K) on ``shapedirs`` (V, 3, K)."""
    v, _, _ = shapedirs.shape
    k = betas.shape[-1]
    return (betas @ shapedirs.reshape(v * 3, -1)[:, :k].T).reshape(betas.shape[0], v, 3)


def vertices_to_joints(J_regressor: torch.Tensor, vertices: torch.Tensor) -> torch.Tensor:
    """Regress joints (B, J, 3) from vertices (B, V, 3) with a dense (J, V) regressor."""
    return torch.matmul(J_regressor, vertices)


def kinematic_levels(parents: Sequence[int]) -> list[list[int]]:
    """Group joints by depth in the tree: every joint of level d has its parent in level d - 1."""
    depth: list[int] = []
    for i, p in enumerate(parents):
        if p >= i:
            raise ValueError("parents must list each joint after its parent")
        depth.append(0 if p < 0 else depth[p] + 1)
    return [[i for i, d in enumerate(depth) if d == k] for k in range(max(depth) + 1)]


@functools.lru_cache(maxsize=32)
def _index_tensors(parents: tuple[int, ...], levels: tuple[tuple[int, ...], ...], device: torch.device):
    """Index tensors for :func:`rigid_transforms`, built once per tree and device.

    Built outside inference mode: a cached inference tensor could not be used under autograd later.
    """
    with torch.inference_mode(False):
        parents_t = torch.tensor(parents, device=device)
        root = torch.tensor(levels[0], device=device)
        rest = [(torch.tensor(lv, device=device), parents_t[torch.tensor(lv, device=device)]) for lv in levels[1:]]
    return parents_t, [root, *rest]


def _no_autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """Autocast switched off on ``device`` (a no-op where autocast does not exist, e.g. ``meta``)."""
    if torch.amp.is_autocast_available(device.type):
        return torch.autocast(device.type, enabled=False)
    return contextlib.nullcontext()


def rigid_transforms(
    rot_mats: torch.Tensor, joints: torch.Tensor, parents: Sequence[int], levels: list[list[int]] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Compose local joint rotations along the kinematic tree.

    Args:
        rot_mats: (B, J, 3, 3) local rotations.
        joints: (B, J, 3) rest joint positions.
        parents: (J,) parent indices, -1 for the root.
        levels: optional precomputed :func:`kinematic_levels` (one batched matmul per level).

    Returns:
        ``(posed_joints (B, J, 3), skinning (B, J, 3, 4))``: the world transform of each joint
        relative to its rest pose, as ``[R | t]`` mapping rest-pose points to posed points.
    """
    dtype = torch.promote_types(rot_mats.dtype, joints.dtype)
    with _no_autocast(joints.device):  # the chain in the inputs' dtype under autocast (no mixed index-put)
        return _rigid_transforms(rot_mats.to(dtype), joints.to(dtype), parents, levels)


def _rigid_transforms(
    rot_mats: torch.Tensor, joints: torch.Tensor, parents: Sequence[int], levels: list[list[int]] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    levels = levels if levels is not None else kinematic_levels(parents)
    parents_t, level_idx = _index_tensors(tuple(int(p) for p in parents), tuple(map(tuple, levels)), joints.device)
    rel = torch.cat([joints[:, :1], joints[:, 1:] - joints[:, parents_t[1:]]], dim=1)
    world_r = torch.empty_like(rot_mats)
    world_t = torch.empty_like(joints)
    root = level_idx[0]
    world_r[:, root] = rot_mats[:, root]
    world_t[:, root] = rel[:, root]
    for idx, par in level_idx[1:]:
        pr = world_r[:, par]
        world_r[:, idx] = pr @ rot_mats[:, idx]
        world_t[:, idx] = (pr @ rel[:, idx, :, None])[..., 0] + world_t[:, par]
    # posed point = R_world (x - J_rest) + t_world
    t_skin = world_t - (world_r @ joints[..., None])[..., 0]
    return world_t, torch.cat([world_r, t_skin[..., None]], dim=-1)


def lbs(
    betas: torch.Tensor,
    full_pose: torch.Tensor,
    v_template: torch.Tensor,
    shapedirs: torch.Tensor,
    posedirs: torch.Tensor | None,
    J_regressor: torch.Tensor,
    parents: Sequence[int],
    weights: torch.Tensor,
    levels: list[list[int]] | None = None,
    joints: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pose and shape a hand/body model.

    Args:
        betas: (B, K) shape coefficients (K <= shapedirs.shape[-1]).
        full_pose: (B, J, 3) axis-angle, or (B, J, 3, 3) rotation matrices.
        v_template: (V, 3).
        shapedirs: (V, 3, K).
        posedirs: (9 (J-1), 3 V) pose blend shapes flattened as smplx does, or None to skip them.
        J_regressor: (J, V) dense.
        parents: (J,) parents.
        weights: (V, J) skinning weights.
        levels: optional precomputed :func:`kinematic_levels`.
        joints: optional precomputed rest joints (B, J, 3) of the shaped mesh (``J_regressor`` is
            then not used); a model can get them cheaply from ``J_regressor @ v_template`` and
            ``J_regressor @ shapedirs``, since regression is linear.

    Returns:
        ``(vertices (B, V, 3), joints (B, J, 3))`` posed, before any global translation, in the
        promoted floating dtype of the inputs. Under ``torch.autocast`` the whole function runs
        in that dtype (autocast disabled): the hand model is a few small products, and the
        kinematic chain in bf16/fp16 would lose millimetres.
    """
    tensors = [
        t for t in (betas, full_pose, v_template, shapedirs, posedirs, J_regressor, weights, joints) if t is not None
    ]
    dtype = functools.reduce(torch.promote_types, (t.dtype for t in tensors))

    def cast(t: torch.Tensor | None) -> torch.Tensor | None:
        return None if t is None else t.to(dtype)

    with _no_autocast(v_template.device):
        return _lbs(
            cast(betas), cast(full_pose), cast(v_template), cast(shapedirs), cast(posedirs),
            cast(J_regressor), parents, cast(weights), levels, cast(joints),
        )  # fmt: skip


def _lbs(
    betas: torch.Tensor,
    full_pose: torch.Tensor,
    v_template: torch.Tensor,
    shapedirs: torch.Tensor,
    posedirs: torch.Tensor | None,
    J_regressor: torch.Tensor,
    parents: Sequence[int],
    weights: torch.Tensor,
    levels: list[list[int]] | None,
    joints: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    batch = full_pose.shape[0]
    v_shaped = v_template + blend_shapes(betas, shapedirs)
    if joints is None:
        joints = vertices_to_joints(J_regressor, v_shaped)
    rot_mats = full_pose if full_pose.dim() == 4 else axis_angle_to_matrix(full_pose)
    if posedirs is not None:
        eye = torch.eye(3, dtype=rot_mats.dtype, device=rot_mats.device)
        pose_feature = (rot_mats[:, 1:] - eye).reshape(batch, -1)
        v_shaped = v_shaped + (pose_feature @ posedirs).reshape(batch, -1, 3)
    posed_joints, skin = rigid_transforms(rot_mats, joints, parents, levels)
    num_joints = skin.shape[1]
    # blended per-vertex transforms in a vertex-last layout (B, 3, 4, V): the application below is
    # then three fused multiply-adds over contiguous rows instead of B*V tiny matrix products
    per_vertex = torch.matmul(skin.reshape(batch, num_joints, 12).transpose(1, 2), weights.T)
    per_vertex = per_vertex.reshape(batch, 3, 4, -1)
    vt = v_shaped.transpose(1, 2)[:, None]  # (B, 1, 3, V)
    out = torch.addcmul(per_vertex[:, :, 3], per_vertex[:, :, 0], vt[:, :, 0])
    out = torch.addcmul(out, per_vertex[:, :, 1], vt[:, :, 1])
    out = torch.addcmul(out, per_vertex[:, :, 2], vt[:, :, 2])
    return out.transpose(1, 2).contiguous(), posed_joints
