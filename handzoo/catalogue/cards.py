"""Model cards as typed records: Markdown files with YAML front matter in Hugging Face form.

Reading a card needs only PyYAML (no torch), so listing models stays fast. The handzoo fields
live under the ``handzoo:`` key of the front matter (the format is in ``handzoo/hub/CARD_SCHEMA.md``);
everything else is Hugging Face metadata.

:class:`ModelCard` keeps the front matter as written (:attr:`ModelCard.fields`, what
``render_card`` writes back and the schema validates) and reads it once into typed records:
:class:`PaperRef`, :class:`InputSpec`, :class:`WeightsSources` (:class:`HubWeights`,
:class:`OriginalWeights`, :class:`BundledWeights`), :class:`PaperResult` keyed by
:class:`ResultKey`, :class:`BenchLimits` and :class:`Status`. Parsing is lenient (a card with
wrong values still parses, so the validator can list every problem); use
:func:`handzoo.hub.validate.check_card` to validate.

Each record is also a read-only mapping of the YAML keys it was read from (``card.hub['sha256']``,
``{**card.weights, 'hub': ...}``), so code that handles the YAML form keeps working.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import importlib.resources
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from handzoo.catalogue.card_checks import MAX_CARD_BYTES, NoAliasLoader
from handzoo.errors import ConfigError

__all__ = [
    "CARD_PACKAGE",
    "Status",
    "PaperRef",
    "InputSpec",
    "HubWeights",
    "OriginalWeights",
    "BundledWeights",
    "WeightsSources",
    "ResultKey",
    "PaperResult",
    "BenchLimits",
    "ModelCard",
    "parse_card",
    "render_card",
    "load_card",
    "builtin_card_paths",
]

CARD_PACKAGE = "handzoo_model_cards"
_REQUIRED = ("variant", "method")


class Status(str, enum.Enum):
    """Whether a variant's method has code: ``available``, or ``planned`` (a card only)."""

    AVAILABLE = "available"
    PLANNED = "planned"

    def __str__(self) -> str:
        return self.value


