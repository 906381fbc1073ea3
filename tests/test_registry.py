from __future__ import annotations

import pytest

from handzoo import registry, variants
from handzoo.errors import ModelNotFoundError, RegistryError


def test_list_models_wildcards():
    names = variants.list_models()
    assert {"h2onet-dexycb", "hand4whole-hand", "smhr-freihand", "digit-interhand", "3dhand-rgb"} <= set(names)
    assert names == sorted(names)
    assert all(n.startswith("h2onet-") for n in variants.list_models("h2onet-*"))
    assert "h2onet-dexycb" not in variants.list_models("h2onet-*", exclude="*-dexycb")
    assert set(variants.list_models(method="smhr")) == {n for n in names if n.startswith("smhr-")}


def test_model_info_and_close_matches():
    card = variants.model_info("h2onet-dexycb")
    assert card.method == "h2onet" and card.plugin == "h2onet"
    with pytest.raises(ModelNotFoundError) as exc:
        variants.model_info("h2onet-dexyc")
    assert "h2onet-dexycb" in str(exc.value)


def test_build_unknown_type_suggests():
    with pytest.raises(RegistryError, match="not registered"):
        registry.build("methods", {"type": "NoSuchMethod"})
    with pytest.raises(RegistryError, match="unknown registry"):
        registry.build("widgets", {"type": "X"})


def test_build_registered_class():
    from torch import nn

    @registry.BACKBONES.register_module(force=True)
    class TinyBackboneForTest(nn.Module):
        def __init__(self, width: int = 2):
            super().__init__()
            self.width = width

    obj = registry.build("backbones", {"type": "TinyBackboneForTest", "width": 3})
    assert obj.width == 3


def test_build_accepts_kind_spellings_and_passes_built_objects_through():
    from torch import nn

    for kind in ("hand_models", "HAND_MODELS", "hand_model", "hand-model", "Hand Models"):
        hand = registry.build(kind, {"type": "openhand", "side": "left"})
        assert hand.side == "left" and hand.num_vertices == 1609
    assert registry.build("hand_model", "openhand").side == "right"  # a bare name is {'type': name}
    assert registry.build("hand_model", {"type": "OpenHand"}).side == "right"  # one case-insensitive match
    built = nn.Linear(2, 2)
    assert registry.build("heads", built) is built
    assert {"BACKBONES", "HEADS", "HAND_MODELS", "DATASETS", "LOSSES", "METHODS", "DETECTORS"} == set(
        registry.REGISTRY_NAMES
    )
    assert registry.get_registry("detector") is registry.DETECTORS
    with pytest.raises(RegistryError, match="'type'"):
        registry.build("heads", {"width": 3})


def test_core_parts_are_registered_lazily_per_kind():
    """Building a hand model imports neither the dataset loaders nor the plugins' code."""
    import subprocess
    import sys

    code = (
        "import sys; from handzoo.registry import build; "
        "m = build('hand_models', {'type': 'openhand'}); "
        "print('handzoo.datasets' in sys.modules, 'handzoo.backbones' in sys.modules)"
    )
    env = {"HANDZOO_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": "", "HF_HUB_OFFLINE": "1"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "False"]


def test_timm_backbone_from_a_config():
    import torch

    net = registry.build("backbone", {"type": "TimmBackbone", "name": "resnet18", "out_indices": (3, 4)})
    assert net.out_channels == (256, 512) and net.strides == (16, 32)
    feats = net(torch.zeros(1, 3, 64, 64))
    assert [tuple(f.shape) for f in feats] == [(1, 256, 4, 4), (1, 512, 2, 2)]


def test_plugin_reset_keeps_core_parts_and_drops_plugin_parts(fresh_plugins):
    from torch import nn

    from handzoo.plugins import PluginManager

    class ThirdPartyHeadForReset(nn.Module):
        pass

    registry.HEADS.register_module(module=ThirdPartyHeadForReset)
    registry.build("hand_models", "openhand")  # core hand models registered
    fresh_plugins(PluginManager(autoload=False, extra=[], entry_points=[]))
    assert registry.HEADS.get("ThirdPartyHeadForReset") is None
    assert registry.get_registry("hand_models").get("openhand") is not None


def test_registry_uses_no_private_mmengine_attributes():
    from pathlib import Path

    src = Path(registry.__file__).read_text()
    assert "._module_dict" not in src and "._children" not in src


def test_datasets_build_from_a_config():
    ds = registry.build("dataset", {"type": "synthetic", "split": "bench", "n": 2})
    assert type(ds).__name__ == "SyntheticHands" and len(ds) == 2
