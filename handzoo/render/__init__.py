"""Rendering: a pure-torch rasteriser (pytorch3d when importable), shading, soft silhouettes, overlays.

::

    from handzoo.render import render_mesh, overlay_mesh, draw_keypoints, save_png
    out = render_mesh(vertices, faces, K, (224, 224), colors=(0.8, 0.6, 0.5), supersample=2)
    save_png("hand.png", draw_keypoints(out.image_uint8(), joints2d))
"""

from __future__ import annotations

from handzoo.render.backends import RasterBackend, available_backends, get_backend
from handzoo.render.overlay import (
    FINGER_COLORS,
    HAND_BONES,
    draw_boxes,
    draw_keypoints,
    image_grid,
    overlay_mesh,
    save_png,
)
from handzoo.render.raster import Fragments, project_vertices, rasterize, soft_silhouette
from handzoo.render.renderer import RenderOutput, join_meshes, render_mesh, silhouette, supersample_intrinsics
from handzoo.render.shading import Light, interpolate, shade, vertex_normals

__all__ = [
    "FINGER_COLORS",
    "HAND_BONES",
    "Fragments",
    "Light",
    "RasterBackend",
    "RenderOutput",
    "available_backends",
    "draw_boxes",
    "draw_keypoints",
    "get_backend",
    "image_grid",
    "interpolate",
    "join_meshes",
    "overlay_mesh",
    "project_vertices",
    "rasterize",
    "render_mesh",
    "save_png",
    "shade",
    "silhouette",
    "soft_silhouette",
    "supersample_intrinsics",
    "vertex_normals",
]