def _plain(value: Any) -> Any:
    """Records and mappings -> dicts, tuples -> lists (the YAML form)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


class _Record(Mapping):
    """A frozen dataclass that also reads as the mapping of the YAML keys it came from.

    The mapping holds the fields that are set (not None, not empty), plus those listed in
    ``_ALWAYS``; values are in YAML form (nested records as dicts).
    """

    _ALWAYS: tuple[str, ...] = ()
    _KEYS: tuple[str, ...] = ()  # YAML key order; default: the dataclass fields

    def _items(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        keys = self._KEYS or tuple(f.name for f in dataclasses.fields(self))  # type: ignore[arg-type]
        for k in keys:
            v = getattr(self, k)
            if k in self._ALWAYS or not (v is None or v == () or v == {}):
                out[k] = _plain(v)
        return out

    def __getitem__(self, key: str) -> Any:
        return self._items()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Record) and type(other) is not type(self):
            return False
        if isinstance(other, Mapping):
            return self._items() == _plain(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """The YAML form."""
        return self._items()


def _str_or_none(v: Any) -> str | None:
    return None if v is None else str(v)


def _tuple(v: Any) -> tuple[Any, ...]:
    if v is None:
        return ()
    if isinstance(v, (list, tuple)):
        return tuple(v)
    return (v,)


def _map(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, Mapping) else {}


@dataclass(frozen=True, eq=False)
class PaperRef(_Record):
    """The paper: title, authors, venue, year, arXiv id, links."""

    title: str = ""
    authors: str = ""
    venue: str = ""
    year: int | None = None
    arxiv: str | None = None
    url: str | None = None
    code: str | None = None

    @classmethod
    def from_yaml(cls, d: Any) -> PaperRef:
        """Read the ``paper`` mapping."""
        d = _map(d)
        return cls(
            str(d.get("title") or ""),
            str(d.get("authors") or ""),
            str(d.get("venue") or ""),
            d.get("year"),
            _str_or_none(d.get("arxiv")),
            _str_or_none(d.get("url")),
            _str_or_none(d.get("code")),
        )


@dataclass(frozen=True, eq=False)
class InputSpec(_Record):
    """What the network takes: size ``(height, width)``, colour order, value range, normalisation, crop rule."""

    _ALWAYS = ("mean", "std")

    size: tuple[int, ...] = ()
    colour: str = ""
    range: tuple[float, ...] = ()
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    channels: int | None = None
    frames: int = 1
    crop: str = ""
    left_hands: str = ""
    _present: frozenset[str] = dataclasses.field(default=frozenset(), repr=False)

    _KEYS = ("size", "colour", "range", "mean", "std", "channels", "frames", "crop", "left_hands")

    def _items(self) -> dict[str, Any]:
        out = super()._items()
        if "frames" not in self._present and self.frames == 1:
            out.pop("frames", None)
        for k in ("mean", "std"):
            if k not in self._present and getattr(self, k) is None:
                out.pop(k, None)
        return out

    @classmethod
    def from_yaml(cls, d: Any) -> InputSpec:
        """Read the ``input`` mapping."""
        d = _map(d)
        frames = d.get("frames", 1)
        return cls(
            _tuple(d.get("size")),
            str(d.get("colour") or ""),
            _tuple(d.get("range")),
            None if d.get("mean") is None else _tuple(d.get("mean")),
            None if d.get("std") is None else _tuple(d.get("std")),
            d.get("channels"),
            frames if isinstance(frames, int) else 1,
            str(d.get("crop") or ""),
            str(d.get("left_hands") or ""),
            frozenset(d),
        )


@dataclass(frozen=True, eq=False)
class HubWeights(_Record):
    """Converted weights published on the Hugging Face Hub, pinned by revision and sha256."""

    repo_id: str = ""
    filename: str = ""
    revision: str = ""
    sha256: str = ""
    size: int | None = None

    @classmethod
    def from_yaml(cls, d: Any) -> HubWeights | None:
        """Read ``weights.hub`` (None when absent)."""
        if not d:
            return None
        d = _map(d)
        return cls(
            str(d.get("repo_id") or ""),
            str(d.get("filename") or ""),
            str(d.get("revision") or ""),
            str(d.get("sha256") or ""),
            d.get("size"),
        )


@dataclass(frozen=True, eq=False)
class OriginalWeights(_Record):
    """The authors' original checkpoint: where, in which format (``handzoo convert`` input)."""

    url: str = ""
    format: str = ""
    filename: str | None = None
    sha256: str | None = None
    mirrors: tuple[str, ...] = ()
    notes: str | None = None

    _KEYS = ("url", "mirrors", "format", "filename", "sha256", "notes")

    @classmethod
    def from_yaml(cls, d: Any) -> OriginalWeights | None:
        """Read ``weights.original`` (None when absent)."""
        if not d:
            return None
        d = _map(d)
        return cls(
            str(d.get("url") or ""),
            str(d.get("format") or ""),
            _str_or_none(d.get("filename")),
            _str_or_none(d.get("sha256")),
            tuple(str(m) for m in _tuple(d.get("mirrors"))),
            _str_or_none(d.get("notes")),
        )


@dataclass(frozen=True, eq=False)
class BundledWeights(_Record):
    """Weights shipped inside a Python package (a plugin's own small file), no download."""

    package: str = ""
    path: str = ""
    sha256: str | None = None

    @classmethod
    def from_yaml(cls, d: Any) -> BundledWeights | None:
        """Read ``weights.bundled`` (None when absent)."""
        if not d:
            return None
        d = _map(d)
        return cls(str(d.get("package") or ""), str(d.get("path") or ""), _str_or_none(d.get("sha256")))

    def resolve(self) -> Path:
        """The file's path inside its installed package."""
        return Path(str(importlib.resources.files(self.package).joinpath(self.path)))


@dataclass(frozen=True, eq=False)
class WeightsSources(_Record):
    """Where a variant's weights come from: Hub, the authors' original, or bundled in a package."""

    _ALWAYS = ("hub", "original")

    hub: HubWeights | None = None
    original: OriginalWeights | None = None
    bundled: BundledWeights | None = None
    mano_derived_keys: tuple[str, ...] = ()
    _present: frozenset[str] = dataclasses.field(default=frozenset(), repr=False)

    _KEYS = ("hub", "original", "bundled", "mano_derived_keys")

    def _items(self) -> dict[str, Any]:
        out = super()._items()
        for k in self._ALWAYS:
            if k not in self._present and getattr(self, k) is None:
                out.pop(k, None)
        return out

    @classmethod
    def from_yaml(cls, d: Any) -> WeightsSources:
        """Read the ``weights`` mapping."""
        d = _map(d)
        return cls(
            HubWeights.from_yaml(d.get("hub")),
            OriginalWeights.from_yaml(d.get("original")),
            BundledWeights.from_yaml(d.get("bundled")),
            tuple(str(k) for k in _tuple(d.get("mano_derived_keys"))),
            frozenset(d),
        )


