"""What a dataset is, as data: :class:`DatasetSpec`, the table of specs, and the one root lookup.

Each loader module owns the specs of the datasets it reads (``handzoo.datasets.ho3d.SPECS``
declares ``ho3d-v2`` and ``ho3d-v3``) and declares them here when it is imported;
``handzoo.load_dataset``, ``handzoo-bench`` and the paper-result matching all read this table.
Nothing here imports anything above :mod:`handzoo.errors`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handzoo.catalogue.names import DATASET_NAMES, spelling_key
from handzoo.errors import ConfigError, DatasetNotFoundError

__all__ = [
    "DATA_ENV",
    "DatasetSpec",
    "register_dataset",
    "dataset_specs",
    "dataset_spec",
    "locate_root",
]

DATA_ENV = "HANDZOO_DATA"


@dataclass(frozen=True)
class DatasetSpec:
    """One evaluable dataset: its name, where it lives, its splits and the protocol that scores it.

    Attributes:
        name: canonical name (``ho3d-v2``); what ``load_dataset`` and ``handzoo-bench`` take.
        split: the split evaluated by default; None = the loader's own evaluation split.
        protocols: protocol ids that score it (the first is its own); empty = the loader
            instance's ``protocol`` attribute.
        source: where to get it (URL and what to download), for messages.
        embedded: True when it needs no download (generated on the fly).
        loader: name of the loader in ``handzoo.registry.DATASETS`` (default: ``name``).
        options: fixed keyword arguments of the loader (``{'version': 'v2'}``).
        folders: folder names the dataset is found under in a data root (the canonical name is
            always tried first).
        env_vars: environment variables naming its folder (``DEX_YCB_DIR``).
        splits: the official split names.
        split_aliases: other split names -> official one (``test`` -> ``evaluation``).
        aliases: other spellings of the name that differ in more than punctuation and case.
        title: display name (``HO-3D v2``).
        results_as: the dataset name papers report its results under, when another
            (``dexycb-handoccnet`` -> ``dexycb``: the same images, HandOccNet's annotation files).
    """

    name: str
    split: str | None = None
    protocols: tuple[str, ...] = ()
    source: str = ""
    embedded: bool = False
    loader: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    folders: tuple[str, ...] = ()
    env_vars: tuple[str, ...] = ()
    splits: tuple[str, ...] = ()
    split_aliases: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    title: str = ""

    results_as: str | None = None

    @property
    def protocol(self) -> str | None:
        """The protocol id that scores it (None: the loader instance says)."""
        return self.protocols[0] if self.protocols else None

    @property
    def loader_name(self) -> str:
        """Registry name of its loader."""
        return self.loader or self.name

    @property
    def display(self) -> str:
        """Name for messages."""
        return self.title or self.name

    @property
    def url(self) -> str:
        """Where to get it (``source``)."""
        return self.source

    @property
    def folder_names(self) -> tuple[str, ...]:
        """Folder names to try under a data root: :attr:`folders`, then the canonical name; no repeats."""
        out: list[str] = []
        for f in (*self.folders, self.name):
            if f not in out:
                out.append(f)
        return tuple(out)

    def canonical_split(self, split: str) -> str:
        """The official name of ``split`` (``'test'`` -> ``'evaluation'`` for FreiHAND).

        Unknown names come back unchanged (the loader says which splits exist).
        """
        key = spelling_key(split)
        for s in self.splits:
            if spelling_key(s) == key:
                return s
        for alias, s in self.split_aliases.items():
            if spelling_key(alias) == key:
                return s
        return split

    def official_split(self, split: str) -> str:
        """The official name of ``split``, checked against :attr:`splits`.

        Raises:
            ConfigError: for a split the dataset does not have.
        """
        name = self.canonical_split(split)
        if self.splits and name not in self.splits:
            known = " or ".join(repr(s) for s in self.splits)
            raise ConfigError(f"unknown {self.display} split {split!r}", hint=f"use {known}")
        return name

    def find_root(
        self, parents: Sequence[Path] = (), env: Mapping[str, str] | None = None
    ) -> tuple[Path | None, list[str]]:
        """The first existing folder among the candidates, and every candidate looked at.

        Candidates: ``$VAR`` for each of :attr:`env_vars`, then ``<parent>/<folder>`` for each
        parent and each of :attr:`folder_names`, then the same under each ``$HANDZOO_DATA`` folder.
        """
        env = os.environ if env is None else env
        tried: list[str] = []
        for var in self.env_vars:
            val = env.get(var)
            if val:
                p = Path(val).expanduser()
                if p.is_dir():
                    return p, tried
                tried.append(f"${var}={p}")
        bases = [Path(p).expanduser() for p in parents]
        bases += [Path(d).expanduser() for d in (env.get(DATA_ENV) or "").split(os.pathsep) if d]
        for base in bases:
            for name in self.folder_names:
                p = base / name
                if p.is_dir():
                    return p, tried
                tried.append(str(p))
        return None, tried


_SPECS: dict[str, DatasetSpec] = {}


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    """Declare a dataset spec (its name and aliases join :data:`DATASET_NAMES`).

    Declaring an equal spec again is a no-op; a different spec under a taken name is an error.

    Raises:
        ConfigError: the name (or an alias) already means another dataset.
    """
    old = _SPECS.get(spec.name)
    if old is not None and old != spec:
        raise ConfigError(f"dataset {spec.name!r} is already declared differently", hint="pick another name")
    DATASET_NAMES.add(spec.name, spec.aliases)
    _SPECS[spec.name] = spec
    return spec


def dataset_specs() -> dict[str, DatasetSpec]:
    """Every declared spec by canonical name (declared by the loader modules on import)."""
    return dict(_SPECS)


def dataset_spec(name: str) -> DatasetSpec | None:
    """The spec that ``name`` (any accepted spelling) names, or None."""
    canonical = DATASET_NAMES.lookup(name)
    return _SPECS.get(canonical) if canonical is not None else None


def locate_root(
    root: str | os.PathLike | None,
    dataset: str,
    folder_names: Sequence[str],
    url: str,
    env_vars: Sequence[str] = (),
    parents: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
) -> Path:
    """Find a dataset's folder: ``root``, then ``env_vars``, then ``<parent>/<folder>``, then ``$HANDZOO_DATA/<folder>``.

    Raises:
        DatasetNotFoundError: naming ``root`` when it is given and missing, else every place looked at.
    """
    if root is not None:
        p = Path(root).expanduser()
        if p.is_dir():
            return p
        raise DatasetNotFoundError(f"{dataset} root folder not found: {p}", hint=f"download {dataset} from {url}")
    # the display name is not a folder name: look only under the given folders
    look = DatasetSpec(folder_names[0], folders=tuple(folder_names[1:]), env_vars=tuple(env_vars))
    found, tried = look.find_root(parents, env)
    if found is not None:
        return found
    where = "; ".join(tried) if tried else f"no root given and ${DATA_ENV} is not set"
    raise DatasetNotFoundError(
        f"{dataset} not found (looked at: {where})",
        hint=f"download it from {url} and pass root=... or put it in ${DATA_ENV}/{folder_names[0]}",
    )
