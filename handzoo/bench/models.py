"""Which models can be evaluated here: baselines always; variants whose weights are available.

A variant is runnable when its weights are published on the Hub or already in the local cache
(``handzoo.hub.weights_status``) and the hand model its weights need is present (MANO files are the
user's; the open hand ships with handzoo). Otherwise it is reported as skipped with the reason and
the command that fixes it (``handzoo convert <variant> <checkpoint>``, or where MANO comes from).

A variant whose card is ``status: planned`` (the method has no code yet) is skipped as "not
implemented yet", whatever else is asked. Two overrides make any other variant runnable: a local weights file (``--weights VARIANT=FILE``,
status ``local``, identified by the file's sha256) and random initialisation (``--untrained``,
status ``untrained``, seeded, for smoke runs of models without weights).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handzoo.bench.baselines import BASELINES
from handzoo.catalogue.cards import BenchLimits, InputSpec
from handzoo.catalogue.hand_models import hand_model_spec
from handzoo.catalogue.names import DATASET_NAMES
from handzoo.errors import AssetError, ConfigError, HandzooError
from handzoo.handmodels.mano_reader import MANO_ENV, MANO_URL, find_mano_file

__all__ = [
    "ModelEntry",
    "resolve_models",
    "split_patterns",
    "mano_available",
    "applies_to",
    "UNTRAINED_SEED",
    "untrained_id",
]

# torch seed of the random initialisation of ``--untrained`` models (same weights on every rank and run)
UNTRAINED_SEED = 0


@dataclass
class ModelEntry:
    """One model (variant or baseline) the run asked for.

    Attributes:
        name: variant or baseline name.
        kind: ``'model'`` or ``'baseline'``.
        card: the model card (None for baselines).
        weights_sha256: sha256 of the weights (None for baselines or when unknown).
        weights_status: ``published``, ``cached``, ``convert-needed``, ``local`` (``--weights``),
            ``untrained`` (``--untrained``) or ``baseline``.
        reason: why it cannot run (None when it can).
        command: what would make it run.
        weights_file: the local safetensors file given with ``--weights`` (None otherwise).
    """

    name: str
    kind: str
    card: Any = None
    weights_sha256: str | None = None
    weights_status: str = "baseline"
    reason: str | None = None
    command: str = ""
    weights_file: Path | None = None

    @property
    def untrained(self) -> bool:
        """True when the model runs randomly initialised (``--untrained``)."""
        return self.weights_status == "untrained"

    def load_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``handzoo.load`` for this entry's weights (none: the card's)."""
        if self.weights_file is not None:
            return {"weights": self.weights_file}
        if self.untrained:
            return {"pretrained": False}
        return {}

    @property
    def runnable(self) -> bool:
        """True when the model can be evaluated."""
        return self.reason is None


def split_patterns(value: str | Sequence[str] | None) -> list[str]:
    """``'a-*,b'`` or ``['a-*', 'b']`` -> ``['a-*', 'b']``; None -> ``['*']``."""
    if value is None:
        return ["*"]
    items = [value] if isinstance(value, str) else list(value)
    out = [p.strip() for item in items for p in item.split(",") if p.strip()]
    return out or ["*"]


def mano_available(env: dict[str, str] | None = None) -> bool:
    """True when ``$HANDZOO_MANO_DIR`` holds ``MANO_RIGHT.pkl`` where the MANO reader looks for it."""
    env = os.environ if env is None else env
    folder = env.get(MANO_ENV)
    if not folder:
        return False
    try:
        find_mano_file("right", folder)
    except AssetError:
        return False
    return True


