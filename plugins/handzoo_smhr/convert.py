"""The authors' SMHR checkpoint -> :class:`~handzoo_smhr.model.SMHR` keys (see ``KEYMAP.md``).

The authors save ``{'epoch', 'state_dict', 'optimizer'}`` of their ``PoseResNet``; the hub
framework has already taken ``state_dict`` and stripped any ``module.`` prefix. Every key falls
in exactly one group:

* the ResNet-50 trunk (``conv1``, ``bn1``, ``layer1``..``layer4``) -> ``backbone.body.*``;
* the CSP neck (``p3``/``p4``/``p5``, ``p3_l2``..``p5_l2``, ``feat``, ``feat_bn``) -> ``neck.*``;
* the heads (``hm``, ``params``, ``texture``, ``light``, ``handmap``) -> ``heads.<head>.*``;
* modules that the authors' network always builds but never runs at inference: the ResNet-18
  "UV" branch (``backbone.*``, ``uv_delayer.*``, ``uv_head.*``, ``reduce.*``, used only with
  their ``--heatmaps`` flag) and ``p2``/``p2_l2``. They are left out and **reported** (a warning
  and :func:`conversion_report`), never dropped silently;
* heads of non-default training flags that SMHR's decoding does not use (``gcn_params``,
  ``hm_off``, ``lms21_off``): left out and reported the same way.

Any other key is an error. Which heads a model is built with comes from its card
(``architecture.heads``); a head the card expects but the file lacks is an error whose hint says
how to convert with the heads the file has; a head the file has but the card does not expect is
left out and reported.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from handzoo.errors import CheckpointError

__all__ = [
    "KEY_MAP_VERSION",
    "TRUNK_PREFIXES",
    "NECK_PREFIXES",
    "UNUSED_PREFIXES",
    "UNSUPPORTED_HEADS",
    "conversion_report",
    "convert_state_dict",
    "to_authors_state_dict",
    "checkpoint_heads",
]

KEY_MAP_VERSION = "1"
TRUNK_PREFIXES = ("conv1.", "bn1.", "layer1.", "layer2.", "layer3.", "layer4.")
NECK_PREFIXES = ("p3.", "p4.", "p5.", "p3_l2.", "p4_l2.", "p5_l2.", "feat.", "feat_bn.")
UNUSED_PREFIXES = ("backbone.", "uv_delayer.", "uv_head.", "reduce.", "p2.", "p2_l2.")
SUPPORTED_HEADS = ("hm", "params", "texture", "light", "handmap")
UNSUPPORTED_HEADS = ("gcn_params", "hm_off", "lms21_off")
_HEAD_KEY = re.compile(r"^([A-Za-z0-9_]+)\.([02])\.(weight|bias)$")
_SHOW = 6


def _examples(keys: Sequence[str]) -> str:
    keys = list(keys)
    return ", ".join(keys[:_SHOW]) + (f", ... ({len(keys)} in all)" if len(keys) > _SHOW else "")


def _group(key: str) -> tuple[str, str | None]:
    """``(group, head)`` of an authors' key; group in trunk/neck/head/unused/unsupported/unknown."""
    if key.startswith(UNUSED_PREFIXES):
        return "unused", None
    if key.startswith(TRUNK_PREFIXES):
        return "trunk", None
    if key.startswith(NECK_PREFIXES):
        return "neck", None
    m = _HEAD_KEY.match(key)
    if m:
        if m.group(1) in SUPPORTED_HEADS:
            return "head", m.group(1)
        if m.group(1) in UNSUPPORTED_HEADS:
            return "unsupported", m.group(1)
    return "unknown", None


def checkpoint_heads(state: Mapping[str, Any]) -> list[str]:
    """The supported heads present in an authors' state dict (sorted)."""
    return sorted({h for k in state for g, h in [_group(str(k))] if g == "head" and h})


def conversion_report(state: Mapping[str, Any], heads: Sequence[str] | None = None) -> dict[str, list[str]]:
    """What converting ``state`` for a model with ``heads`` keeps and leaves out.

    Returns:
        ``{'heads': present supported heads, 'absent_heads': expected but missing,
        'extra_heads': present but not expected, 'unused_keys': the never-run branch,
        'unsupported_heads': heads of other training flags, 'unknown_keys': anything else}``.
    """
    present = checkpoint_heads(state)
    expected = list(heads) if heads is not None else present
    groups: dict[str, list[str]] = {"unused": [], "unknown": []}
    unsupported: set[str] = set()
    for k in state:
        g, h = _group(str(k))
        if g in groups:
            groups[g].append(str(k))
        elif g == "unsupported" and h:
            unsupported.add(h)
    return {
        "heads": present,
        "absent_heads": sorted(set(expected) - set(present)),
        "extra_heads": sorted(set(present) - set(expected)),
        "unused_keys": sorted(groups["unused"]),
        "unsupported_heads": sorted(unsupported),
        "unknown_keys": sorted(groups["unknown"]),
    }


