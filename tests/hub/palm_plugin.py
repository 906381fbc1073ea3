"""A third-party plugin written the way CONTRIBUTING.md describes: a tiny method on a hand model.

``PalmNet`` regresses the hand model's pose and shape from the whole image (or the first box) and
returns the hand model's joints and mesh, root-relative. Built on the open hand (the default) its
state dict holds the open hand's arrays (``hand.v_template``, ``hand.shapedirs``,
``hand.J_regressor``, ``hand.lbs_weights``, ...): ordinary, publishable weights. Built on MANO,
the same entries hold the user's MANO data. ``hand_arrays_in_weights=False`` keeps them out of the
state dict, as CONTRIBUTING.md recommends for MANO.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from torch import nn

from handzoo.hookspecs import hookimpl
from handzoo.hub.cards import ModelCard, parse_card
from handzoo.interfaces import Method
from handzoo.query import HandQuery
from handzoo.types import RIGHT, HandOutput

METHOD = "palm"
KEY_MAP_VERSION = "palm-1"


class PalmNet(Method):
    """Image -> (global orient, 45 pose, 10 betas) -> the hand model's joints and vertices.

    Args:
        hand_model: ``'openhand'`` | ``'mano'`` | a ``HAND_MODELS`` config dict.
        mano_dir: folder of the user's MANO files (MANO only).
        width: channels of the trunk.
        input_size: side of the network input.
        hand_arrays_in_weights: keep the hand model's arrays in the state dict (False: rebuilt
            from the hand model's files at every build, never saved).
    """

    def __init__(
        self,
        hand_model: str | dict[str, Any] = "openhand",
        mano_dir: str | None = None,
        width: int = 8,
        input_size: int = 32,
        hand_arrays_in_weights: bool = True,
    ) -> None:
        super().__init__()
        from handzoo.registry import build

        cfg = dict(hand_model) if isinstance(hand_model, dict) else {"type": hand_model}
        cfg.setdefault("side", "right")
        cfg.setdefault("flat_hand_mean", True)
        if mano_dir is not None and cfg["type"] == "mano":
            cfg["mano_dir"] = mano_dir
        self.hand = build("hand_models", cfg)
        if not hand_arrays_in_weights:
            for name, buf in list(self.hand.named_buffers(recurse=False)):
                self.hand.register_buffer(name, buf, persistent=False)
        self.input_size = input_size
        self.trunk = nn.Sequential(
            nn.Conv2d(3, width, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.params = nn.Linear(width, 3 + 45 + 10)

    def preprocess(self, query: HandQuery) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The first box of each image (the whole image without boxes), resized to the input."""
        crops = []
        for i, img in enumerate(query.images):
            t = torch.from_numpy(img).permute(2, 0, 1).float().div(255)[None]
            if query.boxes is not None and len(query.boxes[i]):
                x0, y0, x1, y1 = (int(round(float(v))) for v in query.boxes[i][0])
                h, w = img.shape[:2]
                x0, y0 = min(max(x0, 0), w - 1), min(max(y0, 0), h - 1)
                t = t[:, :, y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)]
            crops.append(F.interpolate(t, size=(self.input_size,) * 2, mode="bilinear", align_corners=False))
        return {"image": torch.cat(crops).to(self.params.weight.device)}, {"num_images": len(crops)}

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Root-relative (B, 21, 3) joints and (B, V, 3) vertices, metres."""
        p = self.params(self.trunk(batch["image"])) * 0.1
        vertices, joints = self.hand(p[:, :3], p[:, 3:48], p[:, 48:])
        root = joints[:, :1]
        return {"joints3d": joints - root, "vertices": vertices - root}

    def postprocess(self, raw: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> HandOutput:
        """One right hand per image."""
        j = raw["joints3d"][:, None]
        b, dev = j.shape[0], j.device
        return HandOutput(
            joints3d=j,
            vertices=raw["vertices"][:, None],
            faces=self.hand.faces,
            side=torch.full((b, 1), RIGHT, dtype=torch.long, device=dev),
            score=torch.ones(b, 1, device=dev),
            valid=torch.ones(b, 1, dtype=torch.bool, device=dev),
            root_relative=True,
        )


def convert_state_dict(state: dict[str, torch.Tensor], variant: str) -> dict[str, torch.Tensor]:
    """The plugin's own training checkpoints already use handzoo's keys."""
    return dict(state)


def palm_card(variant: str, hand_model: str = "openhand", **arch: Any) -> ModelCard:
    """The card of a PalmNet variant (trained by its author: no authors' checkpoint, no Hub file yet)."""
    front = {
        "license": "apache-2.0",
        "library_name": "handzoo",
        "pipeline_tag": "image-to-3d",
        "tags": ["handzoo"],
        "datasets": [],
        "handzoo": {
            "variant": variant,
            "method": METHOD,
            "summary": f"PalmNet on the {hand_model} hand model",
            "paper": {"title": "PalmNet (a plugin authoring test)"},
            "architecture": {"type": "PalmNet", "hand_model": hand_model, **arch},
            "hand_model": hand_model,
            "input": {"size": [32, 32], "colour": "RGB", "range": [0, 1]},
            "weights": {"hub": None, "original": None},
            "weights_license": "apache-2.0",
            "results": [],
        },
    }
    return parse_card("---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n\n# " + variant + "\n\nPalmNet.\n")


@hookimpl
def handzoo_model_cards() -> list[ModelCard]:
    return [
        palm_card("palm-openhand"),
        palm_card("palm-mano", "mano"),
        palm_card("palm-mano-lean", "mano", hand_arrays_in_weights=False),
    ]


@hookimpl
def handzoo_register(registries: Any) -> None:
    registries.METHODS.register_module(module=PalmNet, force=True)


@hookimpl
def handzoo_converters() -> dict[str, Any]:
    return {METHOD: "palm_plugin:convert_state_dict"}
