"""Fixtures of the hub tests: the tiny method plugin, its original-format checkpoints, a stand-in Hub."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # make hub_tiny importable by the test modules
    sys.path.insert(0, _HERE)

from hub_tiny import TINY, TinyMethod, TinyPlugin, tiny_card, tiny_convert, to_original  # noqa: E402

from handzoo.hub.cards import ModelCard  # noqa: E402
from handzoo.plugins import PluginManager  # noqa: E402


@pytest.fixture
def install_tiny(fresh_plugins) -> Callable[..., PluginManager]:
    """Install a plugin manager holding only the tiny plugin: ``install_tiny(cards=[...], converter=...)``."""

    def install(cards: list[ModelCard] | None = None, converter: Any = tiny_convert) -> PluginManager:
        pm = PluginManager(autoload=False, extra=[], entry_points=[])
        pm.register(TinyPlugin(cards if cards is not None else [tiny_card()], converter), name=TINY)
        fresh_plugins(pm)
        return pm

    return install


@pytest.fixture
def tiny_model() -> TinyMethod:
    """A tiny model with non-trivial weights and batch-norm statistics."""
    torch.manual_seed(0)
    model = TinyMethod()
    with torch.no_grad():
        model.bn.running_mean.uniform_(-1, 1)
        model.bn.running_var.uniform_(0.5, 2)
        model.bn.num_batches_tracked.fill_(7)
    return model


@pytest.fixture
def original_checkpoint(tmp_path: Path, tiny_model: TinyMethod) -> Path:
    """The tiny model saved like an author would: DataParallel prefix, wrapper dict, embedded MANO arrays."""
    state = {f"module.{k}": v for k, v in to_original(tiny_model.state_dict()).items()}
    state["module.mano_layer.th_shapedirs"] = torch.randn(778, 3, 10)
    state["module.mano_layer.th_v_template"] = torch.randn(778, 3)
    path = tmp_path / "model_best.pth"
    torch.save({"epoch": 12, "state_dict": state, "optimizer": {"lr": 0.001}}, path)
    return path


@pytest.fixture
def converter_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An importable converter module (for the ``'module:function'`` form); returns the reference."""
    mod = tmp_path / "tiny_hub_converter.py"
    mod.write_text(
        textwrap.dedent(
            """
            KEY_MAP_VERSION = "tiny-module-2"
            MANO_DERIVED_KEYS = ["*.secret_mano_array"]
            _MAP = {"features.0.": "conv.", "features.1.": "bn.", "fc.": "head."}

            def convert_state_dict(state, variant):
                out = {}
                for key, value in state.items():
                    for old, new in _MAP.items():
                        if key.startswith(old):
                            key = new + key[len(old):]
                            break
                    out[key] = value
                return out
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "tiny_hub_converter:convert_state_dict"
    sys.modules.pop("tiny_hub_converter", None)


@pytest.fixture
def standin_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A stand-in Hub on 127.0.0.1 with HF_ENDPOINT pointing at it and Hub access enabled."""
    import huggingface_hub.constants as hf_constants

    from handzoo.testing.hub import StandInHub

    with StandInHub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        monkeypatch.delenv("HF_TOKEN", raising=False)
        yield hub
