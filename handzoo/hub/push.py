"""``handzoo push VARIANT REPO_ID``: publish converted weights and a generated card (maintainers).

Two commits: the safetensors file first, then ``README.md`` — the variant's card with
``weights.hub`` pinned to the first commit and the file's sha256, plus a provenance section. The
same card text is returned so it can replace ``model_cards/<variant>.md``, after which
``handzoo.load`` downloads the published file.

Nothing is uploaded when the file holds a MANO-derived tensor: MANO's licence forbids
redistributing its arrays. Which tensors are MANO-derived is decided by where they come from
(:mod:`handzoo.hub.mano_keys`): the variant is built (randomly initialised) and its modules built
from the user's MANO file, the keys it or its card declares, tensors equal to one of its MANO
arrays, and the keys the conversion recorded in the provenance are refused. Key names alone
never decide (a plugin on the open hand publishes its ``hand.v_template``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handzoo.catalogue.cards import ModelCard, render_card
from handzoo.errors import ConfigError, HandzooError, WeightsError
from handzoo.hub.advice import convert_command
from handzoo.hub.cache import read_entry, verify_entry
from handzoo.hub.download import hub_endpoint, hub_offline
from handzoo.hub.integrity import read_safetensors_header, sha256_file
from handzoo.hub.mano_keys import authors_mano_keys, matching
from handzoo.hub.validate import check_card

__all__ = ["PushResult", "generate_card", "push_weights"]

_PLACEHOLDER_REVISION = "0" * 40


@dataclass(frozen=True)
class PushResult:
    """What :func:`push_weights` published.

    Attributes:
        variant: the variant.
        repo_id: the Hub repository.
        filename: the weights file's path in the repository.
        revision: commit that added the weights (pinned in the card).
        card_revision: commit that added README.md.
        sha256: the weights file's digest.
        size: its size in bytes.
        card_text: the generated card (for ``model_cards/<variant>.md``).
    """

    variant: str
    repo_id: str
    filename: str
    revision: str
    card_revision: str
    sha256: str
    size: int
    card_text: str


def _provenance_section(prov: dict[str, Any]) -> str:
    src = prov.get("source") or {}
    if src.get("kind") != "convert":
        return ""
    return (
        "\n## Provenance\n\n"
        f"Converted with handzoo {prov.get('handzoo_version', '?')} from the authors' file `{src.get('file', '?')}` "
        f"(sha256 `{src.get('sha256', '?')}`) by `{prov.get('converter', '?')}`, key map version "
        f"`{prov.get('key_map_version')}`. Embedded MANO arrays were removed"
        f"{' (' + str(len(prov.get('dropped_keys') or [])) + ' tensors)' if prov.get('dropped_keys') else ''}.\n"
    )


def generate_card(card: ModelCard, hub: dict[str, Any], provenance: dict[str, Any] | None = None) -> ModelCard:
    """The card to publish: ``weights.hub`` set to ``hub``, a provenance section added to the prose."""
    weights = {**card.weights, "hub": dict(hub)}
    body = card.body.rstrip("\n") + "\n"
    section = _provenance_section(provenance or {})
    if section and "## Provenance" not in body:
        body += section
    new = card.with_fields(weights=weights)
    return ModelCard(new.name, new.method, new.metadata, new.fields, body, None, card.plugin)


def _weights_file(card: ModelCard, weights: str | Path | None) -> tuple[Path, dict[str, Any]]:
    if weights is not None:
        p = Path(weights).expanduser()
        sidecar = p.with_suffix(".json")
        prov = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else {}
        return p, prov
    entry = read_entry(card.name)
    if entry is None:
        raise WeightsError(
            f"there are no converted weights of {card.name} in the cache to push",
            hint=f"convert the authors' checkpoint first: `{convert_command(card)}`",
        )
    verify_entry(entry)
    return entry.path, entry.provenance


def _model_provenance(card: ModelCard) -> tuple[Any, set[str]]:
    """The MANO provenance of the variant's model (built randomly initialised) and its state keys."""
    from handzoo.hub.load import build_model
    from handzoo.hub.mano_keys import mano_provenance

    try:
        model = build_model(card)
    except HandzooError as exc:
        raise WeightsError(
            f"cannot check which tensors of {card.name} hold MANO-derived data: building the model failed "
            f"({exc.message})",
            hint=(exc.hint or "install the variant's plugin")
            + "; handzoo push builds the variant to find the arrays read from the user's MANO file",
        ) from None
    return mano_provenance(model, card.weights.mano_derived_keys), set(model.state_dict())


