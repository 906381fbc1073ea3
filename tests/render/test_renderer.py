"""render_mesh (shading, supersampling, several meshes) and the overlay / PNG helpers."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from handzoo.errors import RenderError
from handzoo.render import (
    HAND_BONES,
    Light,
    draw_boxes,
    draw_keypoints,
    image_grid,
    overlay_mesh,
    rasterize,
    render_mesh,
    save_png,
    silhouette,
    supersample_intrinsics,
)

sys.path.insert(0, str(Path(__file__).parent))
from test_raster import K, uv_sphere  # noqa: E402


def test_render_colour_light_and_background():
    verts, faces = uv_sphere()
    bg = np.full((48, 64, 3), 200, np.uint8)
    out = render_mesh(
        verts, faces, K, (48, 64), colors=(1.0, 0.0, 0.0), background=bg, light=Light(ambient=1.0, diffuse=0.0)
    )
    img = out.image_uint8()
    m = out.mask.numpy()
    assert m.sum() > 300
    np.testing.assert_array_equal(img[~m & (out.coverage.numpy() == 0)], 200)
    assert np.all(img[m & (out.coverage.numpy() == 1)] == [255, 0, 0])
    assert np.isfinite(out.depth.numpy()[m]).all() and np.isinf(out.depth.numpy()[~m]).all()
    # a side light makes the lit half brighter than the other
    lit = render_mesh(verts, faces, K, (48, 64), colors=(1, 1, 1), light=Light(direction=(1, 0, 0), ambient=0.1)).image
    assert lit[24, 40:50].mean() > lit[24, 14:24].mean() + 0.2


def test_supersampled_mask_agrees_with_plain_raster():
    verts, faces = uv_sphere()
    plain = rasterize(verts, faces, K, (48, 64)).mask[0].numpy()
    out = render_mesh(verts, faces, K, (48, 64), supersample=3)
    diff = out.mask.numpy() != plain
    assert diff.sum() <= 0.1 * plain.sum()
    cov = out.coverage.numpy()
    assert ((cov > 0) & (cov < 1)).sum() > 20  # anti-aliased edge
    # the supersampled intrinsics keep pixel centres: centre of pixel i -> centre of block i
    K3 = supersample_intrinsics(K, 3)
    assert torch.allclose(K3[0, 2], 3 * K[0, 2] + 1)


def test_two_meshes_ids_and_per_mesh_colours():
    a, faces = uv_sphere(radius=0.05, center=(-0.06, 0.0, 0.5))
    b, _ = uv_sphere(radius=0.05, center=(0.06, 0.0, 0.5))
    out = render_mesh(
        [a, b], [faces, faces], K, (48, 64), colors=[(1, 0, 0), (0, 0, 1)], light=Light(ambient=1, diffuse=0)
    )
    ids = out.mesh_id.numpy()
    assert set(np.unique(ids)) == {-1, 0, 1}
    img = out.image_uint8()
    assert img[24, int(31.5 - 100 * 0.06 / 0.5)][0] == 255
    assert img[24, int(31.5 + 100 * 0.06 / 0.5)][2] == 255
    # per-vertex colours
    vc = torch.zeros_like(a)
    vc[:, 1] = 1
    out = render_mesh(a, faces, K, (48, 64), colors=vc, light=Light(ambient=1, diffuse=0))
    assert out.image_uint8()[24, int(31.5 - 12)][1] == 255


def test_render_errors():
    verts, faces = uv_sphere()
    with pytest.raises(RenderError, match="colors"):
        render_mesh(verts, faces, K, (48, 64), colors=np.ones((5, 3)))
    with pytest.raises(RenderError, match="background"):
        render_mesh(verts, faces, K, (48, 64), background=np.zeros((4, 4, 3)))
    with pytest.raises(RenderError, match="supersample"):
        render_mesh(verts, faces, K, (48, 64), supersample=0)
    with pytest.raises(RenderError, match="vertex sets"):
        render_mesh([verts], [faces, faces], K, (48, 64))


def test_silhouette_wrapper_accepts_numpy():
    verts, faces = uv_sphere()
    s = silhouette(verts.numpy(), faces.numpy(), K.numpy(), (48, 64))
    assert s.shape == (1, 48, 64) and s.max() > 0.9


def test_keypoints_boxes_grid_and_png(tmp_path):
    img = np.zeros((64, 64, 3), np.uint8)
    kp = np.stack([np.linspace(10, 50, 21), np.linspace(12, 52, 21)], -1)
    drawn = draw_keypoints(img, kp)
    assert drawn.shape == img.shape and drawn.any()
    assert drawn[int(kp[0, 1]), int(kp[0, 0])].any()
    assert not draw_keypoints(img, kp, valid=np.zeros(21, bool)).any()
    two = draw_keypoints(img, np.stack([kp, kp[:, ::-1]]), color=(255, 0, 0))
    assert two[..., 1].max() <= 60  # one colour (plus the dark outline and anti-aliasing)
    assert len(HAND_BONES) == 20
    boxed = draw_boxes(img, [[5, 5, 20, 20]])
    assert boxed[5, 10].any()
    grid = image_grid([img, drawn, boxed], ncols=2, pad=2)
    assert grid.shape == (2 * 64 + 3 * 2, 2 * 64 + 3 * 2, 3)
    p = save_png(tmp_path / "sub" / "x.png", drawn)
    back = cv2.imread(str(p))[:, :, ::-1]
    np.testing.assert_array_equal(back, drawn)
    save_png(tmp_path / "mask.png", (drawn[..., 0] > 0).astype(np.uint8) * 255)
    with pytest.raises(RenderError, match="keypoints"):
        draw_keypoints(img, np.zeros((5, 2)))
    with pytest.raises(RenderError, match="one size"):
        image_grid([img, img[:10]])
    with pytest.raises(RenderError, match="shape"):
        save_png(tmp_path / "bad.png", np.zeros(5))


def test_overlay_mesh_blends():
    verts, faces = uv_sphere()
    img = np.full((48, 64, 3), 255, np.uint8)
    out = overlay_mesh(img, verts, faces, K, color=(0.0, 0.0, 1.0), alpha=1.0)
    assert out[24, 32, 0] < 60 and out[24, 32, 2] > 100
    assert (out[0, 0] == 255).all()
    half = overlay_mesh(img, [verts], faces, K, color=[(0.0, 0.0, 1.0)], alpha=0.5)
    assert 100 < half[24, 32, 0] < 200
