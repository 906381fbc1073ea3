"""OpenGL <-> OpenCV camera frames: one helper for numpy arrays and torch tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handzoo.errors import InputError
from handzoo.geometry import frames


def test_points_torch_and_numpy():
    p = torch.tensor([[1.0, 2.0, 3.0]])
    assert torch.equal(frames.opengl_to_opencv(p), torch.tensor([[1.0, -2.0, -3.0]]))
    assert torch.equal(frames.opencv_to_opengl(frames.opengl_to_opencv(p)), p)
    q = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    out = frames.opengl_to_opencv(q)
    assert out.dtype == np.float32 and np.array_equal(out, [[1.0, -2.0, -3.0]])
    assert np.array_equal(out, q @ frames.OPENGL_TO_OPENCV.T)


def test_matrix_is_read_only_diag():
    assert np.array_equal(frames.OPENGL_TO_OPENCV, np.diag([1.0, -1.0, -1.0]))
    assert not frames.OPENGL_TO_OPENCV.flags.writeable


def test_bad_shapes():
    with pytest.raises(InputError, match=r"\(\.\.\., 3\)"):
        frames.opengl_to_opencv(np.zeros((2, 2)))
    with pytest.raises(InputError):
        frames.opengl_to_opencv([1.0, 2.0, 3.0])