def _flagged_keys(card: ModelCard, path: Path, keys: list[str], prov: dict[str, Any]) -> list[str]:
    """Keys of the file that hold MANO-derived data (see the module docstring)."""
    model_prov, expected = _model_provenance(card)
    recorded = set(prov.get("mano_derived_keys") or [])
    flagged = set(matching(keys, model_prov.patterns)) | (set(model_prov.keys) & set(keys)) | (recorded & set(keys))
    # entries the model has no place for, laid out like an authors' embedded MANO loader
    try:
        from handzoo.hub.convert import resolve_converter

        authors_patterns: tuple[str, ...] = resolve_converter(card.method)[3]
    except HandzooError:
        authors_patterns = ()  # no converter (e.g. weights trained with handzoo)
    flagged |= {k for k in authors_mano_keys(keys, authors_patterns) if k not in expected}
    if model_prov.arrays:  # a model built on MANO: also refuse copies of its arrays under other names
        from safetensors.torch import load_file

        flagged |= set(model_prov.copies(load_file(str(path), device="cpu")))
    return sorted(flagged)


def push_weights(
    variant: str | ModelCard,
    repo_id: str,
    *,
    weights: str | Path | None = None,
    filename: str = "model.safetensors",
    branch: str = "main",
    token: str | None = None,
    private: bool | None = None,
    commit_message: str | None = None,
) -> PushResult:
    """Upload a variant's converted weights and its generated card to the Hugging Face Hub.

    Args:
        variant: variant name (or card).
        repo_id: ``owner/name`` of the model repository (created if missing).
        weights: a safetensors file to push instead of the cached one.
        filename: path of the weights in the repository (must end in ``.safetensors``).
        branch: branch to commit to.
        token: Hub token (default: the one saved by ``hf auth login`` / ``HF_TOKEN``).
        private: create the repository as private.
        commit_message: message of the weights commit.

    Raises:
        WeightsError: nothing to push, not safetensors, MANO-derived tensors, or the upload failed.
        ConfigError: Hub access is off, or the generated card is invalid.
    """
    from handzoo._version import __version__
    from handzoo.hub.load import model_card

    card = model_card(variant)
    if not filename.endswith(".safetensors"):
        raise ConfigError(f"refusing to push {filename!r}: handzoo publishes only .safetensors files")
    path, prov = _weights_file(card, weights)
    info = read_safetensors_header(path)
    flagged = _flagged_keys(card, path, sorted(info.tensors), prov)
    if flagged:
        shown = ", ".join(flagged[:8]) + (" ..." if len(flagged) > 8 else "")
        raise WeightsError(
            f"refusing to upload {path.name}: {len(flagged)} tensor(s) hold MANO-derived data ({shown}); "
            "MANO's licence forbids redistributing its arrays",
            hint="MANO-derived tensors stay in your local file; publish a file without them (hand-model arrays belong "
            "in non-persistent buffers filled from the user's MANO files; trained MANO-derived parameters are "
            "rebuilt from MANO at load time)",
        )
    digest = sha256_file(path)
    hub = {"repo_id": repo_id, "filename": filename, "revision": _PLACEHOLDER_REVISION, "sha256": digest}
    hub["size"] = info.size
    check_card(generate_card(card, hub, prov))  # fail before uploading anything
    if hub_offline():
        raise ConfigError("cannot push: Hub access is off (HF_HUB_OFFLINE=1)", hint="unset HF_HUB_OFFLINE")
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub_endpoint(), token=token, library_name="handzoo", library_version=__version__)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        commit = api.upload_file(
            path_or_fileobj=str(path),
            path_in_repo=filename,
            repo_id=repo_id,
            revision=branch,
            commit_message=commit_message or f"Add {card.name} weights (handzoo {__version__})",
        )
        hub["revision"] = commit.oid
        published = generate_card(card, hub, prov)
        text = render_card(published)
        card_commit = api.upload_file(
            path_or_fileobj=text.encode("utf-8"),
            path_in_repo="README.md",
            repo_id=repo_id,
            revision=branch,
            commit_message=f"Add the handzoo model card of {card.name}",
        )
    except HandzooError:
        raise
    except Exception as exc:
        raise WeightsError(
            f"uploading {card.name} to {repo_id} on {hub_endpoint()} failed: {type(exc).__name__}: {str(exc)[:300]}",
            hint="check the token (`hf auth login`), your write access to the repository and the network",
        ) from None
    return PushResult(card.name, repo_id, filename, commit.oid, card_commit.oid, digest, info.size, text)
