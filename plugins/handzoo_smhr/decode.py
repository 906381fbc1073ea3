"""SMHR's decoding: centre scores, 5x5 max-pool suppression, top-K, parameter split, translation,
projection and the spherical-harmonics vertex colours.

All functions are batched torch code that works in float32 and float64 and keeps gradients.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "BLOCK",
    "LEFT_BLOCK",
    "RIGHT_BLOCK",
    "ALBEDO_MEAN",
    "center_scores",
    "nms",
    "topk_centers",
    "split_block",
    "decode_translation",
    "virtual_intrinsics",
    "project",
    "adjacent_faces",
    "vertex_normals_sh",
    "sh_basis",
    "sh_vertex_colors",
]

BLOCK = 61  # global orient 3 + finger pose 45 + betas 10 + translation code 3
LEFT_BLOCK = slice(0, BLOCK)
RIGHT_BLOCK = slice(BLOCK, 2 * BLOCK)
ALBEDO_MEAN = (0.45, 0.35, 0.30)


def center_scores(logits: torch.Tensor) -> torch.Tensor:
    """Sigmoid clamped to [1e-4, 1 - 1e-4] (the authors' ``_sigmoid``)."""
    return torch.clamp(torch.sigmoid(logits), min=1e-4, max=1 - 1e-4)


def nms(heat: torch.Tensor, kernel: int = 5) -> torch.Tensor:
    """Zero every cell that is not the maximum of its ``kernel`` x ``kernel`` neighbourhood."""
    hmax = F.max_pool2d(heat, kernel, stride=1, padding=(kernel - 1) // 2)
    return heat * (hmax == heat).to(heat.dtype)


def topk_centers(heat: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` highest cells of the first channel of ``heat`` (B, C, H, W).

    Returns:
        ``(scores (B, k), flat cell indices (B, k))``, best first (``torch.topk`` order).
    """
    b = heat.shape[0]
    k = min(k, heat.shape[-1] * heat.shape[-2])
    return torch.topk(heat[:, 0].reshape(b, -1), k)


def split_block(theta: torch.Tensor) -> dict[str, torch.Tensor]:
    """One hand's 61 values -> ``global_orient`` (3), ``hand_pose`` (45), ``betas`` (10), ``transl_code`` (3)."""
    return {
        "global_orient": theta[..., 0:3],
        "hand_pose": theta[..., 3:48],
        "betas": theta[..., 48:58],
        "transl_code": theta[..., 58:61],
    }


def decode_translation(
    code: torch.Tensor,
    ind: torch.Tensor,
    map_width: int,
    down_ratio: int,
    input_size: int,
    focal: float = 512.0,
    depth_offset: float = 0.8,
) -> torch.Tensor:
    """Camera-frame translation from the translation code ``(a, b, c)`` at cell ``ind``.

    ``t_z = c + depth_offset``, ``t_x = t_z (a + u - S/2) / f``, ``t_y = t_z (b + v - S/2) / f``
    with ``(u, v) = (column, row) * down_ratio`` the cell's corner in network-input pixels
    (the authors' ``Split_coeff``: no half-cell offset) and ``S`` the square input size.
    """
    tz = code[..., 2] + depth_offset
    u = (ind % map_width) * down_ratio
    v = torch.div(ind, map_width, rounding_mode="floor") * down_ratio
    half = input_size / 2
    tx = tz * (code[..., 0] + u - half) / focal
    ty = tz * (code[..., 1] + v - half) / focal
    return torch.stack((tx, ty, tz), dim=-1)


def virtual_intrinsics(input_size: int, focal: float = 512.0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The virtual camera of the network input: focal ``f``, principal point at ``S/2``."""
    c = input_size / 2
    return torch.tensor([[focal, 0.0, c], [0.0, focal, c], [0.0, 0.0, 1.0]], dtype=dtype)


def project(points: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Pinhole projection ``(K p)[:2] / (K p)[2]`` of (..., N, 3) points with (3, 3) or (..., 3, 3) K."""
    p = points @ K.transpose(-1, -2)
    return p[..., :2] / p[..., 2:]


def adjacent_faces(faces: np.ndarray, num_vertices: int, width: int = 8) -> np.ndarray:
    """(V, max(width, valence)) face ids around each vertex, as the authors' normal estimate uses.

    Faces are listed in the order they reference the vertex as first, then second, then third
    corner; rows shorter than the width repeat their own faces cyclically (so some faces count
    twice in the sum, as in the authors' code). A vertex on no face points at the extra zero
    normal row (id ``F``).
    """
    faces = np.asarray(faces, dtype=np.int64)
    lists: list[list[int]] = [[] for _ in range(num_vertices)]
    for corner in range(3):
        for f, v in enumerate(faces[:, corner]):
            lists[int(v)].append(f)
    width = max(width, max((len(x) for x in lists), default=0))
    out = np.full((num_vertices, width), faces.shape[0], dtype=np.int64)
    for v, row in enumerate(lists):
        if row:
            out[v] = [row[j % len(row)] for j in range(width)]
    return out


def vertex_normals_sh(vertices: torch.Tensor, faces: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
    """Unit vertex normals (N, V, 3): the sum of the adjacent faces' ``(v0 - v1) x (v1 - v2)``."""
    v0, v1, v2 = (vertices[:, faces[:, i]] for i in range(3))
    fn = torch.cross(v0 - v1, v1 - v2, dim=2)
    fn = torch.cat((fn, fn.new_zeros(fn.shape[0], 1, 3)), dim=1)
    vn = fn[:, adjacency].sum(2)
    return vn / (vn.norm(dim=2, keepdim=True) + 1e-8)


def sh_basis(normals: torch.Tensor) -> torch.Tensor:
    """The nine order-2 spherical-harmonics irradiance terms (N, V, 9) of unit normals (N, V, 3)."""
    a0, a1, a2 = math.pi, 2 * math.pi / math.sqrt(3.0), 2 * math.pi / math.sqrt(8.0)
    c0, c1, c2 = (
        1 / math.sqrt(4 * math.pi),
        math.sqrt(3.0) / math.sqrt(4 * math.pi),
        3 * math.sqrt(5.0) / math.sqrt(12 * math.pi),
    )
    d0 = 0.5 / math.sqrt(3.0)
    nx, ny, nz = normals.unbind(-1)
    return torch.stack(
        (
            torch.full_like(nx, a0 * c0),
            -a1 * c1 * ny,
            a1 * c1 * nz,
            -a1 * c1 * nx,
            a2 * c2 * nx * ny,
            -a2 * c2 * ny * nz,
            a2 * c2 * d0 * (3 * nz.pow(2) - 1),
            -a2 * c2 * nx * nz,
            a2 * c2 * 0.5 * (nx.pow(2) - ny.pow(2)),
        ),
        dim=-1,
    )


def sh_vertex_colors(
    albedo: torch.Tensor, light: torch.Tensor, normals: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lambertian colours under SH lighting: ``albedo * (Y(n) @ gamma)``.

    Args:
        albedo: (N, V, 3) per-vertex albedo.
        light: (N, 27) coefficients, 9 per colour channel (R block, G block, B block); 0.8 is
            added to each channel's constant term, as the authors do.
        normals: (N, V, 3) unit normals.

    Returns:
        ``(colours (N, V, 3), irradiance (N, V, 3))``.
    """
    gamma = light.reshape(-1, 3, 9).clone()
    gamma[:, :, 0] = gamma[:, :, 0] + 0.8
    irradiance = sh_basis(normals) @ gamma.transpose(1, 2)
    return albedo * irradiance, irradiance
