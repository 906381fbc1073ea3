"""Official evaluation protocols: one object per benchmark, numbers equal to the official scripts.

Usage::

    from handzoo.protocols import get_protocol, list_protocols
    proto = get_protocol("freihand")
    result = proto.evaluate(pred_joints=pj, gt_joints=gj, pred_verts=pv, gt_verts=gv)
    result.scores          # official keys and units (what scores.txt holds)
    result.metrics         # PA-MPJPE, PA-MPVPE, F@5, ... (mm / fractions)
    proto.score_files("gt_dir", "pred.json")   # drop-in scorer of an official submission

The registry is a plain dict of names to ``module:Class`` strings; protocol modules (and torch)
are imported only when a protocol is requested.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from handzoo.errors import ConfigError

if TYPE_CHECKING:
    from handzoo.protocols.base import Protocol

__all__ = ["get_protocol", "list_protocols", "register_protocol", "PROTOCOL_ALIASES"]

_REGISTRY: dict[str, str] = {
    "freihand": "handzoo.protocols.freihand:FreiHANDProtocol",
    "ho3d-v2": "handzoo.protocols.ho3d:HO3Dv2Protocol",
    "ho3d-v3": "handzoo.protocols.ho3d:HO3Dv3Protocol",
    "dexycb": "handzoo.protocols.dexycb:DexYCBToolkitProtocol",
    "dexycb-handoccnet": "handzoo.protocols.dexycb_mesh:HandOccNetDexYCBProtocol",
    "dexycb-h2onet": "handzoo.protocols.dexycb_mesh:H2ONetDexYCBProtocol",
    "interhand": "handzoo.protocols.interhand:InterHandProtocol",
}

PROTOCOL_ALIASES: dict[str, str] = {
    "ho3d": "ho3d-v2",
    "ho3d_v2": "ho3d-v2",
    "ho3d_v3": "ho3d-v3",
    "dex-ycb": "dexycb",
    "dexycb-toolkit": "dexycb",
    "dexycb_handoccnet": "dexycb-handoccnet",
    "interhand2.6m": "interhand",
    "interhand26m": "interhand",
}

_INSTANCES: dict[str, Protocol] = {}


def list_protocols() -> list[str]:
    """Names of the known protocols (without importing them)."""
    return list(_REGISTRY)


def register_protocol(name: str, target: str, overwrite: bool = False) -> None:
    """Register a protocol class given as ``"module:Class"`` (for plugins and tests).

    Raises:
        ConfigError: when the name is taken and ``overwrite`` is False, or ``target`` is malformed.
    """
    if ":" not in target:
        raise ConfigError(f"protocol target {target!r} must look like 'package.module:Class'")
    if name in _REGISTRY and not overwrite:
        raise ConfigError(f"protocol {name!r} is already registered", hint="pick another name")
    _REGISTRY[name] = target
    _INSTANCES.pop(name, None)


def get_protocol(name: str) -> Protocol:
    """The protocol object called ``name`` (aliases such as ``ho3d`` accepted).

    Raises:
        ConfigError: for an unknown name.
    """
    key = PROTOCOL_ALIASES.get(name.lower(), name.lower()) if isinstance(name, str) else name
    if key not in _REGISTRY:
        raise ConfigError(f"unknown evaluation protocol {name!r}", hint=f"known protocols: {', '.join(_REGISTRY)}")
    if key not in _INSTANCES:
        module, cls = _REGISTRY[key].split(":")
        _INSTANCES[key] = getattr(importlib.import_module(module), cls)()
    return _INSTANCES[key]
