"""Official evaluation protocols: one object per benchmark, numbers equal to the official scripts.

Usage::

    from handzoo.protocols import get_protocol, list_protocols
    proto = get_protocol("freihand")
    result = proto.evaluate(pred_joints=pj, gt_joints=gj, pred_verts=pv, gt_verts=gv)
    result.scores          # official keys and units (what scores.txt holds)
    result.metrics         # PA-MPJPE, PA-MPVPE, F@5, ... (mm / fractions)
    proto.score_files("gt_dir", "pred.json")   # drop-in scorer of an official submission

The registry is a plain dict of protocol ids (:data:`handzoo.catalogue.protocols.PROTOCOL_IDS`) to
``module:Class`` strings; protocol modules (and torch) are imported only when a protocol is
requested. Names are matched by the catalogue's one alias rule (``ho3d_v2`` = ``HO3D-v2`` = ``ho3d-v2``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from handzoo.catalogue.names import PROTOCOL_NAMES
from handzoo.catalogue.protocols import PROTOCOL_IDS, declare_protocol
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
    "stb-3dhand": "handzoo.protocols.pck3d:STB3DHandProtocol",
    "dexter-object-3dhand": "handzoo.protocols.pck3d:DexterObject3DHandProtocol",
    "egodexter-3dhand": "handzoo.protocols.pck3d:EgoDexter3DHandProtocol",
    "rhd": "handzoo.protocols.rhd:RHDProtocol",
}

#: synonyms (beyond punctuation and case) -> protocol id, from the catalogue
PROTOCOL_ALIASES: dict[str, str] = {alias: name for name, aliases in PROTOCOL_IDS.items() for alias in aliases}

_INSTANCES: dict[str, Protocol] = {}


def list_protocols() -> list[str]:
    """Names of the known protocols (without importing them)."""
    return list(_REGISTRY)


def register_protocol(name: str, target: str, overwrite: bool = False, aliases: tuple[str, ...] = ()) -> None:
    """Register a protocol class given as ``"module:Class"`` (for plugins and tests).

    Args:
        name: the protocol id.
        target: ``"package.module:Class"``.
        overwrite: replace an existing registration.
        aliases: other names of it that differ in more than punctuation and case.

    Raises:
        ConfigError: when the name is taken and ``overwrite`` is False, or ``target`` is malformed.
    """
    if ":" not in target:
        raise ConfigError(f"protocol target {target!r} must look like 'package.module:Class'")
    if name in _REGISTRY and not overwrite:
        raise ConfigError(f"protocol {name!r} is already registered", hint="pick another name")
    declare_protocol(name, aliases)
    _REGISTRY[name] = target
    _INSTANCES.pop(name, None)


def get_protocol(name: str) -> Protocol:
    """The protocol object called ``name`` (aliases such as ``ho3d`` accepted).

    Raises:
        ConfigError: for an unknown name.
    """
    key = PROTOCOL_NAMES.canonical(name) if isinstance(name, str) else name
    if key not in _REGISTRY:
        raise ConfigError(f"unknown evaluation protocol {name!r}", hint=f"known protocols: {', '.join(_REGISTRY)}")
    if key not in _INSTANCES:
        module, cls = _REGISTRY[key].split(":")
        _INSTANCES[key] = getattr(importlib.import_module(module), cls)()
    return _INSTANCES[key]
