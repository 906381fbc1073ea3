"""Rasteriser backends behind one interface: pytorch3d when importable, else handzoo's own torch code.

``HANDZOO_RENDER_BACKEND`` (``auto`` | ``torch`` | ``pytorch3d``) or the ``backend`` argument of
:func:`get_backend` picks one; ``auto`` prefers pytorch3d. Both return
:class:`~handzoo.render.raster.Fragments` in the same conventions (OpenCV camera frame, pinhole
``K``, pixel centres at integer coordinates), so shading and overlays do not care which ran.
"""

from __future__ import annotations

import importlib.util
import math
import os
from functools import lru_cache

import torch

from handzoo.errors import RenderError
from handzoo.render import raster
from handzoo.render.raster import Fragments

__all__ = ["RasterBackend", "TorchBackend", "Pytorch3DBackend", "available_backends", "get_backend"]


class RasterBackend:
    """Interface of a rasteriser backend."""

    name = "base"

    def rasterize(
        self,
        vertices: torch.Tensor,
        faces: torch.Tensor,
        K: torch.Tensor,
        image_size: tuple[int, int],
        znear: float = 1e-3,
        cull_backfaces: bool = False,
    ) -> Fragments:
        """Hard z-buffer rasterisation; see :func:`handzoo.render.raster.rasterize`."""
        raise NotImplementedError

    def soft_silhouette(
        self,
        vertices: torch.Tensor,
        faces: torch.Tensor,
        K: torch.Tensor,
        image_size: tuple[int, int],
        sigma: float = 1.0,
    ) -> torch.Tensor:
        """Differentiable silhouette; see :func:`handzoo.render.raster.soft_silhouette`."""
        raise NotImplementedError


class TorchBackend(RasterBackend):
    """handzoo's pure-torch rasteriser (CPU and CUDA, no compiled code)."""

    name = "torch"

    def rasterize(self, vertices, faces, K, image_size, znear=1e-3, cull_backfaces=False) -> Fragments:
        return raster.rasterize(vertices, faces, K, image_size, znear=znear, cull_backfaces=cull_backfaces)

    def soft_silhouette(self, vertices, faces, K, image_size, sigma=1.0) -> torch.Tensor:
        return raster.soft_silhouette(vertices, faces, K, image_size, sigma=sigma)


class Pytorch3DBackend(RasterBackend):  # pragma: no cover - pytorch3d is not installed in CI
    """pytorch3d's ``MeshRasterizer`` with cameras built from OpenCV intrinsics."""

    name = "pytorch3d"

    def _setup(self, vertices, faces, K, image_size):
        from pytorch3d.structures import Meshes
        from pytorch3d.utils import cameras_from_opencv_projection

        vertices, faces, K, (h, w) = raster.check_mesh(vertices, faces, K, image_size)
        bsz = vertices.shape[0]
        eye = torch.eye(3, dtype=vertices.dtype, device=vertices.device).expand(bsz, 3, 3)
        tvec = torch.zeros(bsz, 3, dtype=vertices.dtype, device=vertices.device)
        size = torch.tensor([[h, w]], device=vertices.device).expand(bsz, 2)
        cams = cameras_from_opencv_projection(eye, tvec, K, size)
        meshes = Meshes(verts=list(vertices), faces=[faces] * bsz)
        return meshes, cams, (h, w), faces.shape[0]

    def rasterize(self, vertices, faces, K, image_size, znear=1e-3, cull_backfaces=False) -> Fragments:
        from pytorch3d.renderer import MeshRasterizer, RasterizationSettings

        meshes, cams, (h, w), nf = self._setup(vertices, faces, K, image_size)
        settings = RasterizationSettings(
            image_size=(h, w), blur_radius=0.0, faces_per_pixel=1, cull_backfaces=cull_backfaces
        )
        # pytorch3d drops faces behind the camera itself; znear is the torch backend's finer cut
        fr = MeshRasterizer(cameras=cams, raster_settings=settings)(meshes)
        p2f = fr.pix_to_face[..., 0]
        offs = (torch.arange(p2f.shape[0], device=p2f.device) * nf).view(-1, 1, 1)
        p2f = torch.where(p2f >= 0, p2f - offs, p2f)
        zbuf = torch.where(p2f >= 0, fr.zbuf[..., 0], torch.full_like(fr.zbuf[..., 0], math.inf))
        bary = fr.bary_coords[..., 0, :] * (p2f >= 0)[..., None]
        return Fragments(p2f, zbuf, bary)

    def soft_silhouette(self, vertices, faces, K, image_size, sigma=1.0) -> torch.Tensor:
        from pytorch3d.renderer import BlendParams, MeshRasterizer, RasterizationSettings, SoftSilhouetteShader

        meshes, cams, (h, w), _ = self._setup(vertices, faces, K, image_size)
        # handzoo's sigma is in squared pixels; pytorch3d's in squared NDC units
        sigma_ndc = sigma * (2.0 / min(h, w)) ** 2
        blend = BlendParams(sigma=sigma_ndc, gamma=1e-4)
        settings = RasterizationSettings(
            image_size=(h, w), blur_radius=math.log(1.0 / 1e-4 - 1.0) * sigma_ndc, faces_per_pixel=50
        )
        fr = MeshRasterizer(cameras=cams, raster_settings=settings)(meshes)
        return SoftSilhouetteShader(blend_params=blend)(fr, meshes)[..., 3]


@lru_cache(maxsize=1)
def _pytorch3d_ok() -> bool:
    if importlib.util.find_spec("pytorch3d") is None:
        return False
    try:
        import pytorch3d.renderer  # noqa: F401
    except Exception:  # a broken build must not break rendering
        return False
    return True


def available_backends() -> list[str]:
    """Names of the backends usable here, preferred first."""
    return (["pytorch3d"] if _pytorch3d_ok() else []) + ["torch"]


def get_backend(backend: str | RasterBackend | None = None) -> RasterBackend:
    """Return a backend by name (``auto``, ``torch``, ``pytorch3d``) or pass one through.

    Raises:
        RenderError: unknown name, or pytorch3d requested but not importable.
    """
    if isinstance(backend, RasterBackend):
        return backend
    name = (backend or os.environ.get("HANDZOO_RENDER_BACKEND") or "auto").lower()
    if name == "auto":
        name = available_backends()[0]
    if name == "torch":
        return TorchBackend()
    if name == "pytorch3d":
        if not _pytorch3d_ok():
            raise RenderError(
                "the pytorch3d render backend was requested but pytorch3d is not importable",
                hint="install pytorch3d, or use backend='torch' (HANDZOO_RENDER_BACKEND=torch)",
            )
        return Pytorch3DBackend()
    raise RenderError(f"unknown render backend {name!r}", hint="one of: auto, torch, pytorch3d")
