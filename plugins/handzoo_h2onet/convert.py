"""Convert the authors' H2ONet state dict to handzoo's module names (see KEYMAP.md).

The hub framework hands over the already unwrapped state dict (``state_dict`` entry taken,
``module.`` stripped), checks shapes against the built model and writes safetensors. This module
renames keys, drops the manopth buffers ``mano_layer.*`` (unused at inference) and refuses
anything it does not know.

The authors' ``mano_joint_reg`` (21 x 778) is a *trained* parameter: it starts as MANO's
``J_regressor`` plus one-hot fingertip rows and the optimiser updates it with the network, so the
checkpoint's copy is part of the function. It becomes our ``joint_regressor`` in the local file
(MANO-derived: the model lists it in ``mano_derived_keys`` and ``handzoo push`` refuses it). When
the state dict lacks it, it is rebuilt from the user's ``MANO_RIGHT.pkl`` with a warning (an
approximation of the trained one).
"""

from __future__ import annotations

import re
import warnings

import torch

from handzoo.errors import CheckpointError

__all__ = [
    "KEY_MAP_VERSION",
    "MANO_LOCAL_KEYS",
    "VARIANTS",
    "convert_state_dict",
    "to_authors_state_dict",
    "rename_key",
]

KEY_MAP_VERSION = "2"
# variant -> multi-frame?
VARIANTS = {"h2onet-dexycb": True, "h2onet-sf-dexycb": False}

_DROPPED = re.compile(r"^mano_layer\.")
# MANO-derived entries of the authors' checkpoint that the converter keeps in the local file.
MANO_LOCAL_KEYS = ("mano_joint_reg",)

# (authors' pattern, handzoo replacement), applied in order; each key must match a top-level rule.
_TOP_RULES: tuple[tuple[str, str], ...] = (
    (r"^mano_joint_reg$", "joint_regressor"),
    (r"^backbone\.mid_proj\.", "backbone.latent_proj."),
    (r"^backbone\.reduce\.", "backbone.joint_proj."),
    (r"^backbone\.uv_reg\.", "backbone.uv_head."),
    (r"^backbone\.(pre_layer|thrink2?|dense_stack[123]|stack1_remap)\.", r"backbone.\1."),
    (r"^decoder3d\.de_layer_conv\.", "decoder.latent_conv."),
    (r"^decoder3d\.de_layer\.(\d+)\.conv\.", r"decoder.blocks.\1.conv."),
    (r"^decoder3d\.upsample$", "decoder.joint_to_mesh"),
    (r"^decoder3d\.head\.", "decoder.head."),
    (r"^decoder3d\.rot_reg\.", "rot_head."),
    (r"^decoder3d\.occ_pred\.pre_layer\.", "occ_head.joint_encoder."),
    (r"^decoder3d\.occ_pred\.base_layer\.", "occ_head.finger_encoder."),
    (r"^decoder3d\.occ_pred\.finger_cls_layer_list\.", "occ_head.finger_heads."),
    (r"^decoder3d\.occ_pred\.glob_cls_layer\.", "occ_head.global_head."),
    (r"^decoder3d\.offset_pred\.", "offset_head."),
)
# The authors' OccPredNet also keeps its last finger classifier under a second attribute, so the
# checkpoint holds it twice; PyTorch loads the alias last, so its values are the ones in effect.
_ALIAS = (r"^decoder3d\.occ_pred\.finger_cls_layer\.", "occ_head.finger_heads.4.")
_ALIAS_INVERSE = (r"^decoder3d\.occ_pred\.finger_cls_layer_list\.4\.", "decoder3d.occ_pred.finger_cls_layer.")
# Renames inside any key (after the top-level rule).
_INNER_RULES: tuple[tuple[str, str], ...] = (
    (r"\.thrink", ".squeeze"),
    (r"\.conv3x3\.", ".depthwise."),
    (r"\.conv1x1\.", ".pointwise."),
    (r"\.layer\.(weight|bias)$", r".linear.\1"),
)
_INVERSE_TOP: tuple[tuple[str, str], ...] = (
    (r"^joint_regressor$", "mano_joint_reg"),
    (r"^backbone\.latent_proj\.", "backbone.mid_proj."),
    (r"^backbone\.joint_proj\.", "backbone.reduce."),
    (r"^backbone\.uv_head\.", "backbone.uv_reg."),
    (r"^backbone\.", "backbone."),
    (r"^decoder\.latent_conv\.", "decoder3d.de_layer_conv."),
    (r"^decoder\.blocks\.(\d+)\.conv\.", r"decoder3d.de_layer.\1.conv."),
    (r"^decoder\.joint_to_mesh$", "decoder3d.upsample"),
    (r"^decoder\.head\.", "decoder3d.head."),
    (r"^rot_head\.", "decoder3d.rot_reg."),
    (r"^occ_head\.joint_encoder\.", "decoder3d.occ_pred.pre_layer."),
    (r"^occ_head\.finger_encoder\.", "decoder3d.occ_pred.base_layer."),
    (r"^occ_head\.finger_heads\.", "decoder3d.occ_pred.finger_cls_layer_list."),
    (r"^occ_head\.global_head\.", "decoder3d.occ_pred.glob_cls_layer."),
    (r"^offset_head\.", "decoder3d.offset_pred."),
)
_INVERSE_INNER: tuple[tuple[str, str], ...] = (
    (r"\.squeeze", ".thrink"),
    (r"\.depthwise\.", ".conv3x3."),
    (r"\.pointwise\.", ".conv1x1."),
    (r"\.linear\.(weight|bias)$", r".layer.\1"),
)


