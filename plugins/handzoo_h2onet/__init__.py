"""handzoo plugin for the h2onet method.

This module is the plugin's entry point and stays light (no torch import): it hands out the
model cards and, only when a model is built, registers the method's modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handzoo.hookspecs import hookimpl
from handzoo.hub.cards import builtin_card_paths

__version__ = "0.1.0"
METHOD = "h2onet"


@hookimpl
def handzoo_model_cards() -> list[Path]:
    """The h2onet variants' model cards."""
    return builtin_card_paths(METHOD)


@hookimpl
def handzoo_register(registries: Any) -> None:
    """Register the H2ONet methods and the parts their architecture configs are built from."""
    from .backbone import DenseStackBackbone
    from .decoder import FusedRotationHead, MeshDecoder, OcclusionHead, OffsetHead, RotationHead
    from .losses import H2ONetLoss
    from .model import H2ONetMF, H2ONetSF

    registries.METHODS.register_module(module=H2ONetSF)
    registries.METHODS.register_module(module=H2ONetMF)
    registries.BACKBONES.register_module(name="H2ONetDenseStack", module=DenseStackBackbone)
    registries.HEADS.register_module(name="H2ONetMeshDecoder", module=MeshDecoder)
    registries.HEADS.register_module(name="H2ONetRotationHead", module=RotationHead)
    registries.HEADS.register_module(name="H2ONetFusedRotationHead", module=FusedRotationHead)
    registries.HEADS.register_module(name="H2ONetOcclusionHead", module=OcclusionHead)
    registries.HEADS.register_module(name="H2ONetOffsetHead", module=OffsetHead)
    registries.LOSSES.register_module(module=H2ONetLoss)


@hookimpl
def handzoo_converters() -> dict[str, str]:
    """The converter of the authors' checkpoints (dotted path, imported on use)."""
    return {METHOD: "handzoo_h2onet.convert:convert_state_dict"}