@dataclass(frozen=True)
class ResultKey:
    """What a number measures: dataset, split, protocol, metric, in canonical spellings.

    ``split`` None = any split the protocol scores; ``protocol`` None = any protocol of the
    dataset. Build one from any spelling with :func:`handzoo.catalogue.result_key`.
    """

    dataset: str
    split: str | None
    protocol: str | None
    metric: str


@dataclass(frozen=True, eq=False)
class PaperResult(_Record):
    """One number a paper (or the authors' repository) reports for the variant.

    ``subset`` qualifies the metric (InterHand ``single`` / ``interacting``) or the split
    (DexYCB setup ``s0``); :func:`handzoo.catalogue.result_key` resolves which.
    """

    dataset: str = ""
    split: str | None = None
    subset: str | None = None
    protocol: str | None = None
    metric: str = ""
    value: float | None = None
    unit: str = ""
    source: str = ""
    notes: str | None = None

    @property
    def key(self) -> ResultKey:
        """The typed key of this number (see :func:`handzoo.catalogue.result_key`).

        Dataset names and splits resolve through the specs the loaders declare (import
        ``handzoo.datasets`` first for those of the built-in loaders).
        """
        from handzoo.catalogue.results import paper_result_key

        return paper_result_key(self)

    @classmethod
    def from_yaml(cls, d: Any) -> PaperResult:
        """Read one entry of ``results``."""
        if isinstance(d, PaperResult):
            return d
        d = _map(d)
        value = d.get("value")
        return cls(
            str(d.get("dataset") or ""),
            _str_or_none(d.get("split")),
            _str_or_none(d.get("subset")),
            _str_or_none(d.get("protocol")),
            str(d.get("metric") or ""),
            value if isinstance(value, (int, float)) and not isinstance(value, bool) else None,
            str(d.get("unit") or ""),
            str(d.get("source") or ""),
            _str_or_none(d.get("notes")),
        )


@dataclass(frozen=True, eq=False)
class BenchLimits(_Record):
    """The card's limits for ``handzoo-bench``: only these datasets, or all but these."""

    datasets: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def from_yaml(cls, d: Any) -> BenchLimits:
        """Read the ``bench`` mapping."""
        d = _map(d)
        return cls(tuple(str(x) for x in _tuple(d.get("datasets"))), tuple(str(x) for x in _tuple(d.get("exclude"))))


def _status(value: Any) -> Status:
    try:
        return Status(str(value).lower()) if value is not None else Status.AVAILABLE
    except ValueError:
        return Status.AVAILABLE  # the schema reports the bad value


