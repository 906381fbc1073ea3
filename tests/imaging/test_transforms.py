"""Shared transforms: image loading, the methods' box rules, affine crops and their inverses."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from handzoo.errors import InputError
from handzoo.imaging import transforms as T

# ------------------------------------------------------------------------------- loading


def _rgb(h: int = 6, w: int = 5) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_load_numpy_pil_tensor_agree():
    img = _rgb()
    pil = Image.fromarray(img)
    chw = torch.from_numpy(img).permute(2, 0, 1).contiguous()
    hwc_float = torch.from_numpy(img.astype(np.float32) / 255.0)
    for x in (img, pil, chw, hwc_float, chw.float() / 255.0, img.astype(np.float64) / 255.0):
        out = T.load_image(x)
        assert out.dtype == np.uint8 and out.shape == (6, 5, 3)
        np.testing.assert_array_equal(out, img)


def test_load_grey_rgba_and_batches():
    img = _rgb()
    np.testing.assert_array_equal(T.load_image(img[:, :, 0]), np.repeat(img[:, :, :1], 3, -1))
    rgba = np.concatenate([img, np.full((6, 5, 1), 7, np.uint8)], -1)
    np.testing.assert_array_equal(T.load_image(rgba), img)
    batch = np.stack([img, img[::-1]])
    out = T.load_images(batch)
    assert len(out) == 2 and np.array_equal(out[1], img[::-1])
    tb = torch.from_numpy(batch).permute(0, 3, 1, 2)
    assert np.array_equal(T.load_images(tb)[1], img[::-1])
    assert len(T.load_images([img, Image.fromarray(img)])) == 2
    assert len(T.load_images(img)) == 1


def test_load_paths_png_and_jpg(tmp_path):
    img = _rgb(20, 30)
    p = tmp_path / "a.png"
    cv2.imwrite(str(p), img[:, :, ::-1])
    np.testing.assert_array_equal(T.load_image(p), img)
    np.testing.assert_array_equal(T.load_image(str(p)), img)
    q = tmp_path / "b.jpg"
    cv2.imwrite(str(q), img[:, :, ::-1])
    assert T.load_image(q).shape == (20, 30, 3)


@pytest.mark.parametrize(
    "bad, words",
    [
        (None, "None"),
        ([], "empty"),
        (np.zeros((0, 4, 3), np.uint8), "empty"),
        (np.zeros((4, 4, 2), np.uint8), "shape"),
        (np.zeros((2, 2, 2, 2, 3), np.uint8), "shape"),
        (np.full((4, 4, 3), 2.0, np.float32), "[0, 1]"),
        (np.full((4, 4, 3), np.nan, np.float32), "NaN"),
        (np.full((4, 4, 3), 300, np.int32), "[0, 255]"),
        (np.zeros((4, 4, 3), np.complex64), "dtype"),
        (12, "unsupported type"),
        (torch.zeros(0, 3, 4, 4), "empty"),
    ],
)
def test_load_bad_inputs(bad, words):
    with pytest.raises(InputError, match=None) as info:
        T.load_images(bad)
    assert words in str(info.value)


def test_load_bad_files(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    for name, words in [("missing.png", "not found"), ("empty.jpg", "empty"), ("corrupt.jpg", "cannot decode")]:
        with pytest.raises(InputError) as info:
            T.load_image(tmp_path / name)
        assert words in str(info.value) and name in str(info.value)
    with pytest.raises(InputError, match="directory"):
        T.load_image(tmp_path)
    with pytest.raises(InputError, match="image 1"):
        T.load_images([_rgb(), np.zeros((3,), np.uint8)])


# ------------------------------------------------------------------------------- boxes


def test_keypoint_box_and_conversions():
    pts = np.array([[10.0, 20.0], [30.0, 60.0], [1000.0, 1000.0]])
    box = T.keypoint_box(pts, valid=[1, 1, 0], expansion=1.5)
    np.testing.assert_allclose(box, [5.0, 10.0, 30.0, 60.0])
    np.testing.assert_allclose(T.xywh_to_xyxy(box), [5, 10, 35, 70])
    np.testing.assert_allclose(T.xyxy_to_xywh(T.xywh_to_xyxy(box)), box)
    with pytest.raises(InputError, match="no valid points"):
        T.keypoint_box(pts, valid=[0, 0, 0])


def test_process_box_matches_authors_rule():
    # sanitize: (x1, y1) clamped to 0; x2 = min(W-1, x1 + w - 1) -> w' = 39, h' = 19
    box = T.process_box([-5.0, 10.0, 40.0, 20.0], 100, 100, aspect_ratio=1.0, expansion=1.25)
    w = 39.0 * 1.25
    np.testing.assert_allclose(box, [19.5 - w / 2, 19.5 - w / 2, w, w])
    # aspect 0.75 (w/h): a square grows in height
    box = T.process_box([0.0, 0.0, 31.0, 31.0], 100, 100, aspect_ratio=0.75, expansion=1.0)
    np.testing.assert_allclose(box[2:], [30.0, 40.0])
    # degenerate boxes: strict rejects zero width after clipping, non-strict accepts it
    assert T.process_box([99.0, 10, 5, 5], 100, 100, strict=True) is None
    assert T.process_box([99.0, 10, 5, 5], 100, 100, strict=False) is not None
    assert T.process_box([10, 10, 0, 5], 100, 100) is None


# ------------------------------------------------------------------------------- affine crops


def _authors_trans(c_x, c_y, w, h, dst_w, dst_h, scale, rot):
    """The 3-point construction of the authors' gen_trans_from_patch_cv (re-derived here)."""
    sw, sh = w * scale, h * scale
    r = np.pi * rot / 180
    sn, cs = np.sin(r), np.cos(r)
    down = np.array([-sn * sh * 0.5, cs * sh * 0.5])
    right = np.array([cs * sw * 0.5, sn * sw * 0.5])
    c = np.array([c_x, c_y])
    src = np.float32([c, c + down, c + right])
    d = np.array([dst_w * 0.5, dst_h * 0.5])
    dst = np.float32([d, d + [0, dst_h * 0.5], d + [dst_w * 0.5, 0]])
    return cv2.getAffineTransform(src, dst)


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("rot, scale", [(0.0, 1.0), (25.0, 1.2), (-40.0, 0.8)])
def test_warp_crop_equals_authors_patch(flip, rot, scale):
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    box = np.array([30.0, 20.0, 70.0, 60.0])
    res = T.warp_crop(img, box, (64, 48), scale=scale, rot=rot, flip=flip)
    src = img[:, ::-1] if flip else img
    cx = box[0] + box[2] / 2
    cx = img.shape[1] - cx - 1 if flip else cx
    m = _authors_trans(cx, box[1] + box[3] / 2, box[2], box[3], 64, 48, scale, rot)
    ref = cv2.warpAffine(np.ascontiguousarray(src), m, (64, 48), flags=cv2.INTER_LINEAR)
    assert res.image.shape == (48, 64, 3)
    diff = np.abs(res.image.astype(int) - ref.astype(int))
    assert diff.max() <= 1
    # keypoints: the authors flip then apply m; ours applies the composed map to input pixels
    pts = rng.uniform(0, 120, (10, 2))
    p_auth = pts.copy()
    if flip:
        p_auth[:, 0] = img.shape[1] - 1 - p_auth[:, 0]
    np.testing.assert_allclose(res.to_patch(pts), T.apply_affine(m, p_auth), atol=1e-3)
    np.testing.assert_allclose(res.to_input(res.to_patch(pts)), pts, atol=1e-9)


