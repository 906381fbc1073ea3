from __future__ import annotations

import pytest

from handzoo import registry
from handzoo.errors import ModelNotFoundError, RegistryError


def test_list_models_wildcards():
    names = registry.list_models()
    assert {"h2onet-dexycb", "hand4whole-hand", "smhr-freihand", "digit-interhand", "3dhand-rgb"} <= set(names)
    assert names == sorted(names)
    assert all(n.startswith("h2onet-") for n in registry.list_models("h2onet-*"))
    assert "h2onet-dexycb" not in registry.list_models("h2onet-*", exclude="*-dexycb")
    assert set(registry.list_models(method="smhr")) == {n for n in names if n.startswith("smhr-")}


def test_model_info_and_close_matches():
    card = registry.model_info("h2onet-dexycb")
    assert card.method == "h2onet" and card.plugin == "h2onet"
    with pytest.raises(ModelNotFoundError) as exc:
        registry.model_info("h2onet-dexyc")
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
