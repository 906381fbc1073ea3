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
