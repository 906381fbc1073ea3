"""``handzoo.load(name)``: model card -> weights (local file, cache, or Hub) -> build -> strict load.

The weights are resolved *before* the model is built (and before torch is imported), so a missing
file, an offline machine or an unpublished variant fails at once with a message saying what to
do. Loading is strict: every key of the model must be in the file with the same shape, and the
file may hold nothing else.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handzoo.catalogue.cards import ModelCard
from handzoo.errors import ConfigError, HandzooError, PlannedVariantError, PluginError, WeightsError
from handzoo.hub.advice import weights_not_available
from handzoo.hub.cache import verify_entry
from handzoo.hub.integrity import read_safetensors_header
from handzoo.hub.mano_keys import mano_provenance
from handzoo.hub.state_keys import key_mismatch
from handzoo.hub.status import usable_cache_entry

if TYPE_CHECKING:
    from torch import nn

    from handzoo.interfaces import Method

__all__ = ["load", "resolve_weights", "bundled_weights", "build_model", "load_weights", "model_card"]


def model_card(name: str | ModelCard) -> ModelCard:
    """The card of a variant (cards pass through)."""
    if isinstance(name, ModelCard):
        return name
    if not isinstance(name, str):
        raise ConfigError(
            f"a model name must be a string, not {type(name).__name__} ({str(name)[:40]!r})",
            hint="e.g. handzoo.load('h2onet-dexycb'); handzoo.list_models() lists the names",
        )
    from handzoo.variants import model_info

    return model_info(name)


def refuse_planned(card: ModelCard) -> None:
    """Raise a one-line :class:`PlannedVariantError` for a ``status: planned`` card."""
    if card.planned:
        raise PlannedVariantError(
            f"{card.name} is planned: handzoo has its card but no code for the {card.method} method yet "
            "(`handzoo list --status available` lists the variants you can load)"
        )


def resolve_weights(card: ModelCard) -> Path:
    """The local safetensors file holding the variant's weights, downloading it if needed.

    Order: the cache (a converted file, or a download still matching the card's sha256, re-hashed
    to catch tampering) -> weights bundled in a package (``weights.bundled``, sha256-checked on
    every load) -> the Hub (pinned revision, sha256 checked) -> a
    :class:`~handzoo.errors.WeightsNotAvailableError` naming the authors' checkpoint and the
    ``handzoo convert`` command.
    """
    hub = card.hub
    entry = usable_cache_entry(card)
    if entry is not None:
        verify_entry(entry, hub.sha256 if (entry.source == "hub" and hub) else None)
        return entry.path
    if card.weights.bundled is not None:
        return bundled_weights(card)
    if hub:
        from handzoo.hub.download import download_weights

        return download_weights(card).path
    raise weights_not_available(card)


def bundled_weights(card: ModelCard) -> Path:
    """The sha256-checked file of a card's ``weights.bundled`` (shipped inside an installed package).

    Raises:
        WeightsError: the card pins no sha256, or the file is missing.
        ChecksumError: the file's sha256 differs from the card's (a modified or corrupted file).
    """
    from handzoo.errors import ChecksumError
    from handzoo.hub.integrity import sha256_file

    b = card.weights.bundled
    reinstall = f"reinstall the package that ships them (pip install --force-reinstall {b.package.split('.')[0]})"
    if not b.sha256:
        raise WeightsError(
            f"the card of {card.name} bundles weights without a sha256", hint="add weights.bundled.sha256"
        )
    try:
        path = b.resolve()
    except (ModuleNotFoundError, TypeError) as exc:
        raise WeightsError(
            f"the package {b.package!r} holding {card.name}'s weights is not importable: {exc}"
        ) from None
    if not path.is_file():
        raise WeightsError(f"{card.name}'s bundled weights are missing: {path}", hint=reinstall)
    digest = sha256_file(path)
    if digest != b.sha256:
        raise ChecksumError(
            f"{card.name}'s bundled weights {path} have sha256 {digest}, the card pins {b.sha256}",
            hint=f"the file was modified or corrupted; {reinstall}",
        )
    return path


def build_model(card: ModelCard, hand_model: str | None = None, **kwargs: Any) -> nn.Module:
    """Build a variant's model, randomly initialised, from its card's ``architecture``.

    Args:
        card: the variant's card.
        hand_model: passed to the method's constructor as ``hand_model=`` when given.
        **kwargs: override or extend the card's architecture keyword arguments.

    Raises:
        RegistryError: the architecture type is not registered (plugin missing or broken).
        ConfigError: the method does not accept the given arguments.
    """
    refuse_planned(card)
    cfg = {**card.architecture, **kwargs}
    if not cfg.get("type"):
        raise ConfigError(f"the card of {card.name} has no architecture type", hint="add handzoo.architecture.type")
    if hand_model is not None:
        cfg["hand_model"] = hand_model
    from torch import nn

    from handzoo.registry import build

    try:
        model = build("methods", cfg)
    except HandzooError:
        raise
    except TypeError as exc:
        args = ", ".join(sorted(k for k in cfg if k != "type"))
        raise ConfigError(
            f"cannot build {card.name} as {cfg['type']}({args}): {exc}",
            hint="check the keyword arguments passed to handzoo.load and the card's architecture",
        ) from None
    if not isinstance(model, nn.Module):
        raise PluginError(f"{cfg['type']} registered by plugin {card.plugin!r} did not build a torch module")
    return model


def load_weights(model: nn.Module, path: str | Path, name: str = "the model") -> None:
    """Load a safetensors file into a model strictly (no missing, unexpected or mis-shaped key).

    Raises:
        WeightsError: the file is not valid safetensors or does not fit the model.
    """
    p = Path(path)
    info = read_safetensors_header(p)
    expected = model.state_dict()
    # MANO-derived entries are never published: the model keeps the values it built from the user's files
    optional = set(mano_provenance(model).keys)
    absent = optional - set(info.tensors)
    problems = key_mismatch(
        {k: t["shape"] for k, t in info.tensors.items()},
        {k: tuple(v.shape) for k, v in expected.items()},
        optional=optional,
    )
    if problems:
        raise WeightsError(
            f"the weights in {p} do not fit {name}: {problems}",
            hint="the file was made for another variant or architecture; convert the right checkpoint, or check "
            "the keyword arguments passed to handzoo.load",
        )
    from safetensors.torch import load_file

    try:
        state = load_file(str(p), device="cpu")
    except Exception as exc:
        raise WeightsError(
            f"cannot read the tensors in {p}: {exc}", hint="delete the file and fetch it again"
        ) from None
    model.load_state_dict(state, strict=not absent)


def _to_device(model: nn.Module, device: Any) -> nn.Module:
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"invalid device {device!r}", hint="use 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available", hint="use device='cpu'")
    return model.to(dev)


def load(
    name: str,
    pretrained: bool = True,
    weights: str | Path | None = None,
    hand_model: str | None = None,
    device: Any = "cpu",
    **kwargs: Any,
) -> Method:
    """Build a model variant by name, with its weights, ready for inference.

    Args:
        name: variant name (``handzoo.list_models()``), e.g. ``"h2onet-dexycb"``.
        pretrained: load the variant's weights (cache, else Hugging Face Hub). False builds a
            randomly initialised model and needs no file or network.
        weights: path of a local safetensors file to load instead (overrides ``pretrained``).
        hand_model: hand model to build the method with (``"mano"``, ``"openhand"``); default:
            the method's own default.
        device: where to put the model (``"cpu"``, ``"cuda"``, ``torch.device``).
        **kwargs: override the card's architecture arguments.

    Returns:
        The model in eval mode, with ``model.card`` set. ``model(images)`` returns a
        :class:`~handzoo.types.HandOutput`.

    Raises:
        ModelNotFoundError: unknown name (with close matches).
        PlannedVariantError: the variant's card is ``status: planned`` (no code for its method yet).
        WeightsNotAvailableError: nothing published or cached; says how to convert the authors' file.
        DownloadError / ChecksumError / WeightsError: the weights could not be obtained or do not fit.
    """
    card = model_card(name)
    refuse_planned(card)
    path: Path | None = None
    if weights is not None:
        if not isinstance(weights, (str, Path)) and not hasattr(weights, "__fspath__"):
            raise ConfigError(f"weights= must be a path to a .safetensors file, not {type(weights).__name__}")
        path = Path(weights).expanduser()
        read_safetensors_header(path)
    elif pretrained:
        path = resolve_weights(card)
    if path is not None and hand_model is not None and card.hand_model and hand_model != card.hand_model:
        warnings.warn(
            f"{card.name}'s weights were trained with hand model {card.hand_model!r}; building with "
            f"{hand_model!r} may give wrong meshes",
            stacklevel=2,
        )
    model = build_model(card, hand_model=hand_model, **kwargs)
    if path is not None:
        load_weights(model, path, name=card.name)
    model = _to_device(model, device)
    model.eval()
    model.card = card
    return model
