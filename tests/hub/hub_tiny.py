"""The tiny method used by the hub tests: model, key map, card, plugin object, helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn

from handzoo.hookspecs import hookimpl
from handzoo.hub.cards import ModelCard, parse_card
from handzoo.interfaces import Method
from handzoo.query import HandQuery
from handzoo.types import RIGHT, HandOutput

TINY = "tiny"
TINY_VARIANT = "tiny-demo"
KEY_MAP_VERSION = "tiny-1"


class TinyMethod(Method):
    """A complete, very small Method: conv + batch norm + linear -> 21 root-relative joints."""

    def __init__(self, width: int = 4, with_mano_buffer: bool = False, hand_model: str | None = None) -> None:
        super().__init__()
        self.hand_model_name = hand_model
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.bn = nn.BatchNorm2d(width)
        self.head = nn.Linear(width, 63)
        self.register_buffer("tips", torch.arange(5), persistent=False)
        if with_mano_buffer:  # an array read from the user's MANO file, kept (wrongly) as a persistent buffer
            self.mano = nn.Module()
            self.mano.mano_derived = True  # how a module says it holds the user's MANO data
            self.mano.register_buffer("shapedirs", torch.zeros(7, 3, 2))

    def preprocess(self, query: HandQuery) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        x = torch.as_tensor(np.stack(query.images), dtype=torch.float32).permute(0, 3, 1, 2) / 255
        return {"image": x.to(self.head.weight.device)}, {}

    def forward(self, batch: Any) -> dict[str, torch.Tensor]:
        f = self.bn(self.conv(batch["image"])).mean(dim=(2, 3))
        return {"joints3d": self.head(f).view(-1, 21, 3)}

    def postprocess(self, raw: Any, meta: Any) -> HandOutput:
        j = raw["joints3d"][:, None]
        b = j.shape[0]
        return HandOutput(
            joints3d=j,
            side=torch.full((b, 1), RIGHT, dtype=torch.long),
            score=torch.ones(b, 1),
            valid=torch.ones(b, 1, dtype=torch.bool),
            root_relative=True,
        )


_TO_HANDZOO = {"features.0.": "conv.", "features.1.": "bn.", "fc.": "head."}


def tiny_convert(state: dict[str, torch.Tensor], variant: str) -> dict[str, torch.Tensor]:
    """The tiny method's key map: authors' ``features.0/1`` and ``fc`` -> ``conv``, ``bn``, ``head``."""
    out = {}
    for key, value in state.items():
        for old, new in _TO_HANDZOO.items():
            if key.startswith(old):
                key = new + key[len(old) :]
                break
        out[key] = value
    return out


tiny_convert.KEY_MAP_VERSION = KEY_MAP_VERSION  # type: ignore[attr-defined]


def to_original(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse key map: a handzoo state dict in the 'authors' layout."""
    inverse = {v: k for k, v in _TO_HANDZOO.items()}
    out = {}
    for key, value in state.items():
        for new, old in inverse.items():
            if key.startswith(new):
                key = old + key[len(new) :]
                break
        out[key] = value
    return out


def tiny_card(
    variant: str = TINY_VARIANT,
    hub: dict[str, Any] | None = None,
    original: dict[str, Any] | None = "default",
    **arch: Any,
) -> ModelCard:
    """A valid card for the tiny method."""
    if original == "default":
        original = {
            "url": "https://example.org/tiny/model_best.pth",
            "format": "torch.save dict",
            "filename": "model_best.pth",
        }
    front = {
        "license": "mit",
        "library_name": "handzoo",
        "pipeline_tag": "image-to-3d",
        "tags": ["handzoo"],
        "datasets": [],
        "handzoo": {
            "variant": variant,
            "method": TINY,
            "summary": "tiny test method",
            "paper": {"title": "Tiny"},
            "architecture": {"type": "TinyMethod", **arch},
            "hand_model": None,
            "input": {"size": [8, 8], "colour": "RGB", "range": [0, 1]},
            "weights": {"hub": hub, "original": original},
            "weights_license": "mit",
            "results": [],
        },
    }
    text = "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n\n# " + variant + "\n\nA tiny test model.\n"
    return parse_card(text)


class TinyPlugin:
    """A plugin object providing the tiny method, its cards and its converter."""

    def __init__(self, cards: list[ModelCard], converter: Any) -> None:
        self._cards = cards
        self._converter = converter

    @hookimpl
    def handzoo_model_cards(self) -> list[ModelCard]:
        return self._cards

    @hookimpl
    def handzoo_register(self, registries: Any) -> None:
        registries.METHODS.register_module(module=TinyMethod, force=True)

    @hookimpl
    def handzoo_converters(self) -> dict[str, Any]:
        return {TINY: self._converter} if self._converter is not None else {}


def cache_files(root: Path) -> list[str]:
    """Every file under a cache root (relative paths), for 'nothing left behind' checks."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
