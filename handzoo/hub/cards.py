"""Model cards: Markdown files with YAML front matter in Hugging Face model-card form.

Reading a card needs only PyYAML (no torch), so listing models stays fast. The handzoo fields
live under the ``handzoo:`` key of the front matter; everything else is Hugging Face metadata.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from handzoo.errors import ConfigError

__all__ = ["ModelCard", "load_card", "parse_card", "render_card", "builtin_card_paths", "CARD_PACKAGE"]

CARD_PACKAGE = "handzoo_model_cards"
_REQUIRED = ("variant", "method")


@dataclass(frozen=True)
class ModelCard:
    """One model variant's card.

    Attributes:
        name: variant name ``<method>-<tag>`` (e.g. ``h2onet-dexycb``).
        method: method name (``h2onet``).
        metadata: the Hugging Face front matter without the ``handzoo`` mapping.
        fields: the ``handzoo`` mapping (paper, architecture, hand_model, input, weights,
            results, ...).
        body: the Markdown prose after the front matter.
        path: where the card was read from (None for cards built in memory).
        plugin: name of the plugin that provided it (set by the plugin manager).
    """

    name: str
    method: str
    metadata: dict[str, Any]
    fields: dict[str, Any]
    body: str = ""
    path: str | None = None
    plugin: str | None = None

    @property
    def license(self) -> str:
        """The weights' licence identifier (Hugging Face ``license`` key)."""
        return str(self.metadata.get("license", "unknown"))

    @property
    def paper(self) -> dict[str, Any]:
        """Paper metadata: title, authors, venue, year, url."""
        return dict(self.fields.get("paper") or {})

    @property
    def architecture(self) -> dict[str, Any]:
        """Build config for the METHODS registry (``type`` plus keyword arguments)."""
        return dict(self.fields.get("architecture") or {})

    @property
    def hand_model(self) -> str | None:
        """Hand model the weights need (``mano``, ``openhand``) or None."""
        return self.fields.get("hand_model")

    @property
    def input(self) -> dict[str, Any]:
        """Input specification (size, colour order, value range, crop rule)."""
        return dict(self.fields.get("input") or {})

    @property
    def weights(self) -> dict[str, Any]:
        """Weights: ``hub`` (repo_id, filename, revision, sha256) or None, and ``original``."""
        return dict(self.fields.get("weights") or {})

    @property
    def hub(self) -> dict[str, Any] | None:
        """Published Hugging Face Hub location of the converted weights, or None."""
        hub = self.weights.get("hub")
        return dict(hub) if hub else None

    @property
    def original(self) -> dict[str, Any] | None:
        """The authors' original checkpoint: url, format, filename, notes (None if there is none)."""
        original = self.weights.get("original")
        return dict(original) if original else None

    @property
    def weights_license(self) -> str:
        """Licence of the weights (``handzoo.weights_license``, else the front-matter ``license``)."""
        return str(self.fields.get("weights_license") or self.license)

    @property
    def results(self) -> list[dict[str, Any]]:
        """Paper results: dicts with dataset, protocol, metric, value, unit, source."""
        return [dict(r) for r in self.fields.get("results") or []]

    @property
    def summary(self) -> str:
        """One-line description."""
        return str(self.fields.get("summary", self.paper.get("title", "")))

    def with_plugin(self, plugin: str) -> ModelCard:
        """Return a copy tagged with the plugin that provided it."""
        return ModelCard(self.name, self.method, self.metadata, self.fields, self.body, self.path, plugin)

    def with_fields(self, **fields: Any) -> ModelCard:
        """Return a copy whose ``handzoo`` mapping has the given fields replaced (e.g. ``weights``)."""
        merged = {**self.fields, **fields}
        return ModelCard(self.name, self.method, self.metadata, merged, self.body, self.path, self.plugin)

    def to_markdown(self) -> str:
        """Render the card back to Markdown with YAML front matter (see :func:`render_card`)."""
        return render_card(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view (for ``handzoo info --json``)."""
        return {
            "name": self.name,
            "method": self.method,
            "plugin": self.plugin,
            "license": self.license,
            "metadata": self.metadata,
            **{k: v for k, v in self.fields.items() if k not in ("variant", "method")},
            "path": self.path,
        }


def parse_card(text: str, path: str | None = None) -> ModelCard:
    """Parse a model card from its Markdown text.

    Raises:
        ConfigError: when the front matter is missing, not YAML, or lacks required fields.
    """
    where = path or "<card>"
    if not text.startswith("---"):
        raise ConfigError(f"model card {where} has no YAML front matter", hint="start the file with a '---' line")
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise ConfigError(f"model card {where}: front matter is not closed", hint="add a closing '---' line")
    head = parts[0][3:]
    body = parts[1].split("\n", 1)[1] if "\n" in parts[1] else ""
    try:
        meta = yaml.safe_load(head) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"model card {where}: invalid YAML front matter: {exc}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("handzoo"), dict):
        raise ConfigError(f"model card {where} has no 'handzoo:' mapping in its front matter")
    fields = dict(meta.pop("handzoo"))
    missing = [k for k in _REQUIRED if not fields.get(k)]
    if missing:
        raise ConfigError(f"model card {where} lacks handzoo fields: {', '.join(missing)}")
    return ModelCard(str(fields["variant"]), str(fields["method"]), meta, fields, body.lstrip("\n"), path)


def render_card(card: ModelCard) -> str:
    """Render a card as Markdown: YAML front matter (Hugging Face keys, then ``handzoo:``) and body.

    ``parse_card(render_card(card))`` gives back an equal card (up to ``path`` and ``plugin``).
    """
    front = {**card.metadata, "handzoo": {"variant": card.name, "method": card.method, **card.fields}}
    head = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)
    body = card.body if card.body.endswith("\n") or not card.body else card.body + "\n"
    return f"---\n{head}---\n\n{body}"


def load_card(path: str | Path) -> ModelCard:
    """Read and parse a model card file.

    Raises:
        ConfigError: if the file cannot be read or parsed.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read model card {p}: {exc.strerror}") from None
    return parse_card(text, str(p))


def builtin_card_paths(method: str) -> list[Path]:
    """Paths of the shipped cards of one built-in method (``model_cards/<method>-*.md``)."""
    root = importlib.resources.files(CARD_PACKAGE)
    return sorted(Path(str(p)) for p in root.iterdir() if p.name.startswith(f"{method}-") and p.name.endswith(".md"))
