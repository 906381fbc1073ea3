"""The pure-torch rasteriser: coverage, z-buffer, perspective-correct barycentrics, soft silhouette."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from handzoo.errors import RenderError
from handzoo.render import get_backend, rasterize, soft_silhouette
from handzoo.render.raster import project_vertices
from handzoo.render.shading import interpolate

K = torch.tensor([[100.0, 0.0, 31.5], [0.0, 100.0, 23.5], [0.0, 0.0, 1.0]])


def uv_sphere(radius: float = 0.1, center=(0.0, 0.0, 0.5), n: int = 24, m: int = 48):
    th = np.linspace(0, np.pi, n)
    ph = np.linspace(0, 2 * np.pi, m, endpoint=False)
    t, p = np.meshgrid(th, ph, indexing="ij")
    v = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1).reshape(-1, 3)
    faces = []
    for i in range(n - 1):
        for j in range(m):
            a, b, c, d = i * m + j, i * m + (j + 1) % m, (i + 1) * m + j, (i + 1) * m + (j + 1) % m
            faces += [[a, c, b], [b, c, d]]
    verts = torch.tensor(v * radius + np.asarray(center), dtype=torch.float32)
    return verts, torch.tensor(faces)


def _inside_reference(tri2d: np.ndarray, h: int, w: int) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    a, b, c = tri2d

    def edge(p, q):
        return (q[0] - p[0]) * (ys - p[1]) - (q[1] - p[1]) * (xs - p[0])

    e0, e1, e2 = edge(b, c), edge(c, a), edge(a, b)
    return ((e0 >= 0) & (e1 >= 0) & (e2 >= 0)) | ((e0 <= 0) & (e1 <= 0) & (e2 <= 0))


def test_triangle_coverage_matches_point_in_triangle():
    verts = torch.tensor([[-0.1, -0.08, 0.5], [0.12, -0.02, 0.6], [0.0, 0.1, 0.55]])
    faces = torch.tensor([[0, 1, 2]])
    fr = rasterize(verts, faces, K, (48, 64))
    tri2d = project_vertices(verts[None], K[None])[0, :, :2].double().numpy()
    ref = _inside_reference(tri2d, 48, 64)
    got = fr.mask[0].numpy()
    # identical except possibly on pixels lying exactly on an edge
    assert (got != ref).sum() <= 2
    assert got.sum() > 100
    assert torch.isinf(fr.zbuf[0][~fr.mask[0]]).all()


def test_zbuffer_keeps_the_nearest_face_in_any_order():
    def quad(z, x0, x1):
        return [[x0, -0.1, z], [x1, -0.1, z], [x1, 0.1, z], [x0, 0.1, z]]

    verts = torch.tensor(quad(0.6, -0.1, 0.05) + quad(0.5, -0.05, 0.1), dtype=torch.float32)
    faces = torch.tensor([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    for order in (faces, faces.flip(0)):
        fr = rasterize(verts, order, K, (48, 64))
        z = fr.zbuf[0]
        # overlap region (x in [-0.05, 0.05] at both depths) shows the nearer quad (z = 0.5)
        assert torch.allclose(z[24, 32], torch.tensor(0.5), atol=1e-5)
        u_far = int(31.5 + 100 * (-0.08) / 0.6)
        assert torch.allclose(z[24, u_far], torch.tensor(0.6), atol=1e-5)


def test_interpolated_positions_lie_on_the_pixel_rays():
    verts, faces = uv_sphere()
    fr = rasterize(verts, faces, K, (48, 64))
    pos = interpolate(fr, faces, verts[None])[0]
    m = fr.mask[0]
    uv = project_vertices(pos[m][None], K[None])[0, :, :2]
    ys, xs = torch.nonzero(m, as_tuple=True)
    assert torch.allclose(uv[:, 0], xs.float(), atol=1e-3)
    assert torch.allclose(uv[:, 1], ys.float(), atol=1e-3)
    assert torch.allclose(pos[m][:, 2], fr.zbuf[0][m], atol=1e-5)
    # visible points are on the sphere surface's near side
    r = (pos[m] - torch.tensor([0.0, 0.0, 0.5])).norm(dim=-1)
    assert (r > 0.097).all() and (r < 0.1001).all()


def test_sphere_silhouette_area_matches_analytic():
    verts, faces = uv_sphere(n=48, m=96)
    fr = rasterize(verts, faces, K, (48, 64))
    radius_px = 100 * 0.1 / math.sqrt(0.5**2 - 0.1**2)
    assert abs(fr.mask.sum().item() - math.pi * radius_px**2) < 0.04 * math.pi * radius_px**2


def test_chunking_and_batching_do_not_change_the_result():
    verts, faces = uv_sphere()
    a = rasterize(verts, faces, K, (48, 64))
    b = rasterize(verts, faces, K, (48, 64), max_pairs=97)
    assert torch.equal(a.pix_to_face, b.pix_to_face)
    assert torch.allclose(a.bary, b.bary)
    moved = verts + torch.tensor([0.05, 0.0, 0.1])
    batch = rasterize(torch.stack([verts, moved]), faces, K, (48, 64))
    assert torch.equal(batch.pix_to_face[0], a.pix_to_face[0])
    assert torch.equal(batch.pix_to_face[1], rasterize(moved, faces, K, (48, 64)).pix_to_face[0])


def test_backface_culling_and_behind_camera():
    verts = torch.tensor([[-0.1, -0.1, 0.5], [0.1, -0.1, 0.5], [0.0, 0.1, 0.5]])
    # normal (right-hand rule) of [0, 1, 2] points +z, away from the camera
    assert rasterize(verts, torch.tensor([[0, 1, 2]]), K, (48, 64), cull_backfaces=True).mask.sum() == 0
    assert rasterize(verts, torch.tensor([[0, 2, 1]]), K, (48, 64), cull_backfaces=True).mask.sum() > 0
    behind = verts * torch.tensor([1.0, 1.0, -1.0])
    assert rasterize(behind, torch.tensor([[0, 1, 2]]), K, (48, 64)).mask.sum() == 0
    off = verts + torch.tensor([10.0, 0.0, 0.0])
    assert rasterize(off, torch.tensor([[0, 1, 2]]), K, (48, 64)).mask.sum() == 0


def test_barycentrics_are_differentiable():
    verts, faces = uv_sphere()
    verts = verts.clone().requires_grad_(True)
    colors = torch.rand(1, verts.shape[0], 3, requires_grad=True)
    fr = rasterize(verts, faces, K, (48, 64))
    img = interpolate(fr, faces, colors)
    img.sum().backward()
    assert colors.grad is not None and colors.grad.abs().sum() > 0
    assert verts.grad is not None and torch.isfinite(verts.grad).all()


def test_soft_silhouette_tracks_the_hard_mask_and_has_gradients():
    verts, faces = uv_sphere()
    hard = rasterize(verts, faces, K, (48, 64)).mask[0].float()
    v = verts.clone().requires_grad_(True)
    soft = soft_silhouette(v, faces, K, (48, 64), sigma=0.3)[0]
    sd = soft.detach()
    assert sd.shape == (48, 64) and float(sd.min()) >= 0 and float(sd.max()) <= 1
    inner = -torch.nn.functional.max_pool2d(-hard[None, None], 5, 1, 2)[0, 0]
    outer = torch.nn.functional.max_pool2d(hard[None, None], 5, 1, 2)[0, 0]
    assert sd[inner > 0].min() > 0.9
    assert sd[outer == 0].max() < 0.05
    assert (sd - hard).abs().mean() < 0.06
    # pulling the silhouette towards pixels on the right moves the mesh right (+x)
    target = torch.zeros(48, 64)
    target[:, 40:] = 1
    ((soft - target) ** 2).sum().backward()
    assert torch.isfinite(v.grad).all()
    assert v.grad[:, 0].sum() < 0  # descent direction is +x
    with pytest.raises(RenderError, match="sigma"):
        soft_silhouette(verts, faces, K, (48, 64), sigma=0)


@settings(max_examples=15, deadline=None)
@given(st.floats(-0.05, 0.05), st.floats(-0.05, 0.05), st.floats(0.35, 0.9))
def test_sphere_centre_projects_into_the_mask(dx, dy, z):
    verts, faces = uv_sphere(radius=0.05, center=(dx, dy, z), n=12, m=24)
    fr = rasterize(verts, faces, K, (48, 64))
    u = 100 * dx / z + 31.5
    v = 100 * dy / z + 23.5
    if 0 <= round(v) < 48 and 0 <= round(u) < 64:
        assert bool(fr.mask[0, int(round(v)), int(round(u))])


@pytest.mark.parametrize(
    "verts, faces, k, size, words",
    [
        (torch.zeros(4, 2), torch.tensor([[0, 1, 2]]), K, (8, 8), "vertices"),
        (torch.zeros(4, 3), torch.tensor([[0, 1, 9]]), K, (8, 8), "face indices"),
        (torch.zeros(4, 3), torch.tensor([[0.0, 1.0, 2.0]]), K, (8, 8), "integer"),
        (torch.full((4, 3), float("nan")), torch.tensor([[0, 1, 2]]), K, (8, 8), "NaN"),
        (torch.zeros(4, 3), torch.tensor([[0, 1, 2]]), torch.eye(4), (8, 8), "K must"),
        (torch.zeros(4, 3), torch.tensor([[0, 1, 2]]), K, (0, 8), "positive"),
    ],
)
def test_bad_inputs_raise_render_error(verts, faces, k, size, words):
    with pytest.raises(RenderError, match=words):
        rasterize(verts, faces, k, size)


def test_backend_selection(monkeypatch):
    assert get_backend("torch").name == "torch"
    monkeypatch.setenv("HANDZOO_RENDER_BACKEND", "torch")
    assert get_backend().name == "torch"
    with pytest.raises(RenderError, match="unknown render backend"):
        get_backend("opengl")
    import handzoo.render.backends as be

    monkeypatch.setattr(be, "_pytorch3d_ok", lambda: False)
    assert be.available_backends() == ["torch"]
    with pytest.raises(RenderError, match="pytorch3d"):
        get_backend("pytorch3d")
