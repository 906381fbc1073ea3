"""Which datasets can be evaluated here: where they live on disk, which split, which protocols.

The datasets are the catalogue's (:func:`handzoo.catalogue.dataset_specs`, declared by the loaders);
names are accepted in any spelling (``ho3d_v2`` = ``ho3d-v2``). A dataset is looked for in
``--data-root NAME=DIR``, then under each plain ``--data-root DIR`` and each ``$HANDZOO_DATA``
folder by the folder names its spec lists (:meth:`~handzoo.catalogue.DatasetSpec.find_root`, the
same lookup the loaders use). The synthetic benchmark exists everywhere (it is generated on the fly
when no folder holds it), so a machine with nothing downloaded still has a default to evaluate.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from handzoo.catalogue.datasets import DATA_ENV, DatasetSpec
from handzoo.catalogue.names import DATASET_NAMES
from handzoo.errors import ConfigError, DatasetError, DatasetNotFoundError, HandzooError

__all__ = [
    "DatasetSpec",
    "DATA_ENV",
    "DatasetSlot",
    "catalogue_specs",
    "parse_data_roots",
    "find_root",
    "resolve_datasets",
    "dataset_fingerprint",
]


def catalogue_specs() -> dict[str, DatasetSpec]:
    """The catalogue's dataset specs (importing the loaders, which declare them): generated ones first, then by name."""
    import handzoo.datasets  # noqa: F401  (each loader module declares its specs)
    from handzoo.catalogue.datasets import dataset_specs

    return dict(sorted(dataset_specs().items(), key=lambda kv: (not kv[1].embedded, kv[0])))


def parse_data_roots(values: Sequence[str] | None) -> tuple[list[Path], dict[str, Path]]:
    """Split ``--data-root`` values into parent folders and per-dataset roots (``NAME=DIR``).

    ``NAME`` is stored in its canonical spelling (``ho3d_v2=DIR`` -> ``ho3d-v2``).

    Raises:
        ConfigError: for an empty name or folder in ``NAME=DIR``.
    """
    parents: list[Path] = []
    named: dict[str, Path] = {}
    for value in values or []:
        if "=" in value:
            name, _, folder = value.partition("=")
            if not name.strip() or not folder:
                raise ConfigError(f"bad --data-root {value!r}", hint="use --data-root DIR or --data-root NAME=DIR")
            named[DATASET_NAMES.canonical(name.strip())] = Path(folder).expanduser()
        else:
            parents.append(Path(value).expanduser())
    return parents, named


def _spec_of(name: str, specs: dict[str, DatasetSpec] | None) -> DatasetSpec:
    table = catalogue_specs() if specs is None else specs
    return table.get(DATASET_NAMES.canonical(name)) or table.get(name) or DatasetSpec(name)


def find_root(
    name: str,
    parents: Sequence[Path],
    named: dict[str, Path],
    env: dict[str, str] | None = None,
    specs: dict[str, DatasetSpec] | None = None,
) -> Path | None:
    """The folder holding dataset ``name``, or None when none of the candidate folders exists.

    ``NAME=DIR`` wins (None when DIR does not exist); else the spec's folders under ``parents``
    and ``$HANDZOO_DATA`` (see :meth:`DatasetSpec.find_root`).
    """
    key = DATASET_NAMES.canonical(name)
    if key in named:
        return named[key] if named[key].is_dir() else None
    found, _ = _spec_of(key, specs).find_root(parents, env)
    return found


@dataclass
class DatasetSlot:
    """A dataset the run asked for: opened, or not available with the reason and the fix.

    Attributes:
        name: dataset name.
        split: split evaluated.
        protocols: protocols to score it with.
        dataset: the opened dataset, or None.
        root: folder it was read from (None for generated data).
        reason: why it is not available (None when it is).
        command: what would make it available.
    """

    name: str
    split: str
    protocols: tuple[str, ...] = ()
    dataset: Any = None
    root: Path | None = None
    reason: str | None = None
    command: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        """True when the dataset was opened."""
        return self.dataset is not None


LoadFn = Callable[..., Any]


def _default_loader() -> LoadFn:
    from handzoo.datasets import load_dataset

    return load_dataset


def _loader_names() -> list[str]:
    from handzoo.datasets import list_datasets

    return list(list_datasets())


def _open(slot: DatasetSlot, spec: DatasetSpec, root: Path | None, tried: list[str], loader: LoadFn | None) -> None:
    """Open the dataset of ``slot`` (filling ``dataset`` and ``root``, or ``reason`` and ``command``)."""
    name = slot.name
    try:
        fn = loader or _default_loader()
        slot.dataset = fn(name, root=root, split=slot.split or None)
        slot.split = str(getattr(slot.dataset, "split", "") or slot.split or "default")
        found = getattr(slot.dataset, "root", None)
        slot.root = Path(found) if found else root
    except DatasetNotFoundError as exc:
        if root is None and tried:  # say where the harness looked, not only where the loader did
            slot.reason = f"{spec.display} not found (looked at: {'; '.join(tried)})"
        else:
            slot.reason = exc.message
        slot.command = f"{exc.hint or f'download it from {spec.source}'} (or pass --data-root {name}=DIR)"
    except HandzooError as exc:
        slot.reason = exc.message
        slot.command = exc.hint or f"check the files under {root}; get the data from {spec.source}"


