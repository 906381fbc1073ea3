"""Camera projection, un-projection, weak perspective and the OpenGL/OpenCV frame change."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from handzoo.errors import InputError
from handzoo.geometry import cameras as cam


def _points(seed: int, b: int = 3, n: int = 21) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, n, 3, generator=g, dtype=torch.float64) * 0.05 + torch.tensor(
        [0.0, 0.0, 0.7], dtype=torch.float64
    )


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(100, 2000), st.floats(0, 300), st.floats(0, 300))
def test_project_unproject_round_trip(seed, f, cx, cy):
    pts = _points(seed)
    K = cam.intrinsics_matrix(torch.tensor(f, dtype=torch.float64), torch.tensor([cx, cy], dtype=torch.float64))
    uv = cam.project_points(pts, K)
    back = cam.unproject_points(uv, pts[..., 2], K)
    assert torch.allclose(back, pts, atol=1e-10)


def test_perspective_projection_matches_K():
    pts = _points(0)
    focal = torch.tensor([[500.0, 510.0], [600.0, 600.0], [700.0, 650.0]], dtype=torch.float64)
    pp = torch.tensor([[128.0, 120.0]] * 3, dtype=torch.float64)
    t = torch.tensor([[0.01, -0.02, 0.1]] * 3, dtype=torch.float64)
    uv = cam.perspective_projection(pts, focal, pp, translation=t)
    K = cam.intrinsics_matrix(focal, pp)
    assert K.shape == (3, 3, 3)
    expected = cam.project_points(pts + t[:, None], K)
    assert torch.allclose(uv, expected)
    x = pts + t[:, None]
    assert torch.allclose(uv[..., 0], focal[:, :1] * x[..., 0] / x[..., 2] + pp[:, :1])
    # scalar focal, single principal point, unbatched points
    uv1 = cam.perspective_projection(pts[0], 500.0, (128.0, 120.0))
    assert uv1.shape == (21, 2)


def test_weak_perspective_orders():
    pts = _points(1)
    s = torch.tensor([2.0, 3.0, 4.0], dtype=torch.float64)
    t = torch.tensor([[0.1, 0.2]] * 3, dtype=torch.float64)
    a = cam.weak_perspective_projection(pts, s, t)
    b = cam.weak_perspective_projection(pts, s, t, order="scale_then_translate")
    assert torch.allclose(a, s[:, None, None] * (pts[..., :2] + t[:, None]))
    assert torch.allclose(b, s[:, None, None] * pts[..., :2] + t[:, None])
    with pytest.raises(InputError):
        cam.weak_perspective_projection(pts, s, t, order="bogus")


def test_weak_perspective_to_translation_reprojects():
    # a point at the origin of the hand frame projects to the same crop pixel under both cameras
    c = torch.tensor([[0.8, 0.05, -0.1]], dtype=torch.float64)
    f, size = 5000.0, 224.0
    t = cam.weak_perspective_to_translation(c, f, size)
    pt = torch.tensor([[[0.01, 0.02, 0.0]]], dtype=torch.float64)
    uv = cam.perspective_projection(pt, f, (size / 2, size / 2), translation=t)
    weak = cam.weak_perspective_projection(pt, c[:, 0], c[:, 1:]) * size / 2 + size / 2
    assert torch.allclose(uv, weak, atol=1e-6)


def test_bad_shapes():
    with pytest.raises(InputError):
        cam.project_points(torch.zeros(5, 2), torch.eye(3))
    with pytest.raises(InputError):
        cam.project_points(torch.zeros(5, 3), torch.eye(4))
    with pytest.raises(InputError):
        cam.intrinsics_matrix(500.0, torch.zeros(3))
