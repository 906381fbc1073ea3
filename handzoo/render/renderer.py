"""High-level mesh rendering: one or several meshes -> shaded image, mask, depth (any backend)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from handzoo.errors import RenderError
from handzoo.render._threads import single_threaded
from handzoo.render.backends import RasterBackend, get_backend
from handzoo.render.shading import Light, shade

__all__ = ["RenderOutput", "join_meshes", "supersample_intrinsics", "render_mesh", "silhouette"]

Array = np.ndarray | torch.Tensor


@dataclass
class RenderOutput:
    """A rendered image.

    Attributes:
        image: (H, W, 3) float32 in [0, 1]: the shaded meshes over the background.
        mask: (H, W) bool, pixels covered by a mesh (at least half covered when supersampled).
        coverage: (H, W) float32 fraction of each pixel covered (anti-aliasing weight).
        depth: (H, W) float32 camera depth of the visible surface (``inf`` on background).
        mesh_id: (H, W) int64 index of the mesh covering most of the pixel, -1 where ``mask`` is
            False.
        mesh_coverage: (M, H, W) float32 fraction of each pixel covered by each mesh.
    """

    image: torch.Tensor
    mask: torch.Tensor
    coverage: torch.Tensor
    depth: torch.Tensor
    mesh_id: torch.Tensor
    mesh_coverage: torch.Tensor

    def image_uint8(self) -> np.ndarray:
        """The image as an RGB uint8 numpy array."""
        return (self.image.detach().clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).cpu().numpy()


def _tensor(x: Array, dtype: torch.dtype | None = None, device: torch.device | None = None) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.to(dtype=dtype or x.dtype, device=device or x.device)
    return torch.as_tensor(np.asarray(x), dtype=dtype, device=device)


def join_meshes(vertices: Sequence[Array], faces: Sequence[Array]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Concatenate meshes into one: ``(vertices (V, 3), faces (F, 3), face_to_mesh (F,))``."""
    if len(vertices) != len(faces) or not vertices:
        raise RenderError(f"got {len(vertices)} vertex sets for {len(faces)} face sets")
    vs, fs, ids = [], [], []
    offset = 0
    for i, (v, f) in enumerate(zip(vertices, faces)):
        vt = _tensor(v, dtype=torch.float32)
        ft = _tensor(f, dtype=torch.long)
        if vt.ndim != 2 or vt.shape[1] != 3 or ft.ndim != 2 or ft.shape[1] != 3:
            raise RenderError(
                f"mesh {i}: vertices must be (V, 3) and faces (F, 3), got {tuple(vt.shape)}, {tuple(ft.shape)}"
            )
        vs.append(vt)
        fs.append(ft + offset)
        ids.append(torch.full((ft.shape[0],), i, dtype=torch.long))
        offset += vt.shape[0]
    return torch.cat(vs), torch.cat(fs), torch.cat(ids)


def supersample_intrinsics(K: torch.Tensor, factor: int) -> torch.Tensor:
    """Intrinsics of the image ``factor`` times larger (pixel centres kept: ``c' = s c + (s-1)/2``)."""
    S = torch.tensor(
        [[factor, 0.0, (factor - 1) / 2.0], [0.0, factor, (factor - 1) / 2.0], [0.0, 0.0, 1.0]],
        dtype=K.dtype,
        device=K.device,
    )
    return S @ K


def _colours(
    colors: Any, n_vertices: int, n_faces: int, face_to_mesh: torch.Tensor, n_meshes: int
) -> tuple[torch.Tensor, bool]:
    """Normalise the ``colors`` argument to per-vertex (V, 3) or per-face (F, 3) tensors."""
    if colors is None:
        colors = (0.75, 0.75, 0.75)
    if isinstance(colors, (list, tuple)) and colors and not isinstance(colors[0], (int, float)):
        # one entry per mesh: each a (3,) colour or per-vertex array
        if len(colors) != n_meshes:
            raise RenderError(f"got {len(colors)} colour entries for {n_meshes} meshes")
        c = [_tensor(ci, dtype=torch.float32).reshape(-1, 3) for ci in colors]
        if all(ci.shape[0] == 1 for ci in c):
            return torch.cat(c)[face_to_mesh], True
        return torch.cat(c), False
    c = _tensor(colors, dtype=torch.float32)
    if c.numel() == 3:
        return c.reshape(1, 3).expand(n_faces, 3), True
    if c.shape == (n_vertices, 3):
        return c, False
    if c.shape == (n_faces, 3):
        return c, True
    raise RenderError(f"colors must be (3,), (V, 3) or (F, 3), got {tuple(c.shape)}")