def _status_of(card: Any) -> tuple[str, str | None, Any]:
    """(status, sha256, raw) from ``handzoo.hub``: the cache entry's sha256, else the card's pinned one."""
    from handzoo.hub import weights_status

    status = str(weights_status(card))
    sha = None
    if status == "cached":
        from handzoo.hub.cache import read_entry

        entry = read_entry(card.name)
        sha = entry.sha256 if entry is not None else None
    if status == "bundled" and card.weights.bundled is not None:
        sha = card.weights.bundled.sha256  # shipped inside a package; handzoo.load re-checks it
    if not sha and card.hub is not None:
        sha = card.hub.sha256
    return status, sha or None, status


def _weights_advice(card: Any) -> tuple[str, str]:
    """(where the authors' checkpoint is, the ``handzoo convert`` command) for a variant without weights."""
    original = getattr(card, "original", None)
    if original is None:
        original = (getattr(card, "weights", None) or {}).get("original")
    try:
        from handzoo.hub.advice import convert_command, original_source

        cmd, src = convert_command(card), original_source(card)
    except (ImportError, AttributeError, KeyError, TypeError):
        cmd = f"handzoo convert {card.name} CHECKPOINT"
        src = (original or {}).get("url") or "the authors published no checkpoint for this variant"
    if not original:
        return "the authors released no checkpoint", f"train it, then: {cmd}"
    return f"authors' checkpoint: {src}", cmd


def _entry_for_card(card: Any, status_fn: Callable[[Any], tuple[str, str | None, Any]]) -> ModelEntry:
    entry = ModelEntry(card.name, "model", card=card)
    try:
        status, sha, _ = status_fn(card)
    except HandzooError as exc:
        entry.reason = exc.message
        entry.command = exc.hint or _weights_advice(card)[1]
        return entry
    entry.weights_status = status
    entry.weights_sha256 = sha
    if status not in ("published", "cached", "bundled"):
        where, cmd = _weights_advice(card)
        entry.reason = f"no weights published or cached ({status}); {where}"
        entry.command = cmd
    elif not sha:
        entry.reason = "the weights' sha256 is unknown, so results cannot be cached or compared"
        entry.command = f"add weights.hub.sha256 to the card of {card.name}, or re-run `{_weights_advice(card)[1]}`"
    return entry


def _planned_entry(card: Any) -> ModelEntry | None:
    """The skipped entry of a ``status: planned`` variant (None for an available one)."""
    if not getattr(card, "planned", False):
        return None
    return ModelEntry(
        card.name,
        "model",
        card,
        weights_status="planned",
        reason=f"not implemented yet: {card.name} is planned (handzoo has its card, not the {card.method} method's code)",
        command=f"none yet (a plugin implementing {card.method} will make it available)",
    )