def _card_heads(variant: str) -> list[str] | None:
    try:
        from handzoo.variants import model_info

        arch = model_info(variant).architecture
    except Exception:  # an unknown variant (e.g. a test name): take the heads the file has
        return None
    heads = arch.get("heads")
    if isinstance(heads, Mapping):
        heads = heads.get("heads")
    return list(heads) if heads else None


def convert_state_dict(
    state: Mapping[str, torch.Tensor], variant: str = "smhr-freihand", heads: Sequence[str] | None = None
) -> dict[str, torch.Tensor]:
    """Map the authors' unwrapped state dict to handzoo's keys, reporting what is left out.

    Args:
        state: the authors' tensors by key (``state_dict`` entry, ``module.`` removed).
        variant: the handzoo variant converted to; its card's ``architecture.heads`` says which
            heads the model has (default: the heads the file has).
        heads: override the expected heads.

    Returns:
        A new dict of handzoo keys -> tensors (the same tensor objects).

    Raises:
        CheckpointError: unknown keys, no trunk/neck/``hm``/``params``, or a head the model
            needs that the file lacks.
    """
    keys = [str(k) for k in state]
    expected = list(heads) if heads is not None else _card_heads(variant)
    rep = conversion_report(state, expected)
    if rep["unknown_keys"]:
        raise CheckpointError(
            f"{len(rep['unknown_keys'])} keys of the checkpoint are not part of SMHR's network: "
            f"{_examples(rep['unknown_keys'])}",
            hint=f"is this an SMHR checkpoint (FreiHand_2d_pho.pth / FreiHAND-2d-artificial.pth) for {variant}?",
        )
    if not any(k.startswith(TRUNK_PREFIXES) for k in keys) or "hm" not in rep["heads"] or "params" not in rep["heads"]:
        raise CheckpointError(
            f"not an SMHR checkpoint: it lacks the ResNet-50 trunk or the 'hm'/'params' heads (keys: {_examples(sorted(keys))})",
            hint="convert the authors' .pth file from the SMHR Baidu link",
        )
    if rep["absent_heads"]:
        raise CheckpointError(
            f"the checkpoint has no {', '.join(rep['absent_heads'])} head(s) but {variant} is built with them "
            f"(the file has: {', '.join(rep['heads'])})",
            hint=f"convert with the file's heads: handzoo.convert_checkpoint('{variant}', FILE, "
            f"heads={rep['heads']!r}) and load with the same heads= argument",
        )
    left_out = []
    if rep["unused_keys"]:
        left_out.append(
            f"{len(rep['unused_keys'])} tensors of modules SMHR builds but never runs (the ResNet-18 UV branch "
            f"'backbone.*', 'uv_delayer.*', 'uv_head.*', 'reduce.*' and the unused 'p2'/'p2_l2')"
        )
    if rep["extra_heads"]:
        left_out.append(f"the head(s) {', '.join(rep['extra_heads'])}, which {variant} is not built with")
    if rep["unsupported_heads"]:
        left_out.append(f"the head(s) {', '.join(rep['unsupported_heads'])} of other training flags (not decoded)")
    if left_out:
        warnings.warn(f"SMHR conversion for {variant} leaves out " + "; ".join(left_out), stacklevel=2)
    keep_heads = set(expected if expected is not None else rep["heads"])
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        k = str(key)
        group, head = _group(k)
        if group == "trunk":
            out["backbone.body." + k] = value
        elif group == "neck":
            out["neck." + k] = value
        elif group == "head" and head in keep_heads:
            out["heads." + k] = value
    return out


def to_authors_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Inverse of :func:`convert_state_dict` for the kept keys (handzoo keys -> the authors').

    Raises:
        CheckpointError: a key outside the map.
    """
    out = {}
    for key, value in state.items():
        for ours in ("backbone.body.", "neck.", "heads."):
            if key.startswith(ours):
                out[key[len(ours) :]] = value
                break
        else:
            raise CheckpointError(f"key {key!r} is not part of SMHR's converted network")
    return out
