"""Architectures are config trees: parts swap from a config, without editing a plugin."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from handzoo.registry import build, get_registry


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(96, 128, 3), dtype=np.uint8)


def test_hand4whole_with_a_timm_backbone_from_a_config():
    """The heads read the last stride-32 map; their input channels follow the backbone's."""
    cfg = {
        "type": "Hand4WholeHand",
        "backbone": {"type": "TimmBackbone", "name": "resnet18", "out_indices": [4]},
        "hand_model": "openhand",
    }
    model = build("methods", cfg).eval()
    assert type(model.backbone).__name__ == "TimmBackbone" and model.backbone.out_channels == (512,)
    assert model.position_head.heatmap.in_channels == 512 and model.rotation_head.betas.in_features == 512
    out = model(_image(), boxes=[[30, 20, 90, 80]], sides="left")
    assert out.joints3d.shape == (1, 1, 21, 3) and out.vertices.shape == (1, 1, 1609, 3)
    assert torch.isfinite(out.joints3d).all() and out.side.tolist() == [[1]]
    # the joints are the hand model's (its regressor on the posed mesh: fingertips are vertices)
    tips = model.hand_model.tip_vertex_ids
    torch.testing.assert_close(out.joints3d[0, 0, 4], out.vertices[0, 0, tips[0]], rtol=0, atol=1e-6)


class ThirdPartyPositionHead(nn.Module):
    """A third party's head: same outputs as Hand4Whole's PositionNet, a different network."""

    def __init__(self, in_channels: int = 2048, num_joints: int = 21, heatmap_shape=(8, 8, 8)) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.fc = nn.Linear(in_channels, num_joints * 3)

    def forward(self, features, **ctx):
        x = features[-1] if isinstance(features, (list, tuple)) else features
        xyz = torch.sigmoid(self.fc(x.mean((2, 3)))).view(-1, self.num_joints, 3) * 8.0
        return {"joint_img": xyz}


def test_a_third_party_head_from_a_config(fresh_plugins):
    """Registered outside any plugin, used by name from a config; the plugin is not edited."""
    from handzoo.plugins import PluginManager

    fresh_plugins(PluginManager())  # fresh registries: the built-in plugins register again
    heads = get_registry("heads")
    heads.register_module(module=ThirdPartyPositionHead)
    model = build(
        "method",
        {
            "type": "Hand4WholeHand",
            "backbone": {"type": "Hand4WholeResNet", "arch": "resnet18"},
            "position_head": {"type": "ThirdPartyPositionHead"},
            "hand_model": "openhand",
        },
    ).eval()
    assert isinstance(model.position_head, ThirdPartyPositionHead) and model.position_head.fc.in_features == 512
    out = model(_image(), boxes=[[30, 20, 90, 80]])
    assert out.joints3d.shape == (1, 1, 21, 3) and torch.isfinite(out.joints3d).all()
    assert out.extras["joint_img"].shape == (1, 1, 21, 3)


def test_h2onet_parts_come_from_the_registries():
    """H2ONet-SF on the open hand, its rotation head given built, the rest from the default config."""
    from handzoo_h2onet.decoder import RotationHead

    head = RotationHead()
    model = build("methods", {"type": "H2ONetSF", "hand_model": "openhand", "rotation_head": head}).eval()
    assert model.rot_head is head
    assert type(model.backbone).__name__ == "DenseStackBackbone"
    # the trained regressor is the hand model's: one tensor, saved once under the method
    assert model.hand.joint_regressor is model.joint_regressor
    assert [k for k in model.state_dict() if k.endswith("joint_regressor")] == ["joint_regressor"]
    model.load_state_dict(model.state_dict(), assign=True)  # a new parameter object: shared again
    assert model.hand.joint_regressor is model.joint_regressor
    out = model(_image(), boxes=[[[30, 20, 90, 80], [10, 10, 40, 50]]], sides=[["right", "left"]])
    assert out.joints3d.shape == (1, 2, 21, 3) and out.side.tolist() == [[0, 1]]


@pytest.mark.parametrize(
    ("variant", "default"),
    [
        ("hand4whole-hand", "handzoo_hand4whole.model:DEFAULT_ARCHITECTURE"),
        ("h2onet-sf-dexycb", "handzoo_h2onet.model:SF_ARCHITECTURE"),
        ("h2onet-dexycb", "handzoo_h2onet.model:MF_ARCHITECTURE"),
    ],
)
def test_cards_hold_the_architecture_trees(variant: str, default: str):
    """The cards' ``architecture:`` is the methods' default config tree (same parts, same options)."""
    import importlib
    import json

    from handzoo.variants import model_info

    module, _, name = default.partition(":")
    tree = getattr(importlib.import_module(module), name)

    def norm(x):
        return json.loads(json.dumps(x, default=list))

    assert norm(dict(model_info(variant).architecture)) == norm(tree)