@single_threaded
def render_mesh(
    vertices: Array | Sequence[Array],
    faces: Array | Sequence[Array],
    K: Array,
    image_size: tuple[int, int],
    colors: Any = None,
    background: Array | None = None,
    light: Light | None = None,
    supersample: int = 1,
    smooth: bool = True,
    backend: str | RasterBackend | None = None,
    cull_backfaces: bool = False,
) -> RenderOutput:
    """Render one or several triangle meshes with Lambert shading.

    Args:
        vertices: (V, 3) camera-frame vertices (metres, OpenCV frame), or a list of them.
        faces: (F, 3) faces, or a list (one per mesh).
        K: (3, 3) intrinsics of the output image.
        image_size: ``(H, W)``.
        colors: (3,) colour, per-vertex (V, 3), per-face (F, 3), or a list per mesh; in [0, 1].
        background: (H, W, 3) image (uint8 or float in [0, 1]) or None for black.
        light: lighting (default camera-side light).
        supersample: render at this factor and average down (anti-aliasing).
        smooth: smooth (vertex-normal) or flat shading.
        backend: rasteriser backend (see :func:`handzoo.render.backends.get_backend`).
        cull_backfaces: skip faces pointing away from the camera (faster; only for closed meshes
            with outward, counter-clockwise faces).

    Returns:
        :class:`RenderOutput`.
    """
    multi = isinstance(vertices, (list, tuple))
    if multi:
        verts, fcs, f2m = join_meshes(
            list(vertices), list(faces) if isinstance(faces, (list, tuple)) else [faces] * len(vertices)
        )
        n_meshes = len(vertices)
    else:
        verts, fcs = _tensor(vertices, dtype=torch.float32), _tensor(faces, dtype=torch.long)
        if verts.ndim != 2 or verts.shape[-1] != 3:
            raise RenderError(f"vertices must be (V, 3), got {tuple(verts.shape)}")
        f2m = torch.zeros(fcs.shape[0] if fcs.ndim == 2 else 0, dtype=torch.long)
        n_meshes = 1
    dev = verts.device
    fcs, f2m = fcs.to(dev), f2m.to(dev)
    h, w = (int(s) for s in image_size)
    s = int(supersample)
    if s < 1:
        raise RenderError(f"supersample must be >= 1, got {supersample}")
    Kt = _tensor(K, dtype=torch.float32, device=dev)
    if Kt.shape != (3, 3):
        raise RenderError(f"K must be (3, 3), got {tuple(Kt.shape)}")
    col, per_face = _colours(colors, verts.shape[0], fcs.shape[0], f2m, n_meshes)
    col = col.to(dev)
    be = get_backend(backend)
    frags = be.rasterize(
        verts[None], fcs, supersample_intrinsics(Kt, s)[None], (h * s, w * s), cull_backfaces=cull_backfaces
    )
    rgb = shade(frags, verts[None], fcs, col[None], light=light, per_face=per_face, smooth=smooth)[0]
    cov = frags.mask[0].to(torch.float32)
    hit = torch.where(frags.mask[0], f2m[frags.pix_to_face[0].clamp(min=0)], torch.full_like(frags.pix_to_face[0], -1))
    mesh_cov = torch.stack([(hit == i).to(torch.float32) for i in range(n_meshes)])
    depth = frags.zbuf[0]
    if s > 1:
        rgb = F.avg_pool2d(rgb.permute(2, 0, 1)[None], s)[0].permute(1, 2, 0)
        cov = F.avg_pool2d(cov[None, None], s)[0, 0]
        mesh_cov = F.avg_pool2d(mesh_cov[None], s)[0]
        finite = torch.where(torch.isfinite(depth), depth, torch.full_like(depth, 1e30))
        depth = -F.max_pool2d(-finite[None, None], s)[0, 0]
        depth = torch.where(depth >= 1e30, torch.full_like(depth, float("inf")), depth)
    if background is None:
        bg = torch.zeros((h, w, 3), dtype=torch.float32, device=dev)
    else:
        bg = _tensor(background, device=dev)
        if tuple(bg.shape) != (h, w, 3):
            raise RenderError(f"background must be ({h}, {w}, 3), got {tuple(bg.shape)}")
        bg = bg.to(torch.float32) / 255.0 if not bg.is_floating_point() else bg.to(torch.float32)
    # rgb is premultiplied by coverage (background pixels are 0), so composite with (1 - cov)
    image = rgb + bg * (1.0 - cov)[..., None]
    mask = cov >= 0.5
    mesh_id = torch.where(mask, mesh_cov.argmax(0), torch.full(mask.shape, -1, dtype=torch.long, device=dev))
    return RenderOutput(image=image, mask=mask, coverage=cov, depth=depth, mesh_id=mesh_id, mesh_coverage=mesh_cov)


@single_threaded
def silhouette(
    vertices: Array,
    faces: Array,
    K: Array,
    image_size: tuple[int, int],
    sigma: float = 1.0,
    backend: str | RasterBackend | None = None,
) -> torch.Tensor:
    """Differentiable soft silhouette (B, H, W) of (B, V, 3) or (V, 3) meshes (for mask losses)."""
    v = vertices if isinstance(vertices, torch.Tensor) else torch.as_tensor(np.asarray(vertices), dtype=torch.float32)
    f = faces if isinstance(faces, torch.Tensor) else torch.as_tensor(np.asarray(faces), dtype=torch.long)
    k = K if isinstance(K, torch.Tensor) else torch.as_tensor(np.asarray(K), dtype=v.dtype)
    return get_backend(backend).soft_silhouette(v, f, k.to(v.dtype), image_size, sigma=sigma)
