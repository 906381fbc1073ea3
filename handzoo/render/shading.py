"""Attribute interpolation and simple Lambert (+ optional Blinn-Phong) shading of fragments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from handzoo.render.raster import Fragments

__all__ = ["Light", "vertex_normals", "face_normals", "interpolate", "face_attribute", "shade"]


@dataclass
class Light:
    """A directional light plus ambient term, in the camera frame.

    Attributes:
        direction: unit-less (3,) direction *towards* the light from the surface (camera frame,
            y down; ``(0, 0, -1)`` is a light at the camera).
        ambient: ambient intensity.
        diffuse: Lambert intensity.
        specular: Blinn-Phong intensity (0 disables it).
        shininess: Blinn-Phong exponent.
        color: (3,) light colour.
    """

    direction: Sequence[float] = (0.0, 0.0, -1.0)
    ambient: float = 0.45
    diffuse: float = 0.6
    specular: float = 0.0
    shininess: float = 16.0
    color: Sequence[float] = (1.0, 1.0, 1.0)


def face_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Unnormalised (area-weighted) face normals (B, F, 3), right-hand rule over the vertex order."""
    v = vertices[:, faces]  # (B, F, 3, 3)
    return torch.cross(v[:, :, 1] - v[:, :, 0], v[:, :, 2] - v[:, :, 0], dim=-1)


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Unit vertex normals (B, V, 3): area-weighted sums of the adjacent face normals."""
    if vertices.ndim == 2:
        vertices = vertices[None]
    fn = face_normals(vertices, faces)
    out = torch.zeros_like(vertices)
    for k in range(3):
        out = out.index_add(1, faces[:, k], fn)
    return F.normalize(out, dim=-1, eps=1e-12)


def _packed(frags: Fragments) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Covered pixels only: flat pixel index, batch index, face index, barycentrics."""
    bsz, h, w = frags.pix_to_face.shape
    flat = frags.pix_to_face.reshape(-1)
    idx = torch.nonzero(flat >= 0).squeeze(1)
    return idx, torch.div(idx, h * w, rounding_mode="floor"), flat[idx], frags.bary.reshape(-1, 3)[idx]


def _unpack(frags: Fragments, idx: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    bsz, h, w = frags.pix_to_face.shape
    out = values.new_zeros((bsz * h * w, values.shape[-1]))
    return out.index_put((idx,), values).view(bsz, h, w, -1)


def _interp_packed(bidx: torch.Tensor, fidx: torch.Tensor, bary: torch.Tensor, faces: torch.Tensor, attr: torch.Tensor):
    tri = attr[bidx[:, None], faces[fidx]]  # (P, 3, C)
    return (tri * bary[..., None]).sum(-2)


def interpolate(frags: Fragments, faces: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
    """Interpolate per-vertex attributes (B, V, C) to pixels (B, H, W, C) with the barycentrics.

    Background pixels get 0.
    """
    idx, bidx, fidx, bary = _packed(frags)
    return _unpack(frags, idx, _interp_packed(bidx, fidx, bary, faces, attributes))


def face_attribute(frags: Fragments, attributes: torch.Tensor) -> torch.Tensor:
    """Look up per-face attributes (B, F, C) or (F, C) at pixels -> (B, H, W, C); background 0."""
    bsz = frags.pix_to_face.shape[0]
    if attributes.ndim == 2:
        attributes = attributes.expand(bsz, *attributes.shape)
    idx, bidx, fidx, _ = _packed(frags)
    return _unpack(frags, idx, attributes[bidx, fidx])


def shade(
    frags: Fragments,
    vertices: torch.Tensor,
    faces: torch.Tensor,
    albedo: torch.Tensor,
    light: Light | None = None,
    per_face: bool = False,
    smooth: bool = True,
) -> torch.Tensor:
    """Lambert-shade fragments.

    Args:
        frags: the rasteriser output.
        vertices: (B, V, 3) camera-frame vertices that were rasterised.
        faces: (F, 3).
        albedo: per-vertex (B, V, 3) colours in [0, 1], or per-face (B, F, 3)/(F, 3) with
            ``per_face=True``.
        light: the light (default: camera-side light).
        per_face: whether ``albedo`` is per face.
        smooth: interpolate vertex normals (True) or use flat face normals.

    Returns:
        (B, H, W, 3) colours in [0, 1]-ish (not clamped), 0 on background. Normals are flipped to
        face the camera, so open meshes and either winding shade the same (two-sided lighting).
    """
    light = light or Light()
    if vertices.ndim == 2:
        vertices = vertices[None]
    dev, dt = vertices.device, vertices.dtype
    bsz = vertices.shape[0]
    idx, bidx, fidx, bary = _packed(frags)
    if smooth:
        n = _interp_packed(bidx, fidx, bary, faces, vertex_normals(vertices, faces))
    else:
        n = face_normals(vertices, faces)[bidx, fidx]
    n = F.normalize(n, dim=-1, eps=1e-12)
    pos = _interp_packed(bidx, fidx, bary, faces, vertices)
    view = F.normalize(-pos, dim=-1, eps=1e-12)
    n = torch.where((n * view).sum(-1, keepdim=True) < 0, -n, n)
    ldir = F.normalize(torch.as_tensor(light.direction, dtype=dt, device=dev), dim=0)
    lam = (n * ldir).sum(-1, keepdim=True).clamp(min=0.0)
    if per_face:
        alb = albedo.expand(bsz, *albedo.shape) if albedo.ndim == 2 else albedo
        col = alb[bidx, fidx]
    else:
        col = _interp_packed(bidx, fidx, bary, faces, albedo)
    lc = torch.as_tensor(light.color, dtype=dt, device=dev)
    out = col * (light.ambient + light.diffuse * lam) * lc
    if light.specular > 0:
        half = F.normalize(view + ldir, dim=-1, eps=1e-12)
        spec = (n * half).sum(-1, keepdim=True).clamp(min=0.0) ** light.shininess
        out = out + light.specular * spec * lc * (lam > 0).to(dt)
    return _unpack(frags, idx, out)
