"""Which datasets can be evaluated here: where they live on disk, which split, which protocols.

A dataset named ``NAME`` is looked for in ``--data-root NAME=DIR``, then ``<DIR>/NAME`` for each
plain ``--data-root DIR``, then ``$HANDZOO_DATA/NAME``. The synthetic benchmark exists everywhere
(it is generated on the fly when no folder holds it), so a machine with nothing downloaded still
has a default to evaluate.
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

from handzoo.errors import ConfigError, DatasetError, DatasetNotFoundError, HandzooError

__all__ = [
    "DatasetSpec",
    "DATASET_SPECS",
    "DATA_ENV",
    "DatasetSlot",
    "parse_data_roots",
    "find_root",
    "resolve_datasets",
    "dataset_fingerprint",
]

DATA_ENV = "HANDZOO_DATA"


@dataclass(frozen=True)
class DatasetSpec:
    """How the harness evaluates one dataset.

    Attributes:
        name: dataset name, as ``handzoo.load_dataset`` takes it.
        split: the split evaluated by default; None = the loader's own evaluation split.
        protocols: protocols that score it; empty = the dataset's own ``protocol`` attribute.
        source: where to get it.
        embedded: True when it needs no download (generated on the fly).
    """

    name: str
    split: str | None = None
    protocols: tuple[str, ...] = ()
    source: str = ""
    embedded: bool = False


_FREIBURG = "https://lmb.informatik.uni-freiburg.de"
DATASET_SPECS: dict[str, DatasetSpec] = {
    s.name: s
    for s in (
        DatasetSpec("synthetic", source="embedded (generated on the fly)", embedded=True),
        DatasetSpec("freihand", source=f"{_FREIBURG}/projects/freihand/"),
        DatasetSpec("ho3d_v2", source="https://github.com/shreyashampali/ho3d (HO-3D v2)"),
        DatasetSpec("ho3d_v3", source="https://github.com/shreyashampali/ho3d (HO-3D v3)"),
        DatasetSpec("dexycb", source="https://dex-ycb.github.io/"),
        DatasetSpec(
            "dexycb_handoccnet",
            source="https://dex-ycb.github.io/ + HandOccNet's DEX_YCB_s0_test_data.json (github.com/namepllet/HandOccNet)",
        ),
        DatasetSpec("interhand26m", source="https://mks0601.github.io/InterHand2.6M/ (v1.0 5 fps)"),
        DatasetSpec("rhd", source=f"{_FREIBURG}/resources/datasets/RenderedHandposeDataset.en.html"),
    )
}


def parse_data_roots(values: Sequence[str] | None) -> tuple[list[Path], dict[str, Path]]:
    """Split ``--data-root`` values into parent folders and per-dataset roots (``NAME=DIR``).

    Raises:
        ConfigError: for an empty name or folder in ``NAME=DIR``.
    """
    parents: list[Path] = []
    named: dict[str, Path] = {}
    for value in values or []:
        if "=" in value:
            name, _, folder = value.partition("=")
            if not name or not folder:
                raise ConfigError(f"bad --data-root {value!r}", hint="use --data-root DIR or --data-root NAME=DIR")
            named[name.strip()] = Path(folder).expanduser()
        else:
            parents.append(Path(value).expanduser())
    return parents, named


def find_root(
    name: str, parents: Sequence[Path], named: dict[str, Path], env: dict[str, str] | None = None
) -> Path | None:
    """The folder holding dataset ``name``, or None when none of the candidate folders exists."""
    env = os.environ if env is None else env
    if name in named:
        return named[name] if named[name].is_dir() else None
    candidates = [p / name for p in parents]
    if env.get(DATA_ENV):
        candidates += [Path(d).expanduser() / name for d in env[DATA_ENV].split(os.pathsep) if d]
    return next((c for c in candidates if c.is_dir()), None)


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
    try:
        from handzoo.datasets import list_datasets
    except ImportError:
        return []
    return list(list_datasets())


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
    reason and the command that would fix it; it never stops the run.

    Args:
        names: dataset names, or None for every known dataset.
        data_roots: ``--data-root`` values.
        split: override of every dataset's default split.
        loader: ``load_dataset(name, root=..., split=...)`` (default: ``handzoo.datasets``).
        specs: the dataset table (default :data:`DATASET_SPECS`).
        env: environment (default ``os.environ``), for ``HANDZOO_DATA``.
    """
    specs = DATASET_SPECS if specs is None else specs
    parents, named = parse_data_roots(data_roots)
    wanted = list(names) if names else list(specs)
    extra = _loader_names() if loader is None else []
    unknown = [n for n in wanted if n not in specs and n not in extra]
    if unknown:
        raise ConfigError(
            f"unknown dataset(s): {', '.join(unknown)}", hint=f"known datasets: {', '.join(sorted({*specs, *extra}))}"
        )
    slots = []
    for name in wanted:
        spec = specs.get(name) or DatasetSpec(name)
        slot = DatasetSlot(name, split or spec.split or "", spec.protocols)
        if name in named and not named[name].is_dir():
            slot.reason = f"--data-root {name}={named[name]}: no such folder"
            slot.command = f"download it from {spec.source} into {named[name]}"
            slots.append(slot)
            continue
        # no folder found here: the loader still looks itself (its own env vars, its folder names)
        root = find_root(name, parents, named, env)
        try:
            fn = loader or _default_loader()
            slot.dataset = fn(name, root=root, split=slot.split or None)
            slot.split = str(getattr(slot.dataset, "split", "") or slot.split or "default")
            found = getattr(slot.dataset, "root", None)
            slot.root = Path(found) if found else root
        except ImportError as exc:
            slot.reason = f"the dataset loaders are not importable: {exc}"
            slot.command = "pip install handzoo (with its datasets module)"
        except DatasetNotFoundError as exc:
            slot.reason = exc.message
            slot.command = f"{exc.hint or f'download it from {spec.source}'} (or pass --data-root {name}=DIR)"
        except HandzooError as exc:
            slot.reason = exc.message
            slot.command = exc.hint or f"check the files under {root}; get the data from {spec.source}"
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
            if e.is_dir(follow_symlinks=True):
                if level < 2:
                    stack.append((Path(e.path), level + 1))
            elif Path(e.name).suffix.lower() in _ANNOTATION_SUFFIXES:
                st = e.stat()
                out.append((str(Path(e.path).relative_to(root)), st.st_size, st.st_mtime_ns))
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
