"""save_hand_png writes a real, non-blank picture and rejects bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handzoo.errors import InputError
from handzoo.handmodels import hand_model
from handzoo.handmodels.viz import save_hand_png


def test_writes_png_of_a_hand(tmp_path):
    matplotlib_image = pytest.importorskip("matplotlib.image")
    m = hand_model("openhand")
    v, j = m(torch.zeros(1, 3), torch.zeros(1, 45), None)
    out = save_hand_png(v, m.faces, tmp_path / "hand.png", joints=j[0], views=((20, -60), (20, 120)), size=2, dpi=50)
    data = (tmp_path / "hand.png").read_bytes()
    assert out.endswith("hand.png") and data[:8] == b"\x89PNG\r\n\x1a\n"
    img = matplotlib_image.imread(tmp_path / "hand.png")
    assert img.shape[1] == 2 * img.shape[0]  # two panels
    covered = (img[..., :3].mean(-1) < 0.95).mean()
    assert 0.02 < covered < 0.8  # something was drawn, not everything


def test_numpy_input_without_joints(tmp_path):
    v = np.random.default_rng(0).normal(size=(30, 3))
    f = np.array([[0, 1, 2], [2, 3, 4], [5, 6, 7]])
    save_hand_png(v, f, tmp_path / "x.png", size=1, dpi=40)
    assert (tmp_path / "x.png").stat().st_size > 0


@pytest.mark.parametrize(
    "verts,faces,joints",
    [
        (np.zeros((5, 2)), np.array([[0, 1, 2]]), None),
        (np.zeros((5, 3)), np.array([[0, 1, 9]]), None),
        (np.zeros((5, 3)), np.array([[0, 1, 2]]), np.zeros((20, 3))),
    ],
)
def test_bad_input(tmp_path, verts, faces, joints):
    with pytest.raises(InputError):
        save_hand_png(verts, faces, tmp_path / "bad.png", joints=joints)
