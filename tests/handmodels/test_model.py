"""hand_model factory options and errors; the HandModel interface."""

from __future__ import annotations

import pytest
import torch

from handzoo.errors import AssetError, ConfigError, HandzooError, InputError
from handzoo.handmodels import hand_model
from handzoo.interfaces import HandModel


def test_interface_attributes():
    m = hand_model("openhand")
    assert isinstance(m, HandModel)
    assert m.side == "right" and m.joint_order == "handzoo21" and m.num_vertices == 1609
    assert m.faces.dtype == torch.long and m.faces.shape == (3196, 3)
    assert len(m.tip_vertex_ids) == 5
    assert m.dtype == torch.float32
    assert hand_model("openhand", dtype=torch.float64).dtype == torch.float64
    assert hand_model("OpenHand", side="LEFT").side == "left"


def test_module_moves_and_casts():
    m = hand_model("openhand").double()
    v, j = m(torch.zeros(2, 3), torch.zeros(2, 45), torch.zeros(2, 10))
    assert v.dtype == torch.float64 and j.shape == (2, 21, 3)
    assert "faces" in dict(m.named_buffers())


def test_identity_pca_of_openhand_equals_axis_angle():
    full = hand_model("openhand", dtype=torch.float64)
    pca = hand_model("openhand", use_pca=True, num_pca_comps=6, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    coeffs = torch.randn(3, 6, generator=g, dtype=torch.float64)
    pose = torch.cat([coeffs, torch.zeros(3, 39, dtype=torch.float64)], 1)
    go = torch.zeros(3, 3, dtype=torch.float64)
    assert torch.allclose(pca(go, coeffs, None)[0], full(go, pose, None)[0])


@pytest.mark.parametrize(
    "kwargs,error",
    [
        (dict(name="nope"), ConfigError),
        (dict(side="middle"), ConfigError),
        (dict(dtype=torch.float16), ConfigError),
        (dict(num_betas=11), ConfigError),
        (dict(use_pca=True, num_pca_comps=0), ConfigError),
        (dict(tip_vertex_ids=(1, 2, 3)), ConfigError),
        (dict(name="mano", closed_wrist=True, mano_dir="/nonexistent"), ConfigError),
    ],
)
def test_bad_options(kwargs, error):
    with pytest.raises(error):
        hand_model(**kwargs)


def test_mano_without_files(monkeypatch, tmp_path):
    monkeypatch.delenv("HANDZOO_MANO_DIR", raising=False)
    with pytest.raises(AssetError, match="HANDZOO_MANO_DIR"):
        hand_model("mano")
    with pytest.raises(HandzooError, match="mano.is.tue.mpg.de"):
        hand_model("mano", mano_dir=tmp_path)


def test_bad_inputs_raise_input_error():
    m = hand_model("openhand")
    with pytest.raises(InputError):
        m(torch.zeros(2, 3), torch.zeros(2, 44), torch.zeros(2, 10))
    with pytest.raises(InputError):
        m(torch.zeros(2, 3), torch.zeros(3, 45), torch.zeros(2, 10))
    with pytest.raises(InputError):
        m(torch.zeros(2, 3), torch.zeros(2, 45), torch.zeros(2, 12))
    with pytest.raises(InputError):
        m(torch.zeros(2, 3), torch.zeros(2, 45), None, transl=torch.zeros(2, 2))
