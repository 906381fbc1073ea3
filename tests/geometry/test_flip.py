"""Left/right flipping: involutions and consistency between image, 2D, 3D and pose flips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from handzoo.errors import InputError
from handzoo.geometry import flip
from handzoo.geometry.cameras import project_points
from handzoo.geometry.rotations import axis_angle_to_matrix

finite = st.floats(min_value=-5.0, max_value=5.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (7, 3), elements=finite), st.floats(-2, 2))
def test_flip_points_is_involution_and_negates_x(p, c):
    out = flip.flip_points(p, center_x=c)
    assert np.allclose(out[:, 1:], p[:, 1:])
    assert np.allclose(out[:, 0], 2 * c - p[:, 0])
    assert np.allclose(flip.flip_points(out, center_x=c), p)
    t = torch.from_numpy(p)
    assert torch.allclose(flip.flip_points(t), torch.from_numpy(flip.flip_points(p)))
    assert np.shares_memory(out, p) is False


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (16, 3), elements=finite))
def test_flip_axis_angle_equals_mirrored_rotation(aa):
    aa_t = torch.from_numpy(aa)
    flipped = flip.flip_axis_angle(aa_t)
    assert torch.allclose(flipped[:, 0], aa_t[:, 0]) and torch.allclose(flipped[:, 1:], -aa_t[:, 1:])
    m = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))
    assert torch.allclose(axis_angle_to_matrix(flipped), m @ axis_angle_to_matrix(aa_t) @ m, atol=1e-10)
    assert torch.allclose(
        flip.flip_rotation_matrix(axis_angle_to_matrix(aa_t)), axis_angle_to_matrix(flipped), atol=1e-10
    )
    # flat (48,) pose: same per triplet
    flat = flip.flip_axis_angle(aa_t.reshape(-1))
    assert torch.allclose(flat.reshape(16, 3), flipped)
    assert torch.allclose(flip.flip_axis_angle(flipped), aa_t)


def test_mirrored_rotation_acts_on_mirrored_points():
    g = torch.Generator().manual_seed(0)
    aa = torch.randn(10, 3, generator=g, dtype=torch.float64)
    pts = torch.randn(10, 5, 3, generator=g, dtype=torch.float64)
    rotated = pts @ axis_angle_to_matrix(aa).transpose(-1, -2)
    mirrored = flip.flip_points(pts) @ axis_angle_to_matrix(flip.flip_axis_angle(aa)).transpose(-1, -2)
    assert torch.allclose(mirrored, flip.flip_points(rotated), atol=1e-12)


def test_image_flip_matches_keypoint_convention():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, size=(6, 9, 3), dtype=np.uint8)
    out = flip.flip_image(img)
    assert out.shape == img.shape and out.flags["C_CONTIGUOUS"]
    for x in range(9):
        (xf,) = flip.flip_keypoints_2d(np.array([[x, 2.0]]), width=9)[:, 0]
        assert np.array_equal(out[2, int(xf)], img[2, x])
    t = torch.from_numpy(img).permute(2, 0, 1)
    assert torch.equal(flip.flip_image(t).permute(1, 2, 0), torch.from_numpy(out))
    assert np.array_equal(flip.flip_image(flip.flip_image(img)), img)
    gray = img[..., 0]
    assert np.array_equal(flip.flip_image(gray), gray[:, ::-1])


def test_keypoints_keep_extra_columns_and_int_input():
    kp = np.array([[0, 1, 0.5], [9, 3, 0.9]])
    out = flip.flip_keypoints_2d(kp, width=10)
    assert np.allclose(out, [[9, 1, 0.5], [0, 3, 0.9]])
    assert flip.flip_keypoints_2d(np.array([[0, 0]]), 10).dtype.kind == "f"


def test_boxes_stay_ordered():
    boxes = torch.tensor([[1.0, 2.0, 4.0, 8.0]])
    out = flip.flip_boxes(boxes, width=10)
    assert torch.equal(out, torch.tensor([[5.0, 2.0, 8.0, 8.0]]))
    assert torch.equal(flip.flip_boxes(out, 10), boxes)


def test_projection_commutes_with_flip():
    g = torch.Generator().manual_seed(1)
    pts = torch.randn(4, 21, 3, generator=g, dtype=torch.float64) * 0.05 + torch.tensor(
        [0.0, 0.0, 0.6], dtype=torch.float64
    )
    K = torch.tensor([[500.0, 0, 120.3], [0, 480.0, 100.0], [0, 0, 1]], dtype=torch.float64)
    W = 256
    uv = project_points(pts, K)
    uv_f = project_points(flip.flip_points(pts), flip.flip_intrinsics(K, W))
    assert torch.allclose(uv_f, flip.flip_keypoints_2d(uv, W), atol=1e-9)


def test_flip_side():
    assert np.array_equal(flip.flip_side(np.array([0, 1, 0])), [1, 0, 1])


@pytest.mark.parametrize(
    "call",
    [
        lambda: flip.flip_points(np.zeros((3, 2))),
        lambda: flip.flip_axis_angle(torch.zeros(4)),
        lambda: flip.flip_boxes(np.zeros((2, 3)), 10),
        lambda: flip.flip_image([[1, 2]]),
        lambda: flip.flip_keypoints_2d(np.zeros((3, 1)), 5),
        lambda: flip.flip_intrinsics(np.eye(4), 5),
        lambda: flip.flip_rotation_matrix(np.eye(2)),
    ],
)
def test_bad_input_raises_input_error(call):
    with pytest.raises(InputError):
        call()
