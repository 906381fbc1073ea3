"""The authors' Pose2Pose hand checkpoint -> :class:`~handzoo_hand4whole.model.Hand4WholeHand` keys.

Two layouts are accepted, explicitly (never ``strict=False``), see ``KEYMAP.md``:

* ``current``: the Pose2Pose branch's ``backbone.*``, ``position_net.*``, ``rotation_net.*``;
* ``older``: ``hand_backbone.*``, ``hand_position_net.*``, ``hand_rotation_net.*`` (what the
  authors' ``tool/merge_hand_to_all.py`` expects of the released ``snapshot_12_hand.pth.tar``),
  with the same sub-keys.

The hub framework has already unwrapped the checkpoint (``network`` extracted, ``module.``
stripped). ``mano_layer.*`` (MANO arrays embedded in some snapshots) are dropped; any other
unknown key, a missing key or a wrong shape raises :class:`~handzoo.errors.CheckpointError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from handzoo.errors import CheckpointError

__all__ = [
    "KEY_MAP_VERSION",
    "MANO_DERIVED_KEYS",
    "LAYOUTS",
    "HEAD_KEY_MAP",
    "convert_state_dict",
    "detect_layout",
    "to_authors_state_dict",
    "expected_shapes",
]

KEY_MAP_VERSION = "1"
MANO_DERIVED_KEYS = ("mano_layer.*",)

# layout -> (backbone prefix, PositionNet prefix, RotationNet prefix) of the authors' keys
LAYOUTS: dict[str, tuple[str, str, str]] = {
    "current": ("backbone.", "position_net.", "rotation_net."),
    "older": ("hand_backbone.", "hand_position_net.", "hand_rotation_net."),
}

# authors' head module paths (after the net prefix) -> ours
HEAD_KEY_MAP: dict[tuple[str, str], str] = {
    ("position", "conv.0"): "position_head.heatmap",
    ("rotation", "conv.0"): "rotation_head.joint_conv",
    ("rotation", "conv.1"): "rotation_head.joint_bn",
    ("rotation", "root_pose_out.0"): "rotation_head.root_pose",
    ("rotation", "pose_out.0"): "rotation_head.hand_pose",
    ("rotation", "shape_out.0"): "rotation_head.betas",
    ("rotation", "cam_out.0"): "rotation_head.camera",
}
_LEAVES = {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}
_DROP = ("mano_layer.",)
_RESNET_DEPTHS = {
    (False, (2, 2, 2, 2)): "resnet18",
    (False, (3, 4, 6, 3)): "resnet34",
    (True, (3, 4, 6, 3)): "resnet50",
    (True, (3, 4, 23, 3)): "resnet101",
    (True, (3, 8, 36, 3)): "resnet152",
}
_SHOW = 8


def _examples(keys: list[str]) -> str:
    return ", ".join(keys[:_SHOW]) + (f", ... ({len(keys)} in all)" if len(keys) > _SHOW else "")


def detect_layout(keys: Mapping[str, object] | list[str]) -> str:
    """Which of :data:`LAYOUTS` the keys use.

    Raises:
        CheckpointError: neither, or a mixture of both.
    """
    found = [name for name, (bb, _, _) in LAYOUTS.items() if any(str(k).startswith(bb) for k in keys)]
    if len(found) == 1:
        return found[0]
    if not found:
        sample = _examples(sorted(str(k) for k in keys))
        raise CheckpointError(
            f"not a Hand4Whole hand (Pose2Pose) checkpoint: no 'backbone.' or 'hand_backbone.' keys (keys: {sample})",
            hint="convert snapshot_12_hand.pth.tar from the Pose2Pose branch of mks0601/Hand4Whole_RELEASE",
        )
    raise CheckpointError(
        "the checkpoint mixes the current ('backbone.') and older ('hand_backbone.') Hand4Whole key layouts",
        hint="is it a whole-body checkpoint? Only the hand-only Pose2Pose snapshot converts to hand4whole-hand",
    )


def _map_key(key: str, layout: str) -> str | None:
    bb, pos, rot = LAYOUTS[layout]
    if key.startswith(bb):
        return "backbone." + key[len(bb) :]
    for net, prefix in (("position", pos), ("rotation", rot)):
        if key.startswith(prefix):
            module, _, leaf = key[len(prefix) :].rpartition(".")
            ours = HEAD_KEY_MAP.get((net, module))
            if ours is not None and leaf in _LEAVES:
                return f"{ours}.{leaf}"
    return None


def infer_backbone(state: Mapping[str, torch.Tensor], prefix: str = "backbone.") -> str:
    """The timm ResNet name whose blocks the checkpoint's backbone keys describe."""
    blocks = []
    for layer in range(1, 5):
        pat = re.compile(rf"^{re.escape(prefix)}layer{layer}\.(\d+)\.")
        ids = {int(m.group(1)) for k in state if (m := pat.match(k))}
        blocks.append(max(ids) + 1 if ids else 0)
    bottleneck = any(k.startswith(f"{prefix}layer1.0.conv3.") for k in state)
    arch = _RESNET_DEPTHS.get((bottleneck, tuple(blocks)))
    if arch is None:
        raise CheckpointError(
            f"the backbone keys describe no ResNet handzoo knows (blocks per stage {blocks})",
            hint="Hand4Whole checkpoints use ResNet-50 (or ResNet-18)",
        )
    return arch