def test_warp_crop_samples_at_the_inverse_map():
    # on a linear ramp, bilinear sampling is exact: patch value == input x of the inverse map
    h, w = 80, 100
    ramp = np.tile(np.arange(w, dtype=np.float32), (h, 1))
    res = T.warp_crop(ramp, [20, 10, 40, 50], (32, 32), rot=10.0, flip=True)
    uv = np.stack(np.meshgrid(np.arange(8, 24), np.arange(8, 24)), -1).reshape(-1, 2).astype(float)
    back = res.to_input(uv)
    np.testing.assert_allclose(res.image[uv[:, 1].astype(int), uv[:, 0].astype(int)], back[:, 0], atol=0.02)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(-50, 50),
    st.floats(0.2, 5),
    st.floats(-180, 180),
    st.booleans(),
    st.lists(st.floats(-1000, 1000), min_size=2, max_size=2),
)
def test_affine_roundtrip(shift, scale, rot, flip, point):
    m = T.crop_transform((shift, 2 * shift), (30 * scale, 40), (64, 64), scale=scale, rot=rot)
    if flip:
        m = T.compose_affine(T.flip_transform(100), m)
    p = np.array(point)
    back = T.apply_affine(T.invert_affine(m), T.apply_affine(m, p))
    np.testing.assert_allclose(back, p, atol=1e-6 * (1 + np.abs(p).max()))


def test_compose_order_and_errors():
    a = T.scale_transform(2.0)
    b = T.flip_transform(10)
    p = np.array([1.0, 1.0])
    np.testing.assert_allclose(T.apply_affine(T.compose_affine(a, b), p), T.apply_affine(b, T.apply_affine(a, p)))
    with pytest.raises(InputError, match="singular"):
        T.invert_affine(np.zeros((2, 3)))
    with pytest.raises(InputError, match="2x3"):
        T.apply_affine(np.zeros((4, 4)), p)
    with pytest.raises(InputError, match="positive size"):
        T.warp_crop(np.zeros((4, 4, 3), np.uint8), [0, 0, 0, 2], 8)
    with pytest.raises(InputError, match="numpy array"):
        T.warp_crop(None, [0, 0, 2, 2], 8)


# ------------------------------------------------------------------------------- colour / values


def test_colour_and_normalisation():
    img = _rgb()
    bgr = T.convert_colour(img, "RGB", "BGR")
    np.testing.assert_array_equal(bgr[..., 0], img[..., 2])
    assert T.convert_colour(img, "rgb", "rgb") is img
    t = torch.from_numpy(img).permute(2, 0, 1)
    assert torch.equal(T.convert_colour(t, "RGB", "BGR")[0], t[2])
    with pytest.raises(InputError, match="colour order"):
        T.convert_colour(img, "RGB", "HSV")
    n = T.normalize_image(img, mean=T.IMAGENET_MEAN, std=T.IMAGENET_STD)
    np.testing.assert_allclose(n[0, 0, 1], (img[0, 0, 1] / 255 - 0.456) / 0.224, rtol=1e-5)