def untrained_id(card: Any) -> str:
    """The identity of a variant's seeded random initialisation (a sha256, in place of a weights digest).

    It changes with the architecture and the seed, so cached cells of an untrained model are
    reused only for the same random weights.
    """
    arch = getattr(card, "architecture", None) or {}
    text = json.dumps(
        {"untrained": card.name, "seed": UNTRAINED_SEED, "architecture": arch}, sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_local_weights(weights: Mapping[str, str | os.PathLike[str]], cards: Mapping[str, Any]) -> dict[str, Path]:
    out = {}
    for name, file in weights.items():
        if name not in cards:
            raise ConfigError(
                f"--weights names an unknown variant: {name!r}", hint="run `handzoo list` to see the variants"
            )
        path = Path(file).expanduser()
        if not path.is_file():
            raise ConfigError(f"--weights {name}={file}: no such file", hint="give the path of a .safetensors file")
        out[name] = path
    return out


def _override_entry(card: Any, weights_file: Path | None, untrained: bool) -> ModelEntry | None:
    """The entry of a variant run with a local file or untrained; None: the variant's own weights."""
    if weights_file is not None:
        from handzoo.hub.integrity import read_safetensors_header, sha256_file

        read_safetensors_header(weights_file)  # a WeightsError naming the file when it is not safetensors
        sha = sha256_file(weights_file)
        return ModelEntry(card.name, "model", card, sha, "local", weights_file=weights_file)
    if untrained:
        return ModelEntry(card.name, "model", card, untrained_id(card), "untrained")
    return None


def resolve_models(
    patterns: str | Sequence[str] | None,
    cards: dict[str, Any] | None = None,
    status_fn: Callable[[Any], tuple[str, str | None, Any]] | None = None,
    baselines: Sequence[str] | None = None,
    *,
    weights: Mapping[str, str | os.PathLike[str]] | None = None,
    untrained: bool = False,
) -> list[ModelEntry]:
    """The baselines and variants matching ``patterns``, each runnable or with its reason.

    Args:
        patterns: fnmatch wildcards (``'smhr-*,zero'``); None matches everything.
        cards: variant name -> card (default: every installed plugin's cards).
        status_fn: weights status of a card (default: ``handzoo.hub.weights_status``).
        baselines: baseline names to consider (default: all of :data:`BASELINES`).
        weights: variant -> local safetensors file evaluated instead of its published weights.
        untrained: evaluate the other variants randomly initialised (seeded; a smoke run).

    Raises:
        ConfigError: when a pattern matches no model at all, or ``weights`` names an unknown
            variant or a missing file. WeightsError: a ``weights`` file is not safetensors.
    """
    pats = split_patterns(patterns)
    if cards is None:
        from handzoo.variants import model_cards

        cards = model_cards()
    status_fn = status_fn or _status_of
    local = _check_local_weights(weights or {}, cards)
    names = list(BASELINES if baselines is None else baselines)
    entries: list[ModelEntry] = []
    for b in names:
        if any(fnmatch.fnmatchcase(b, p) for p in pats):
            entries.append(ModelEntry(b, "baseline"))
    for name in sorted(cards):
        if any(fnmatch.fnmatchcase(name, p) for p in pats):
            card = cards[name]
            override = _planned_entry(card) or _override_entry(card, local.get(name), untrained)
            entries.append(override or _entry_for_card(card, status_fn))
    unmatched = [p for p in pats if not any(fnmatch.fnmatchcase(e.name, p) for e in entries)]
    if unmatched:
        raise ConfigError(
            f"--models pattern(s) match no model: {', '.join(unmatched)}",
            hint="run `handzoo list` to see the variants; baselines: " + ", ".join(names),
        )
    return entries


def applies_to(entry: ModelEntry, dataset: str, env: dict[str, str] | None = None) -> tuple[str, str] | None:
    """Why ``entry`` cannot run on ``dataset`` as ``(reason, command)``, or None when it can.

    A card may restrict its datasets with ``handzoo.bench: {datasets: [...], exclude: [...]}``;
    multi-frame (video) models (``input.frames > 1``) do not run on single images; weights built on
    MANO topology need the user's MANO files.
    """
    if entry.kind == "baseline" or entry.card is None:
        return None
    limits = getattr(entry.card, "bench", None) or BenchLimits()
    only = limits.datasets
    if only and not any(DATASET_NAMES.same(dataset, d) for d in only):
        return (
            f"the card of {entry.name} limits it to {', '.join(only)}",
            "none (the method cannot run on this dataset)",
        )
    if any(DATASET_NAMES.same(dataset, d) for d in limits.exclude):
        return f"the card of {entry.name} excludes {dataset}", "none (the method cannot run on this dataset)"
    card_input = getattr(entry.card, "input", None)
    frames = card_input.frames if isinstance(card_input, InputSpec) else 1
    if frames > 1:
        return (
            f"{entry.name} is a {frames}-frame video model; the harness evaluates single images",
            "none yet (evaluate its single-frame sibling, if it has one)",
        )
    needs = hand_model_spec(entry.card.hand_model)
    if needs is not None and needs.name == "mano" and not mano_available(env):
        return (
            "its weights need the MANO hand model, whose files are not installed",
            f"download MANO from {MANO_URL} and set {MANO_ENV}=DIR (holding MANO_RIGHT.pkl and MANO_LEFT.pkl)",
        )
    return None
