"""Which tensors hold MANO (or SMPL/SMPL-X/FLAME) data: decided by where they came from, not by name.

MANO's licence forbids redistributing its arrays or anything derived from them, so
``handzoo convert`` keeps them out of converted files (or keeps them only in the local file) and
``handzoo push`` refuses any file that holds one. A key name never decides: the open hand
shipped with handzoo has arrays called ``v_template``, ``shapedirs``, ``J_regressor`` and
``lbs_weights`` too, and a plugin on the open hand may store them in its weights.

In a **handzoo model** (:func:`mano_provenance`) a state-dict entry is MANO-derived when

* it belongs to a module that holds arrays read from the user's MANO file (:func:`from_mano_file`:
  a hand model built by handzoo's MANO reader, a module that says so with ``mano_derived = True``,
  or a layer of ``smplx``/``manopth``, which read the user's body-model files). Such arrays are
  rebuilt from the user's file whenever the model is built, so they never belong in a weights
  file: keep them in ``register_buffer(..., persistent=False)`` buffers;
* the model declares it, with fnmatch patterns in its ``mano_derived_keys`` attribute (or the
  card's ``weights.mano_derived_keys``): parameters *trained* from MANO arrays, which cannot be
  rebuilt and stay in the user's local file only (H2ONet's ``joint_regressor``);
* its value is a copy of one of the arrays of such a module (:meth:`ManoProvenance.copies`).

In an **authors' checkpoint** (:func:`authors_mano_keys`) the only trace of origin is the layout
of the MANO loader the authors used: the buffers of manopth's ``ManoLayer`` (``th_*``) and
modules named after a body-model layer (``mano_layer``, ``smpl_layer``, ...), plus the keys the
plugin's converter declares in its module's ``MANO_DERIVED_KEYS``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = [
    "LOADER_MODULE_NAMES",
    "LOADER_PACKAGES",
    "ManoProvenance",
    "authors_mano_keys",
    "from_mano_file",
    "is_authors_mano_key",
    "mano_provenance",
    "matching",
]

# modules of the authors' code that load a body model from its licensed file
LOADER_MODULE_NAMES = frozenset({"mano_layer", "smpl_layer", "smplx_layer", "flame_layer"})
# packages whose layers read the user's MANO/SMPL files
LOADER_PACKAGES = frozenset({"smplx", "manopth"})
# the prefix manopth's ManoLayer gives the MANO arrays it registers as buffers
_MANOPTH_PREFIX = "th_"


def matching(keys: Iterable[str], patterns: Iterable[str]) -> list[str]:
    """The keys matching any fnmatch pattern (an exact key matches itself), sorted."""
    pats = tuple(patterns)
    return sorted(k for k in keys if any(fnmatch.fnmatchcase(k, p) for p in pats))


def is_authors_mano_key(key: str, extra_patterns: Iterable[str] = ()) -> bool:
    """True when an authors' checkpoint key is a MANO loader's buffer (see the module docstring)."""
    parts = key.split(".")
    if any(p in LOADER_MODULE_NAMES for p in parts[:-1]) or parts[-1].startswith(_MANOPTH_PREFIX):
        return True
    return any(fnmatch.fnmatchcase(key, p) for p in extra_patterns)


def authors_mano_keys(keys: Iterable[str], extra_patterns: Iterable[str] = ()) -> list[str]:
    """The keys of an authors' checkpoint that hold the MANO data their loader embedded, sorted."""
    pats = tuple(extra_patterns)
    return sorted(k for k in keys if is_authors_mano_key(k, pats))


def from_mano_file(module: Any) -> bool:
    """True when ``module`` holds arrays read from the user's MANO (or SMPL-family) file.

    That is: a module with a true ``mano_derived`` attribute (how any hand model says so), a
    handzoo hand model built from the MANO reader's data (``name == 'mano'``), or a layer of
    ``smplx`` / ``manopth``. A module with ``mano_derived = False`` is never one.
    """
    flag = getattr(module, "mano_derived", None)
    if isinstance(flag, bool):
        return flag
    from handzoo.interfaces import HandModel

    if isinstance(module, HandModel) and str(getattr(module, "name", "")).lower() == "mano":
        return True
    return type(module).__module__.split(".")[0] in LOADER_PACKAGES


def _informative(t: torch.Tensor) -> bool:
    """Worth a value comparison: at least 16 elements, not all equal (zeros, ones are no evidence)."""
    if t.numel() < 16:
        return False
    flat = t.detach().reshape(-1)
    return bool((flat != flat[0]).any())


@dataclass(frozen=True)
class ManoProvenance:
    """The MANO-derived state of a built model (see :func:`mano_provenance`).

    Attributes:
        from_file: state-dict keys of modules holding arrays read from the user's MANO file.
        declared: state-dict keys the model (or card) declares MANO-derived (trained from MANO).
        patterns: the declaring fnmatch patterns.
        arrays: every tensor of the modules in ``from_file`` (persistent or not), for value checks.
    """

    from_file: tuple[str, ...] = ()
    declared: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    arrays: tuple[Any, ...] = field(default=(), repr=False)

    @property
    def keys(self) -> list[str]:
        """Every MANO-derived key of the model's state dict, sorted."""
        return sorted(set(self.from_file) | set(self.declared))

    def flagged(self, tensors: Mapping[str, Any]) -> list[str]:
        """The keys among ``tensors`` that are MANO-derived: by module, by declaration, or by value."""
        return sorted(
            (set(self.keys) & set(tensors)) | set(matching(tensors, self.patterns)) | set(self.copies(tensors))
        )

    def copies(self, tensors: Mapping[str, Any]) -> list[str]:
        """Keys whose tensor equals one of the MANO arrays (same shape, same values as float32)."""
        if not self.arrays:
            return []
        import torch

        by_shape: dict[tuple[int, ...], list[torch.Tensor]] = {}
        for a in self.arrays:
            if _informative(a):
                by_shape.setdefault(tuple(a.shape), []).append(a.detach().to("cpu", torch.float32))
        out = []
        for k, v in tensors.items():
            cands = by_shape.get(tuple(v.shape))
            if not cands or not _informative(v):
                continue
            x = v.detach().to("cpu", torch.float32)
            if any(torch.equal(x, c) for c in cands):
                out.append(k)
        return sorted(out)


def mano_provenance(model: nn.Module, extra_patterns: Iterable[str] = ()) -> ManoProvenance:
    """Which entries of ``model.state_dict()`` are MANO-derived, found from the model's modules.

    Args:
        model: a built model (randomly initialised is enough: what matters is what it was built from).
        extra_patterns: more declared patterns (the card's ``weights.mano_derived_keys``).
    """
    state_keys = list(model.state_dict().keys())
    from_file: set[str] = set()
    arrays: list[Any] = []
    for prefix, module in model.named_modules(remove_duplicate=False):
        if not from_mano_file(module):
            continue
        head = f"{prefix}." if prefix else ""
        from_file.update(k for k in state_keys if k.startswith(head))
        arrays.extend(module.buffers())
        arrays.extend(module.parameters())
    patterns = tuple(getattr(model, "mano_derived_keys", ()) or ()) + tuple(extra_patterns)
    return ManoProvenance(
        from_file=tuple(sorted(from_file)),
        declared=tuple(matching(state_keys, patterns)),
        patterns=patterns,
        arrays=tuple(arrays),
    )