@dataclass(frozen=True)
class ModelCard:
    """One model variant's card.

    Attributes:
        name: variant name ``<method>-<tag>`` (e.g. ``h2onet-dexycb``).
        method: method name (``h2onet``).
        metadata: the Hugging Face front matter without the ``handzoo`` mapping.
        fields: the ``handzoo`` mapping as written (what is rendered back and validated); read
            the typed attributes instead (:attr:`paper`, :attr:`input`, :attr:`weights`, ...).
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

    # -- typed view (read once) --------------------------------------------------------------

    @functools.cached_property
    def status(self) -> Status:
        """``planned`` when the method has no code yet (a card only), else ``available``."""
        return _status(self.fields.get("status"))

    @property
    def planned(self) -> bool:
        """True for a ``planned`` variant (``handzoo.load`` refuses it)."""
        return self.status is Status.PLANNED

    @property
    def license(self) -> str:
        """The weights' licence identifier (Hugging Face ``license`` key)."""
        return str(self.metadata.get("license", "unknown"))

    @functools.cached_property
    def paper(self) -> PaperRef:
        """Paper reference."""
        return PaperRef.from_yaml(self.fields.get("paper"))

    @property
    def architecture(self) -> dict[str, Any]:
        """Config tree for ``handzoo.registry.build('methods', ...)``: ``type`` plus keyword arguments (a copy)."""
        return _plain(self.fields.get("architecture") or {})

    @property
    def hand_model(self) -> str | None:
        """Hand model the weights need (``mano``, ``openhand``) or None."""
        hm = self.fields.get("hand_model")
        return None if hm is None else str(hm)

    @functools.cached_property
    def input(self) -> InputSpec:
        """Input specification (size, colour order, value range, crop rule)."""
        return InputSpec.from_yaml(self.fields.get("input"))

    @functools.cached_property
    def weights(self) -> WeightsSources:
        """Weights sources: ``hub``, ``original``, ``bundled``, ``mano_derived_keys``."""
        return WeightsSources.from_yaml(self.fields.get("weights"))

    @property
    def hub(self) -> HubWeights | None:
        """Published Hugging Face Hub location of the converted weights, or None."""
        return self.weights.hub

    @property
    def original(self) -> OriginalWeights | None:
        """The authors' original checkpoint, or None when there is none."""
        return self.weights.original

    @property
    def bundled(self) -> BundledWeights | None:
        """Weights shipped inside a package, or None."""
        return self.weights.bundled

    @property
    def weights_license(self) -> str:
        """Licence of the weights (``handzoo.weights_license``, else the front-matter ``license``)."""
        return str(self.fields.get("weights_license") or self.license)

    @functools.cached_property
    def results(self) -> tuple[PaperResult, ...]:
        """Paper results."""
        return tuple(PaperResult.from_yaml(r) for r in self.fields.get("results") or [])

    @functools.cached_property
    def bench(self) -> BenchLimits:
        """Limits for ``handzoo-bench`` (``bench: {datasets: [...], exclude: [...]}``)."""
        return BenchLimits.from_yaml(self.fields.get("bench"))

    @property
    def summary(self) -> str:
        """One-line description."""
        return str(self.fields.get("summary") or self.paper.title)

    # -- copies ---------------------------------------------------------------------------------

    def with_plugin(self, plugin: str) -> ModelCard:
        """Return a copy tagged with the plugin that provided it."""
        return ModelCard(self.name, self.method, self.metadata, self.fields, self.body, self.path, plugin)

    def with_fields(self, **fields: Any) -> ModelCard:
        """Return a copy whose ``handzoo`` mapping has the given fields replaced (e.g. ``weights``)."""
        merged = {**self.fields, **{k: _plain(v) for k, v in fields.items()}}
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
            "status": self.status.value,
            "metadata": self.metadata,
            **{k: v for k, v in _plain(self.fields).items() if k not in ("variant", "method", "status")},
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
    if len(text) > MAX_CARD_BYTES:
        raise ConfigError(f"model card {where} is larger than {MAX_CARD_BYTES} bytes", hint="a card is a short file")
    try:
        meta = yaml.load(head, Loader=NoAliasLoader) or {}  # noqa: S506 - a safe loader without aliases
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())[:300]
        raise ConfigError(f"model card {where}: invalid YAML front matter: {detail}") from None
    except RecursionError:
        raise ConfigError(f"model card {where}: front matter nested too deeply") from None
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
    front = {**card.metadata, "handzoo": {"variant": card.name, "method": card.method, **_plain(card.fields)}}
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
        if not p.is_file():
            raise ConfigError(f"model card {p} is not a file")
        with p.open("rb") as f:
            raw = f.read(MAX_CARD_BYTES + 1)
        if len(raw) > MAX_CARD_BYTES:
            raise ConfigError(f"model card {p} is larger than {MAX_CARD_BYTES} bytes", hint="a card is a short file")
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"model card {p} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"cannot read model card {p}: {exc.strerror}") from None
    return parse_card(text, str(p))


def builtin_card_paths(method: str) -> list[Path]:
    """Paths of the shipped cards of one built-in method (``model_cards/<method>-*.md``)."""
    root = importlib.resources.files(CARD_PACKAGE)
    return sorted(Path(str(p)) for p in root.iterdir() if p.name.startswith(f"{method}-") and p.name.endswith(".md"))
