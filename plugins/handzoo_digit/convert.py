"""The authors' DIGIT checkpoints -> handzoo's state dict.

Two layouts are accepted (see KEYMAP.md):

* the released ``db7cba8c1.pt``: a plain state dict with keys ``model.pose_reg.*`` (the authors'
  loader strips ``model.``; the hub's unwrapping does the same);
* PyTorch Lightning dumps (``logs/<key>/model_dump/*.ckpt``): the same keys under ``state_dict``
  next to Lightning's metadata (unwrapped by the hub, or by :func:`extract_pose_state`).

Every key of the network is renamed by :data:`RENAMES` (prefix rules, applied in order); the
backbone keeps its names (timm's HRNet blocks use the pose code's names).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from handzoo.errors import CheckpointError

__all__ = ["KEY_MAP_VERSION", "RENAMES", "map_key", "convert_state_dict", "extract_pose_state", "to_authors_layout"]

KEY_MAP_VERSION = "digit-1"

# authors' prefix (after 'pose_reg.') -> handzoo prefix
RENAMES: tuple[tuple[str, str], ...] = (
    ("backbone.", "backbone."),
    ("hand_segm.segm_head.upsampler.up1.conv.double_conv.", "segm_head.decode."),
    ("hand_segm.segm_head.segm_net.double_conv.", "segm_head.classify."),
    ("conv_segm_feat.", "merge.encoder."),
    ("merge_layer.inc.double_conv.", "merge.unet.enc0."),
    ("merge_layer.down1.maxpool_conv.1.double_conv.", "merge.unet.enc1."),
    ("merge_layer.down2.maxpool_conv.1.double_conv.", "merge.unet.enc2."),
    ("merge_layer.down3.maxpool_conv.1.double_conv.", "merge.unet.enc3."),
    ("merge_layer.up1.conv.double_conv.", "merge.unet.dec1."),
    ("merge_layer.up2.conv.double_conv.", "merge.unet.dec2."),
    ("merge_layer.up3.conv.double_conv.", "merge.unet.dec3."),
    ("merge_layer.outc.conv.", "merge.unet.out."),
    ("conv_hm.", "joint_head.heatmap."),
    ("conv_depth.", "joint_head.depth."),
    ("conv_head.", "root_hand_head.trunk."),
    ("root_fc.", "root_hand_head.root_fc."),
    ("hand_fc.", "root_hand_head.hand_fc."),
)
_PREFIX = "pose_reg."


def map_key(key: str) -> str | None:
    """handzoo's name of an authors' key (with or without ``model.``/``pose_reg.``), or None."""
    k = key[len("model.") :] if key.startswith("model.") else key
    k = k[len(_PREFIX) :] if k.startswith(_PREFIX) else k
    for src, dst in RENAMES:
        if k.startswith(src):
            return dst + k[len(src) :]
    return None


def extract_pose_state(checkpoint: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The network's tensors of a released state dict or a Lightning dump (``model.`` stripped).

    Raises:
        CheckpointError: nothing in the file looks like DIGIT's ``pose_reg`` network.
    """
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, Mapping) else None
    if not isinstance(state, Mapping):
        raise CheckpointError(
            "the DIGIT checkpoint is not a state dict", hint="convert db7cba8c1.pt or a Lightning .ckpt dump"
        )
    out = {}
    for k, v in state.items():
        if isinstance(v, torch.Tensor):
            kk = k[len("model.") :] if k.startswith("model.") else k
            out[kk] = v
    if not any(k.startswith(_PREFIX) for k in out):
        raise CheckpointError(
            "no 'pose_reg.*' key in the checkpoint: it is not DIGIT's",
            hint="convert db7cba8c1.pt (authors' ETH server) or a DIGIT Lightning dump",
        )
    return out


def convert_state_dict(state: Mapping[str, torch.Tensor], variant: str = "digit-interhand") -> dict[str, torch.Tensor]:
    """Rename the authors' keys to handzoo's (the hub checks that every model key is present).

    Args:
        state: the unwrapped original state dict (``pose_reg.*`` keys; a ``model.`` prefix and a
            Lightning ``state_dict`` wrapper are also accepted).
        variant: the variant being converted (one layout for all DIGIT variants).

    Raises:
        CheckpointError: a key belongs to no known part of DIGIT (with the first few listed).
    """
    if "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]  # a Lightning dump given directly
    if not any(k.startswith(_PREFIX) or k.startswith("model." + _PREFIX) for k in state):
        raise CheckpointError(
            "no 'pose_reg.*' key in the checkpoint: it is not DIGIT's",
            hint="convert db7cba8c1.pt (authors' ETH server) or a DIGIT Lightning dump",
        )
    out: dict[str, torch.Tensor] = {}
    unknown = []
    for k, v in state.items():
        if not isinstance(v, torch.Tensor):
            continue
        new = map_key(k)
        if new is None:
            unknown.append(k)
            continue
        out[new] = v
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" (+{len(unknown) - 5} more)" if len(unknown) > 5 else "")
        raise CheckpointError(
            f"{len(unknown)} keys of the checkpoint belong to no part of DIGIT: {shown}",
            hint="this is not a DIGIT checkpoint, or it was trained with a modified network",
        )
    return out


def to_authors_layout(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Inverse of :func:`convert_state_dict`: handzoo keys -> the authors' ``pose_reg.*`` keys."""
    inverse = [(dst, src) for src, dst in RENAMES]
    out = {}
    for k, v in state.items():
        for dst, src in inverse:
            if k.startswith(dst):
                out[_PREFIX + src + k[len(dst) :]] = v
                break
        else:
            raise CheckpointError(f"{k!r} is not a DIGIT parameter")
    return out