def resolve_datasets(
    names: Sequence[str] | None,
    data_roots: Sequence[str] | None = None,
    split: str | None = None,
    loader: LoadFn | None = None,
    specs: dict[str, DatasetSpec] | None = None,
    env: dict[str, str] | None = None,
) -> list[DatasetSlot]:
    """Open the requested datasets (all known ones when ``names`` is None).

    A dataset that is not on disk, or that fails to open, becomes an unavailable slot carrying the
    reason (naming the folder it looked at) and the command that would fix it; it never stops the run.

    Args:
        names: dataset names in any spelling, or None for every known dataset.
        data_roots: ``--data-root`` values.
        split: override of every dataset's default split.
        loader: ``load_dataset(name, root=..., split=...)`` (default: ``handzoo.datasets``).
        specs: the dataset table (default: the catalogue's, :func:`catalogue_specs`).
        env: environment (default ``os.environ``), for ``HANDZOO_DATA`` and dataset variables.

    Raises:
        ConfigError: an unknown dataset name, in ``names`` or in a ``--data-root NAME=DIR``.
    """
    specs = catalogue_specs() if specs is None else specs
    parents, named = parse_data_roots(data_roots)
    wanted = [DATASET_NAMES.lookup(n) or n.strip().lower() for n in names] if names else list(specs)
    extra = _loader_names() if loader is None else []
    known = sorted({*specs, *extra})
    unknown = [n for n in wanted if n not in specs and n not in extra]
    if unknown:
        raise ConfigError(f"unknown dataset(s): {', '.join(unknown)}", hint=f"known datasets: {', '.join(known)}")
    stray = [n for n in named if n not in specs and n not in extra]
    if stray:
        raise ConfigError(
            f"--data-root names unknown dataset(s): {', '.join(stray)}", hint=f"known datasets: {', '.join(known)}"
        )
    slots = []
    for name in wanted:
        spec = specs.get(name) or DatasetSpec(name)
        slot = DatasetSlot(name, split or spec.split or "", spec.protocols)
        tried: list[str] = []
        if name in named:
            root: Path | None = named[name]
            if not root.is_dir():
                slot.reason = f"--data-root {name}={root}: no such folder"
                slot.command = f"download it from {spec.source} into {root}"
                slots.append(slot)
                continue
        else:
            # not found here: the loader still tries (generated data, a plugin's own lookup)
            root, tried = spec.find_root(parents, env)
        _open(slot, spec, root, tried, loader)
        if slot.dataset is not None and not slot.protocols:
            proto = getattr(slot.dataset, "protocol", "") or ""
            if not proto:
                slot.dataset = None
                slot.reason = f"dataset {name!r} names no evaluation protocol"
                slot.command = "report this: the dataset class must set `protocol`"
            else:
                slot.protocols = (str(proto),)
        slots.append(slot)
    return slots


_ANNOTATION_SUFFIXES = {".json", ".pkl", ".pickle", ".txt", ".npz", ".npy", ".mat", ".yaml", ".yml", ".csv"}
_MAX_FILES = 4000


def _annotation_stats(root: Path) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime) of annotation-like files up to two levels deep (bounded)."""
    out: list[tuple[str, int, int]] = []
    stack = [(root, 0)]
    while stack and len(out) < _MAX_FILES:
        folder, level = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for e in entries:
            try:  # a link loop or an unreadable entry is the loader's to report, not the fingerprint's
                if e.is_dir(follow_symlinks=True):
                    if level < 2:
                        stack.append((Path(e.path), level + 1))
                elif Path(e.name).suffix.lower() in _ANNOTATION_SUFFIXES:
                    st = e.stat()
                    out.append((str(Path(e.path).relative_to(root)), st.st_size, st.st_mtime_ns))
            except OSError:
                continue
    return sorted(out)


def _sample_digest(dataset: Any, index: int) -> str:
    s = dataset[index]
    h = hashlib.sha256()
    for name in ("joints3d", "vertices", "K", "side", "bbox"):
        v = getattr(s, name, None)
        if v is not None:
            h.update(name.encode())
            h.update(np.ascontiguousarray(v).tobytes())
    return h.hexdigest()


def dataset_fingerprint(dataset: Any, name: str, split: str, root: Path | None) -> str:
    """A sha256 hex digest that changes when the evaluated data change.

    Uses the dataset's own ``fingerprint`` (attribute or method) when it has one; otherwise the
    name, split, class, length, root and the size/mtime of its annotation files, plus digests of
    the first and last samples' annotations (which also catches a changed synthetic generator).

    Raises:
        DatasetError: if the first or last sample cannot be read.
    """
    own = getattr(dataset, "fingerprint", None)
    if callable(own):
        own = own()
    parts: dict[str, Any] = {"name": name, "split": split}
    if isinstance(own, str) and own:
        parts["own"] = own
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    n = len(dataset)
    parts.update(cls=f"{type(dataset).__module__}.{type(dataset).__qualname__}", len=n)
    if root is not None:
        parts["root"] = str(Path(root).resolve())
        parts["files"] = _annotation_stats(Path(root))
    if n:
        try:
            parts["first"] = _sample_digest(dataset, 0)
            parts["last"] = _sample_digest(dataset, n - 1)
        except HandzooError:
            raise
        except Exception as exc:  # a loader bug must not become a deep traceback
            raise DatasetError(f"cannot read samples of {name}/{split} to fingerprint it: {exc}") from exc
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