def expected_shapes(backbone: str = "resnet50") -> dict[str, tuple[int, ...]]:
    """Keys and shapes of :class:`Hand4WholeHand`'s state dict (built on the meta device, no data)."""
    from .backbone import ResNetBackbone
    from .heads import PositionHead, RotationHead

    with torch.device("meta"):
        bb = ResNetBackbone(backbone)
        channels = bb.out_channels[-1]
        parts = {"backbone": bb, "position_head": PositionHead(channels), "rotation_head": RotationHead(channels)}
    return {f"{name}.{k}": tuple(v.shape) for name, mod in parts.items() for k, v in mod.state_dict().items()}


def convert_state_dict(state: Mapping[str, torch.Tensor], variant: str = "hand4whole-hand") -> dict[str, torch.Tensor]:
    """Map the authors' unwrapped state dict to handzoo's keys, checking every key and shape.

    Args:
        state: the authors' tensors by key (``network`` entry, ``module.`` removed).
        variant: the handzoo variant converted to (used in messages).

    Returns:
        A new dict of handzoo keys -> tensors (the same tensor objects, not copies).

    Raises:
        CheckpointError: unknown layout or keys, missing keys, wrong shapes.
    """
    kept = {str(k): v for k, v in state.items() if not str(k).startswith(_DROP)}
    layout = detect_layout(kept)
    out: dict[str, torch.Tensor] = {}
    unknown = []
    for key, value in kept.items():
        ours = _map_key(key, layout)
        if ours is None:
            unknown.append(key)
        else:
            out[ours] = value
    if unknown:
        raise CheckpointError(
            f"{len(unknown)} keys of the {layout}-layout checkpoint are not part of the Hand4Whole hand model: "
            f"{_examples(sorted(unknown))}",
            hint=f"is this the hand-only Pose2Pose snapshot for {variant}? Whole-body checkpoints do not convert",
        )
    expected = expected_shapes(infer_backbone(out))
    missing = sorted(set(expected) - set(out))
    if missing:
        raise CheckpointError(
            f"the checkpoint lacks {len(missing)} tensors of the Hand4Whole hand model: {_examples(missing)}",
            hint="the file is incomplete or from another model; download the authors' snapshot again",
        )
    wrong = [f"{k} {list(out[k].shape)} (expected {list(s)})" for k, s in expected.items() if tuple(out[k].shape) != s]
    if wrong:
        raise CheckpointError(
            f"{len(wrong)} tensors have the wrong shape: {_examples(wrong)}",
            hint=f"is this the checkpoint of {variant}?",
        )
    return out


def to_authors_state_dict(state: Mapping[str, torch.Tensor], layout: str = "current") -> dict[str, torch.Tensor]:
    """Inverse of :func:`convert_state_dict`: handzoo keys -> the authors' keys in ``layout``.

    Raises:
        CheckpointError: unknown layout or a key outside the map.
    """
    if layout not in LAYOUTS:
        raise CheckpointError(f"unknown Hand4Whole key layout {layout!r}", hint=f"one of: {', '.join(LAYOUTS)}")
    bb, pos, rot = LAYOUTS[layout]
    inverse = {ours: (pos if net == "position" else rot) + theirs for (net, theirs), ours in HEAD_KEY_MAP.items()}
    out = {}
    for key, value in state.items():
        if key.startswith("backbone."):
            out[bb + key[len("backbone.") :]] = value
            continue
        module, _, leaf = key.rpartition(".")
        if module not in inverse or leaf not in _LEAVES:
            raise CheckpointError(f"key {key!r} is not part of the Hand4Whole hand model")
        out[f"{inverse[module]}.{leaf}"] = value
    return out
