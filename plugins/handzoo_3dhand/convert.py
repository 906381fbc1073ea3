"""The authors' checkpoints (``model-0.pth``, ``model-1.pth``) -> :class:`~handzoo_3dhand.model.ThreeDHand` keys.

The files are plain state dicts of ``DataParallel(ResNet_Mano)`` saved by PyTorch 0.3 under
Python 2: the legacy (non-zip) serialisation, protocol-2 pickles, tensors rebuilt by
``torch._utils._rebuild_tensor``, storages tagged ``cuda:0``, no ``num_batches_tracked``.
``torch.load(weights_only=True, map_location='cpu')`` (what ``handzoo convert`` uses) reads such
a file without executing any pickled code — every global it references (``OrderedDict``,
``torch.FloatStorage``, ``torch._utils._rebuild_tensor``) is on PyTorch's weights-only allow-list;
the tests write a byte-faithful file of that format and read it (:func:`read_legacy_checkpoint`).
The hub has stripped the ``module.`` prefix before :func:`convert_state_dict` runs.

Both files hold both stems (``conv1``: 3 channels; ``conv11``: 24 channels). The variant decides
which one becomes the trunk's ``conv1``; the other is reported (a warning) and dropped. Any other
unknown key, a missing key or a wrong shape raises :class:`~handzoo.errors.CheckpointError`.
See ``KEYMAP.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import torch

from handzoo.errors import CheckpointError

__all__ = [
    "KEY_MAP_VERSION",
    "MANO_DERIVED_KEYS",
    "STEMS",
    "convert_state_dict",
    "to_authors_state_dict",
    "read_legacy_checkpoint",
]

KEY_MAP_VERSION = "1"
MANO_DERIVED_KEYS: tuple[str, ...] = ()  # the authors' MANO lives in module globals, never in the file

# variant -> (authors' stem used as the trunk's conv1, the stem dropped)
STEMS: dict[str, tuple[str, str]] = {
    "3dhand-rgb": ("conv1", "conv11"),
    "3dhand-rgb2d": ("conv11", "conv1"),
}
_SHOW = 8


def _examples(keys: list[str]) -> str:
    return ", ".join(keys[:_SHOW]) + (f", ... ({len(keys)} in all)" if len(keys) > _SHOW else "")


def _expected(stem_channels: int) -> dict[str, tuple[int, ...]]:
    from .backbone import ThreeDHandResNet, ThreeDHandStem
    from .head import ThreeDHandRegressor

    stem = ThreeDHandStem(24) if stem_channels == 24 else None
    shapes = {f"backbone.{k}": tuple(v.shape) for k, v in ThreeDHandResNet("resnet34", stem=stem).state_dict().items()}
    shapes.update({f"head.{k}": tuple(v.shape) for k, v in ThreeDHandRegressor().state_dict().items()})
    return shapes


def convert_state_dict(state: Mapping[str, torch.Tensor], variant: str = "3dhand-rgb") -> dict[str, torch.Tensor]:
    """Map the authors' keys (``module.`` stripped) to ours.

    ``conv1``/``conv11`` -> ``backbone.conv1`` (per :data:`STEMS`), ``bn1``/``layer*`` ->
    ``backbone.*``, ``fc`` -> ``head.fc``; ``num_batches_tracked`` added where the file (PyTorch
    < 0.4.1) has none.

    Raises:
        CheckpointError: unknown variant, unexpected or missing keys, wrong shapes.
    """
    if variant not in STEMS:
        raise CheckpointError(f"no 3D-hand key map for variant {variant!r}", hint=f"one of: {', '.join(STEMS)}")
    use, drop = STEMS[variant]
    out: dict[str, torch.Tensor] = {}
    unknown: list[str] = []
    dropped: list[str] = []
    for key, value in state.items():
        key = str(key)
        while key.startswith("module."):
            key = key[len("module.") :]
        head, _, rest = key.partition(".")
        if head == use:
            out[f"backbone.conv1.{rest}"] = value
        elif head == drop:
            dropped.append(key)
        elif head == "bn1" or head.startswith("layer"):
            out[f"backbone.{key}"] = value
        elif head == "fc":
            out[f"head.fc.{rest}"] = value
        else:
            unknown.append(key)
    if unknown:
        raise CheckpointError(
            f"unexpected keys in the 3D-hand checkpoint: {_examples(sorted(unknown))}",
            hint="is this the authors' model-0.pth / model-1.pth?",
        )
    if dropped:
        warnings.warn(
            f"{variant} does not use the checkpoint's {drop} stem; dropped {', '.join(sorted(dropped))}",
            stacklevel=2,
        )
    expected = _expected(24 if use == "conv11" else 3)
    for key in expected:
        if key.endswith("num_batches_tracked") and key not in out:
            out[key] = torch.tensor(0, dtype=torch.long)
    missing = sorted(set(expected) - set(out))
    extra = sorted(set(out) - set(expected))
    bad = [
        f"{k} {tuple(out[k].shape)} vs {expected[k]}"
        for k in sorted(set(out) & set(expected))
        if tuple(out[k].shape) != expected[k]
    ]
    problems = []
    if missing:
        problems.append(f"missing {_examples(missing)}")
    if extra:
        problems.append(f"unexpected {_examples(extra)}")
    if bad:
        problems.append(f"wrong shapes {_examples(bad)}")
    if problems:
        raise CheckpointError(
            f"the checkpoint does not fit {variant}: " + "; ".join(problems),
            hint="model-0.pth converts to 3dhand-rgb and model-1.pth to 3dhand-rgb2d",
        )
    return {k: v.detach().clone().contiguous() for k, v in out.items()}


def to_authors_state_dict(state: Mapping[str, torch.Tensor], variant: str = "3dhand-rgb") -> dict[str, torch.Tensor]:
    """Our keys back to the authors' (without ``module.``; the unused stem is absent)."""
    use, _ = STEMS[variant]
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.startswith("backbone.conv1."):
            out[f"{use}.{key[len('backbone.conv1.') :]}"] = value
        elif key.startswith("backbone."):
            out[key[len("backbone.") :]] = value
        elif key.startswith("head.fc."):
            out[key[len("head.") :]] = value
    return out


def read_legacy_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """Read an authors' file (legacy PyTorch 0.3 / Python 2 format) without executing code.

    The hub's reader (``torch.load(weights_only=True)``, CPU), then the ``module.`` prefix removed.

    Raises:
        CheckpointError: the file is missing, corrupt or would execute code.
    """
    from handzoo.hub.convert import read_checkpoint, unwrap_state_dict

    state, _ = unwrap_state_dict(read_checkpoint(path))
    return state
