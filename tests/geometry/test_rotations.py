"""Rotation conversions: round trips, orthonormality, 6D conventions, parity with smplx."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from handzoo.errors import InputError
from handzoo.geometry import rotations as rot

finite = st.floats(min_value=-10.0, max_value=10.0, allow_nan=False, allow_infinity=False)
vec3 = arrays(np.float64, (3,), elements=finite)
vec6 = arrays(np.float64, (6,), elements=finite)
quat = arrays(np.float64, (4,), elements=finite).filter(lambda q: np.linalg.norm(q) > 1e-3)


def _aa_in_ball(v: np.ndarray, max_angle: float = math.pi - 1e-3) -> torch.Tensor:
    """Map any vector to an axis-angle with angle < pi (unique representation)."""
    n = np.linalg.norm(v)
    if n > max_angle:
        v = v / n * (n % max_angle)
    return torch.from_numpy(v)


def _is_rotation(m: torch.Tensor, tol: float = 1e-9) -> bool:
    eye = torch.eye(3, dtype=m.dtype)
    return bool(torch.allclose(m @ m.transpose(-1, -2), eye.expand_as(m), atol=tol)) and bool(
        torch.allclose(torch.linalg.det(m), torch.ones((), dtype=m.dtype), atol=tol)
    )


@settings(max_examples=200, deadline=None)
@given(vec3)
def test_axis_angle_matrix_round_trip(v):
    aa = _aa_in_ball(v)
    m = rot.axis_angle_to_matrix(aa)
    assert _is_rotation(m)
    assert torch.allclose(rot.matrix_to_axis_angle(m), aa, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(vec3)
def test_quaternion_paths_agree(v):
    aa = _aa_in_ball(v)
    q = rot.axis_angle_to_quaternion(aa)
    assert torch.allclose(q.norm(), torch.ones((), dtype=q.dtype), atol=1e-12)
    assert torch.allclose(rot.quaternion_to_matrix(q), rot.axis_angle_to_matrix(aa), atol=1e-12)
    assert torch.allclose(rot.quaternion_to_axis_angle(q), aa, atol=1e-9)
    m = rot.axis_angle_to_matrix(aa)
    assert torch.allclose(rot.matrix_to_quaternion(m), rot.standardize_quaternion(q), atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(quat)
def test_matrix_quaternion_round_trip(q):
    q = torch.from_numpy(q)
    m = rot.quaternion_to_matrix(q)
    assert _is_rotation(m)
    assert torch.allclose(rot.quaternion_to_matrix(rot.matrix_to_quaternion(m)), m, atol=1e-9)


def test_quaternion_multiply_composes_rotations():
    g = torch.Generator().manual_seed(0)
    q1 = torch.nn.functional.normalize(torch.randn(50, 4, generator=g, dtype=torch.float64), dim=-1)
    q2 = torch.nn.functional.normalize(torch.randn(50, 4, generator=g, dtype=torch.float64), dim=-1)
    m = rot.quaternion_to_matrix(rot.quaternion_multiply(q1, q2))
    assert torch.allclose(m, rot.quaternion_to_matrix(q1) @ rot.quaternion_to_matrix(q2), atol=1e-12)


@pytest.mark.parametrize("convention", ["rows", "columns"])
@settings(max_examples=100, deadline=None)
@given(v=vec6)
def test_rot6d_gives_rotation_and_round_trips(convention, v):
    x = torch.from_numpy(v)
    a1 = x[0:3] if convention == "rows" else x[0::2]
    a2 = x[3:6] if convention == "rows" else x[1::2]
    # Gram-Schmidt needs two clearly independent vectors
    # ... both clearly non-zero too: the authors' normalisation clamps norms below its epsilon
    if torch.linalg.cross(a1, a2).norm() < 1e-3 * (a1.norm() * a2.norm() + 1e-12) or min(a1.norm(), a2.norm()) < 1e-3:
        return
    m = rot.rot6d_to_matrix(x, convention)
    assert _is_rotation(m, tol=1e-8)
    assert torch.allclose(rot.rot6d_to_matrix(rot.matrix_to_rot6d(m, convention), convention), m, atol=1e-9)
    # first basis vector is the normalised first input vector
    b1 = m[0] if convention == "rows" else m[:, 0]
    assert torch.allclose(b1, a1 / a1.norm(), atol=1e-9)


def test_rot6d_conventions_are_transposes_of_each_other():
    g = torch.Generator().manual_seed(1)
    m = rot.axis_angle_to_matrix(torch.randn(20, 3, generator=g, dtype=torch.float64))
    rows6 = rot.matrix_to_rot6d(m, "rows")
    cols6 = rot.matrix_to_rot6d(m, "columns")
    assert torch.allclose(rows6[:, :3], m[:, 0, :]) and torch.allclose(rows6[:, 3:], m[:, 1, :])
    assert torch.allclose(cols6[:, 0::2], m[:, :, 0]) and torch.allclose(cols6[:, 1::2], m[:, :, 1])
    # the columns convention applied to the transposed matrix's rows reproduces the transpose
    x = torch.randn(20, 6, generator=g, dtype=torch.float64)
    m_rows = rot.rot6d_to_matrix(x, "rows")
    x_cols = torch.stack([x[:, 0], x[:, 3], x[:, 1], x[:, 4], x[:, 2], x[:, 5]], dim=-1)
    assert torch.allclose(rot.rot6d_to_matrix(x_cols, "columns"), m_rows.transpose(-1, -2), atol=1e-12)


def _reference_rows_6d(d6: torch.Tensor) -> torch.Tensor:
    """The published pytorch3d formula, written out independently for the test."""
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = a1 / a1.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    u = a2 - (b1 * a2).sum(-1, keepdim=True) * b1
    b2 = u / u.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return torch.stack([b1, b2, torch.cross(b1, b2, dim=-1)], dim=-2)


def test_rot6d_rows_matches_reference_formula():
    x = torch.randn(100, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert torch.allclose(rot.rot6d_to_matrix(x, "rows"), _reference_rows_6d(x), atol=1e-14)


def test_batch_shapes_and_dtypes():
    aa = torch.randn(2, 5, 16, 3)
    m = rot.axis_angle_to_matrix(aa)
    assert m.shape == (2, 5, 16, 3, 3) and m.dtype == torch.float32
    assert rot.matrix_to_rot6d(m).shape == (2, 5, 16, 6)
    assert rot.matrix_to_quaternion(m).shape == (2, 5, 16, 4)
    assert rot.rot6d_to_axis_angle(rot.axis_angle_to_rot6d(aa, "columns"), "columns").shape == aa.shape


@pytest.mark.parametrize("scale", [0.0, 1e-12, 1e-8, 1e-6, 1e-4, 1e-3, 1.0, 3.0])
def test_axis_angle_to_matrix_matches_smplx_batch_rodrigues(scale):
    smplx_lbs = pytest.importorskip("smplx.lbs")
    g = torch.Generator().manual_seed(3)
    aa = torch.randn(500, 3, generator=g, dtype=torch.float64)
    aa = aa / aa.norm(dim=-1, keepdim=True) * scale * torch.rand(500, 1, generator=g, dtype=torch.float64)
    ours = rot.axis_angle_to_matrix(aa)
    theirs = smplx_lbs.batch_rodrigues(aa)
    assert (ours - theirs).abs().max() < 1e-7
    # and ours is exact (vs the closed form in float64 via scipy-free quaternion path)
    assert torch.allclose(ours, rot.quaternion_to_matrix(rot.axis_angle_to_quaternion(aa)), atol=1e-14)


def test_small_angle_is_exact_and_differentiable():
    aa = torch.tensor([[1e-9, -2e-9, 3e-9], [0.0, 0.0, 0.0]], dtype=torch.float64, requires_grad=True)
    m = rot.axis_angle_to_matrix(aa)
    expected = torch.eye(3, dtype=torch.float64) + rot.skew(aa.detach())
    assert torch.allclose(m, expected, atol=1e-17)
    m.sum().backward()
    assert torch.isfinite(aa.grad).all()
    # gradient at zero equals the derivative of the skew part
    assert torch.allclose(aa.grad[1], torch.zeros(3, dtype=torch.float64), atol=1e-12)
    assert torch.autograd.gradcheck(
        rot.axis_angle_to_matrix, (torch.randn(4, 3, dtype=torch.float64, requires_grad=True),)
    )
    assert torch.autograd.gradcheck(
        rot.matrix_to_axis_angle,
        (rot.axis_angle_to_matrix(torch.randn(4, 3, dtype=torch.float64)).requires_grad_(),),
    )


def test_half_turn_round_trip():
    for axis in torch.eye(3, dtype=torch.float64):
        m = rot.axis_angle_to_matrix(axis * math.pi)
        back = rot.axis_angle_to_matrix(rot.matrix_to_axis_angle(m))
        assert torch.allclose(back, m, atol=1e-12)


@pytest.mark.parametrize(
    "fn,shape",
    [
        (rot.axis_angle_to_matrix, (4,)),
        (rot.matrix_to_axis_angle, (3, 2)),
        (rot.rot6d_to_matrix, (5,)),
        (rot.quaternion_to_matrix, (3,)),
    ],
)
def test_bad_shapes_raise_input_error(fn, shape):
    with pytest.raises(InputError):
        fn(torch.zeros(shape))


def test_bad_convention_raises():
    with pytest.raises(InputError):
        rot.rot6d_to_matrix(torch.zeros(6), convention="diagonal")
