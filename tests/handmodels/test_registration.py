"""The built-in hand models are buildable from the HAND_MODELS registry."""

from __future__ import annotations

import importlib

import pytest

from handzoo.errors import AssetError


def test_registry_builds_hand_models(monkeypatch):
    importlib.import_module("handzoo.handmodels.registration")
    from handzoo.registry import HAND_MODELS

    m = HAND_MODELS.build({"type": "openhand", "side": "left"})
    assert m.side == "left" and m.num_vertices == 1609
    monkeypatch.delenv("HANDZOO_MANO_DIR", raising=False)
    with pytest.raises(AssetError):
        HAND_MODELS.build({"type": "mano", "side": "right"})


def test_hand_model_options_from_a_config():
    """side, flat_hand_mean, tip_vertex_ids and joint_regressor are config options."""
    import numpy as np
    import torch

    from handzoo.registry import build

    tips = (740, 300, 430, 550, 660)
    m = build("hand_models", {"type": "openhand", "side": "right", "flat_hand_mean": True, "tip_vertex_ids": tips})
    assert m.tip_vertex_ids == tips and m.flat_hand_mean and not m.joints_from_vertices
    assert m.joint_regressor.shape == (21, 1609) and "joint_regressor" not in m.state_dict()
    pose = torch.randn(2, 45) * 0.3
    go = torch.randn(2, 3) * 0.3
    verts, _ = m(go, pose)
    # default: kinematic joints + tips; 'vertices': J_regressor + tips on the posed mesh
    by_verts = build("hand_models", {"type": "openhand", "tip_vertex_ids": tips, "joint_regressor": "vertices"})
    v2, reg = by_verts(go, pose, transl=torch.tensor([[0.0, 0.0, 0.5]]))
    torch.testing.assert_close(v2 - torch.tensor([0.0, 0.0, 0.5]), verts, rtol=0, atol=1e-6)
    torch.testing.assert_close(reg - torch.tensor([0.0, 0.0, 0.5]), by_verts.regress_joints(verts), rtol=0, atol=1e-6)
    torch.testing.assert_close(reg[:, 4], v2[:, tips[0]], rtol=0, atol=1e-6)  # thumb tip is a vertex
    # a trained matrix: used as given; a Parameter is shared with its owner, not registered here
    trained = np.random.default_rng(0).random((21, 1609)) / 1609
    fixed = build("hand_models", {"type": "openhand", "joint_regressor": trained})
    torch.testing.assert_close(fixed(go, pose)[1], torch.from_numpy(trained).float() @ verts, rtol=1e-5, atol=1e-6)
    param = torch.nn.Parameter(torch.from_numpy(trained).float())
    shared = build("hand_models", {"type": "openhand", "joint_regressor": param})
    assert shared.joint_regressor is param and not list(shared.parameters())
    with torch.no_grad():
        param.mul_(2.0)
    torch.testing.assert_close(shared(go, pose)[1], param.detach() @ verts, rtol=1e-5, atol=1e-6)
    with pytest.raises(Exception, match="21, 1609"):
        build("hand_models", {"type": "openhand", "joint_regressor": np.zeros((16, 1609))})


def test_mano_options_reach_the_model(monkeypatch, tmp_path):
    from handzoo.errors import AssetError
    from handzoo.registry import build

    monkeypatch.delenv("HANDZOO_MANO_DIR", raising=False)
    with pytest.raises(AssetError, match=str(tmp_path)):
        build("hand_models", {"type": "mano", "mano_dir": str(tmp_path), "joint_regressor": "vertices"})
