"""Checks a model card must pass before it enters the zoo (at load, for every plugin's card).

A card from a third-party plugin is outside input. :func:`check_card_fields` validates its front
matter against the card schema (``handzoo/hub/card_schema.json``) with the sections a card may
leave out relaxed (a missing ``results`` reads as none), so that a card that loads is one every
command can use: the right types everywhere, the keys a section needs when it is there
(``weights.hub`` with ``repo_id``, ``filename``, ``revision``, ``sha256``; ``original`` with
``url``), a variant name of the form ``<method>-<tag>`` that cannot escape a folder. Reading is
bounded too: :data:`MAX_CARD_BYTES`, and YAML aliases are refused (:class:`NoAliasLoader`), so a
"billion laughs" card cannot expand.

The checker interprets the subset of JSON Schema the card schema uses (``type``, ``properties``,
``required``, ``items``, ``enum``, ``const``, ``pattern``, ``minLength``, ``minimum``,
``maximum``, ``minItems``, ``maxItems``, ``uniqueItems``, ``oneOf``, ``$ref``,
``additionalProperties``) so listing models imports no schema library. Full validation, with the
completeness rules of shipped cards, stays in :func:`handzoo.hub.validate.card_problems`.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from handzoo.errors import ConfigError

__all__ = ["MAX_CARD_BYTES", "NoAliasLoader", "card_schema_path", "card_field_problems", "check_card_fields"]

#: Largest card file read (bytes). Shipped cards are ~10 KB.
MAX_CARD_BYTES = 512 * 1024
#: Deepest nesting of a card's front matter.
MAX_DEPTH = 32
_MAX_PROBLEMS = 3


class NoAliasLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses aliases (``*name``): no expansion bombs, no shared nodes."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102 - PyYAML hook
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(f"YAML aliases are not allowed in model cards ({event.start_mark})")
        return super().compose_node(parent, index)


def card_schema_path() -> Path:
    """Where the card schema lives (a data file of :mod:`handzoo.hub`, read without importing it)."""
    return Path(__file__).resolve().parents[1] / "hub" / "card_schema.json"


@functools.lru_cache(maxsize=1)
def _load_schema() -> dict[str, Any]:
    schema = json.loads(card_schema_path().read_text(encoding="utf-8"))
    # at load, a card may leave sections out (they read as empty); what is there must be right
    relaxed = dict(schema)
    relaxed["required"] = ["handzoo"]
    defs = dict(schema["$defs"])
    defs["handzoo"] = {**defs["handzoo"], "required": ["variant", "method"]}
    relaxed["$defs"] = defs
    return relaxed


_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, Mapping),
    "array": lambda v: isinstance(v, (list, tuple)),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _check(
    value: Any, schema: Mapping[str, Any], where: str, root: Mapping[str, Any], out: list[str], depth: int
) -> None:
    if len(out) >= _MAX_PROBLEMS:
        return
    if depth > MAX_DEPTH:
        out.append(f"{where}: nested more than {MAX_DEPTH} levels deep")
        return
    ref = schema.get("$ref")
    if ref:
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        _check(value, target, where, root, out, depth)
        schema = {k: v for k, v in schema.items() if k != "$ref"}
    if "oneOf" in schema:
        matches = 0
        for option in schema["oneOf"]:
            trial: list[str] = []
            _check(value, option, where, root, trial, depth + 1)
            matches += not trial
        if matches != 1:
            out.append(f"{where}: {_show(value)} has the wrong form")
            return
    if "const" in schema and value != schema["const"]:
        out.append(f"{where}: must be {schema['const']!r}, not {_show(value)}")
        return
    if "enum" in schema and not any(value == e and type(value) is type(e) for e in schema["enum"]):
        out.append(f"{where}: {_show(value)} is not one of {', '.join(map(repr, schema['enum']))}")
        return
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_TYPES[k](value) for k in kinds):
            out.append(f"{where}: expected {' or '.join(kinds)}, got {_show(value)}")
            return
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(f"{where}: must not be empty")
        pattern = schema.get("pattern")
        if pattern and not _regex(pattern).search(value):
            out.append(f"{where}: {_show(value)} does not match {pattern}")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{where}: {value} is below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{where}: {value} is above {schema['maximum']}")
    elif isinstance(value, (list, tuple)):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", math.inf):
            out.append(f"{where}: wrong number of items ({len(value)})")
        if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True, default=str) for v in value}) != len(value):
            out.append(f"{where}: items must be unique")
        if "items" in schema:
            for i, item in enumerate(value):
                _check(item, schema["items"], f"{where}/{i}", root, out, depth + 1)
    elif isinstance(value, Mapping):
        missing = [k for k in schema.get("required", ()) if k not in value]
        if missing:
            out.append(f"{where}: missing {', '.join(missing)}")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if not isinstance(k, str):
                out.append(f"{where}: key {_show(k)} is not a string")
            elif k in props:
                _check(v, props[k], f"{where}/{k}", root, out, depth + 1)
            elif extra is False:
                out.append(f"{where}: unknown key {k!r}")
            elif isinstance(extra, Mapping):
                _check(v, extra, f"{where}/{k}", root, out, depth + 1)
            else:
                _check_plain(v, f"{where}/{k}", out, depth + 1)


def _check_plain(value: Any, where: str, out: list[str], depth: int) -> None:
    """Free-form values (architecture arguments, extra keys): plain data, bounded depth."""
    if len(out) >= _MAX_PROBLEMS:
        return
    if depth > MAX_DEPTH:
        out.append(f"{where}: nested more than {MAX_DEPTH} levels deep")
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _check_plain(v, f"{where}/{k}", out, depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}/{i}", out, depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        out.append(f"{where}: {value} is not a finite number")


def card_field_problems(metadata: Mapping[str, Any], fields: Mapping[str, Any]) -> list[str]:
    """The first problems (at most three) of a card's front matter, as ``path: what`` strings.

    Args:
        metadata: the Hugging Face front matter without ``handzoo``.
        fields: the ``handzoo`` mapping.
    """
    schema = _load_schema()
    out: list[str] = []
    _check({**metadata, "handzoo": fields}, schema, "", schema, out, 0)
    return [p.lstrip("/") for p in out]


def check_card_fields(metadata: Mapping[str, Any], fields: Mapping[str, Any], where: str) -> None:
    """Raise a one-line :class:`ConfigError` when a card's front matter breaks the schema.

    Args:
        metadata: the Hugging Face front matter without ``handzoo``.
        fields: the ``handzoo`` mapping.
        where: the card's path or name, for the message.

    Raises:
        ConfigError: naming the card, the first fields at fault and what is wrong with them.
    """
    problems = card_field_problems(metadata, fields)
    if problems:
        raise ConfigError(
            f"model card {where} is invalid: {'; '.join(problems)}",
            hint="fix the card (format: handzoo/hub/CARD_SCHEMA.md; `handzoo plugins` lists bad cards)",
        )