def _apply(key: str, top: tuple[tuple[str, str], ...], inner: tuple[tuple[str, str], ...]) -> str | None:
    for pat, rep in top:
        new, n = re.subn(pat, rep, key)
        if n:
            for ipat, irep in inner:
                new = re.sub(ipat, irep, new)
            return new
    return None


def rename_key(key: str) -> str | None:
    """handzoo name of one authors' key, or None when no rule applies."""
    return _apply(key, (*_TOP_RULES, _ALIAS), _INNER_RULES)


def convert_state_dict(state: dict[str, torch.Tensor], variant: str) -> dict[str, torch.Tensor]:
    """Map the authors' (unwrapped) H2ONet state dict to handzoo names.

    Args:
        state: authors' keys (``backbone.*``, ``decoder3d.*``, ``mano_joint_reg``, ``mano_layer.*``).
            Without ``mano_joint_reg`` the regressor is rebuilt from ``$HANDZOO_MANO_DIR`` (warning).
        variant: ``h2onet-dexycb`` (multi-frame) or ``h2onet-sf-dexycb`` (single-frame).

    Returns:
        A new dict of tensors under handzoo names, manopth buffers removed.

    Raises:
        CheckpointError: unknown variant, unknown keys, or keys of the other model kind.
    """
    if variant not in VARIANTS:
        raise CheckpointError(f"no H2ONet converter for variant {variant!r}", hint=f"one of: {', '.join(VARIANTS)}")
    multi = VARIANTS[variant]
    out: dict[str, torch.Tensor] = {}
    unknown = []
    aliases = [k for k in state if re.match(_ALIAS[0], k)]
    for key in [k for k in state if k not in aliases] + aliases:
        value = state[key]
        if _DROPPED.match(key):
            continue
        new = rename_key(key)
        if new is None:
            unknown.append(key)
            continue
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"checkpoint entry {key!r} is not a tensor ({type(value).__name__})")
        out[new] = value
    if unknown:
        shown = ", ".join(sorted(unknown)[:5]) + (" ..." if len(unknown) > 5 else "")
        raise CheckpointError(
            f"{len(unknown)} key(s) of the checkpoint are not H2ONet parameters: {shown}",
            hint="is this an H2ONet checkpoint (dexycb_h2onet_mf.pth)?",
        )
    has_mf = any(k.startswith(("occ_head.", "offset_head.")) or ".fc_block1." in k for k in out)
    if multi and not has_mf:
        raise CheckpointError(
            f"{variant} is the multi-frame model but the checkpoint has no occlusion/offset heads",
            hint="convert a single-frame checkpoint as h2onet-sf-dexycb",
        )
    if not multi and has_mf:
        raise CheckpointError(
            f"{variant} is the single-frame model but the checkpoint is a multi-frame one",
            hint="convert it as h2onet-dexycb",
        )
    if "joint_regressor" not in out:
        out["joint_regressor"] = _rebuilt_joint_regressor()
    required = ("backbone.pre_layer.0.0.weight", "decoder.joint_to_mesh", "decoder.head.linear.weight")
    missing = [k for k in required if k not in out]
    if missing:
        raise CheckpointError(
            f"checkpoint lacks H2ONet parameters: {', '.join(missing)}", hint="the file looks truncated"
        )
    return out


def _rebuilt_joint_regressor() -> torch.Tensor:
    from .assets import mano_joint_regressor

    warnings.warn(
        "the H2ONet checkpoint has no mano_joint_reg (or it was dropped before conversion); rebuilding it from "
        "MANO's J_regressor + fingertip vertices, an approximation of the regressor trained with the network: "
        "joints may differ slightly from the authors'",
        UserWarning,
        stacklevel=3,
    )
    return torch.from_numpy(mano_joint_regressor())


def to_authors_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Inverse of :func:`convert_state_dict` (without the dropped manopth buffers).

    Raises:
        CheckpointError: for a key that is not a handzoo H2ONet name.
    """
    out = {}
    for key, value in state.items():
        new = _apply(key, _INVERSE_TOP, _INVERSE_INNER)
        if new is None:
            raise CheckpointError(f"{key!r} is not a handzoo H2ONet parameter name")
        out[new] = value
        alias, n = re.subn(_ALIAS_INVERSE[0], _ALIAS_INVERSE[1], new)
        if n:
            out[alias] = value
    return out
