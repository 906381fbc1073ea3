"""Per-cell result cache under ``--out/cells``: re-runs skip the cells that are already done.

A cell's key hashes everything its numbers depend on: the weights' sha256 (or the baseline's name
and version), the dataset fingerprint, the protocol, the handzoo version and ``--limit``. A changed
weights file, dataset, handzoo release or limit gives a new key, so a stale result is never reused.
Files are written atomically (temporary file + rename), so an interrupted run leaves no half cell.

Every cell file carries a ``digest``: the sha256 of its canonical JSON. A cell whose digest does not
match (a hand-edited number), that does not follow the results schema (a string where a metric
goes), that cannot be read or parsed, or whose path is not a regular file is never reported: it is
recomputed and the new result's ``info['cache_note']`` says why the cached file was not used.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from handzoo.bench.records import Cell, CellResult
from handzoo.errors import ConfigError

__all__ = ["CACHE_FORMAT", "cell_key", "cell_digest", "check_out_folder", "CellCache"]

# bump when the stored cell format or the harness's scoring changes (3: per-cell digest; 4: per-joint
# errors and picked samples in info)
CACHE_FORMAT = "4"
_MAX_CELL_BYTES = 64 * 1024 * 1024
_STORED_FIELDS = (
    "model", "kind", "weights_sha256", "dataset", "split", "protocol", "dataset_fingerprint", "key",
    "num_samples", "num_hands", "metrics", "units", "curves", "timings", "info", "environment", "cached",
)  # fmt: skip


def cell_digest(data: dict[str, Any]) -> str:
    """sha256 of a cell's canonical JSON (sorted keys, without ``digest`` and ``cached``)."""
    body = {k: v for k, v in data.items() if k not in ("digest", "cached")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@lru_cache(maxsize=1)
def _cell_validator() -> Any:
    import jsonschema

    from handzoo.bench.report.document import load_schema

    schema = load_schema()
    result = copy.deepcopy(schema["$defs"]["result"])
    # the fields results.json adds to a cell (paper comparison, weights status) are not stored in it
    stored = set(_STORED_FIELDS)
    result["required"] = [k for k in result.get("required", []) if k in stored]
    result["properties"] = {k: v for k, v in result.get("properties", {}).items() if k in stored}
    return jsonschema.Draft202012Validator({"$defs": schema["$defs"], **result})


def _schema_problem(data: dict[str, Any]) -> str | None:
    errors = sorted(_cell_validator().iter_errors(data), key=lambda e: [str(p) for p in e.path])
    if not errors:
        return None
    e = errors[0]
    where = "/".join(str(p) for p in e.path) or "<root>"
    return f"{where}: {e.message[:120]}"


def check_out_folder(out: str | Path, files: Iterable[str] = ()) -> None:
    """Check the report folder can be written, before any cell is computed.

    Args:
        out: the ``--out`` folder (created when missing).
        files: report file names that must be writable (not folders) inside it.

    Raises:
        ConfigError: ``out`` (or its ``cells`` folder) exists and is not a folder, a report file is
            a folder, or the folder cannot be created or written.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(
            f"--out {out} exists and is not a folder", hint="pass a folder for the report (new or existing)"
        )
    cells = out / "cells"
    if cells.exists() and not cells.is_dir():
        raise ConfigError(f"{cells} exists and is not a folder", hint="move it away: the bench caches cells there")
    for name in files:
        if (out / name).is_dir():
            raise ConfigError(f"report file {out / name} is a folder", hint="move it away or choose another --out")
    try:
        cells.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=cells)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(
            f"--out {out} cannot be written: {exc.strerror or exc}", hint="choose a folder you can write to"
        ) from None


def cell_key(cell: Cell, dataset_fingerprint: str, handzoo_version: str, limit: int | None, salt: str = "") -> str:
    """The sha256 hex key of one cell.

    Args:
        cell: the cell (its ``weights_sha256``, or for baselines its name, identify the predictor).
        dataset_fingerprint: :func:`handzoo.bench.datasets.dataset_fingerprint` of the split.
        handzoo_version: ``handzoo.__version__``.
        limit: ``--limit`` (None for the whole split).
        salt: anything else the predictor's output depends on (e.g. the baseline version).
    """
    predictor = cell.weights_sha256 if cell.kind == "model" else f"baseline:{cell.model}"
    parts = {
        "format": CACHE_FORMAT,
        "predictor": predictor,
        "model": cell.model,
        "dataset": cell.dataset,
        "split": cell.split,
        "protocol": cell.protocol,
        "fingerprint": dataset_fingerprint,
        "handzoo": handzoo_version,
        "limit": limit,
        "salt": salt,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


class CellCache:
    """JSON files ``<root>/<model>__<dataset>__<protocol>__<key[:16]>.json``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        #: cache key -> why the cached file of that cell was not used (recomputed)
        self.notes: dict[str, str] = {}

    def path(self, cell: Cell, key: str) -> Path:
        """Where the cell with ``key`` is stored."""
        name = f"{_slug(cell.model)}__{_slug(cell.dataset)}__{_slug(cell.protocol)}__{key[:16]}.json"
        return self.root / name

    def load(self, cell: Cell, key: str) -> CellResult | None:
        """The cached result, or None if absent, unusable or stored under another key.

        An unusable file (unreadable, not JSON, not a cell, digest mismatch, not a regular file)
        gives None and a line in :attr:`notes` under ``key``; the cell is then recomputed.
        """
        p = self.path(cell, key)
        try:
            st = p.lstat()
        except OSError:
            return None  # absent: nothing to say
        problem = self._problem(p, st, key)
        if isinstance(problem, str):
            self.notes[key] = f"cached cell {p.name} not used ({problem}); recomputed"
            return None
        problem.cached = True
        return problem

    def _problem(self, p: Path, st: os.stat_result, key: str) -> str | CellResult:
        if stat.S_ISLNK(st.st_mode):
            try:
                st = p.stat()
            except OSError as exc:
                return f"a broken or looping link: {exc.strerror or exc}"
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file" + (" (a folder)" if stat.S_ISDIR(st.st_mode) else "")
        if st.st_size > _MAX_CELL_BYTES:
            return f"{st.st_size} bytes, larger than any cell"
        try:
            data = json.loads(p.read_bytes().decode("utf-8"))
        except OSError as exc:
            return f"unreadable: {exc.strerror or exc}"
        except (ValueError, RecursionError):
            return "not valid JSON"
        if not isinstance(data, dict):
            return "not a JSON object"
        stored = data.pop("digest", None)
        try:
            digest = cell_digest(data)
        except (ValueError, TypeError, RecursionError):
            return "holds values JSON cannot store (NaN or infinity)"
        if stored != digest:
            return "no digest" if stored is None else "its digest does not match its content: edited by hand?"
        why = _schema_problem(data)
        if why is not None:
            return f"not a valid cell: {why}"
        try:
            result = CellResult.from_dict(data)
        except (ValueError, KeyError, TypeError) as exc:
            return f"not a valid cell: {exc}"
        if result.key != key:
            return "stored under another key"
        return result

    def store(self, result: CellResult) -> Path:
        """Write ``result`` atomically, with its digest, and return its path.

        A folder (or another non-regular file) in the cell's place is moved aside to
        ``<name>.not-a-cell[-N]`` (nothing is deleted).

        Raises:
            ConfigError: the cell cannot be written (read-only or full disk).
        """
        p = self.path(result.cell, result.key)
        data = result.to_dict()
        data["cached"] = False
        data["digest"] = cell_digest(data)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if p.exists() and not p.is_file():
                aside = p.with_name(p.name + ".not-a-cell")
                n = 0
                while aside.exists() or aside.is_symlink():
                    n += 1
                    aside = p.with_name(f"{p.name}.not-a-cell-{n}")
                p.rename(aside)
            fd, tmp = tempfile.mkstemp(prefix=".cell-", suffix=".json", dir=self.root)
        except OSError as exc:
            raise ConfigError(
                f"cannot write the cell cache {self.root}: {exc.strerror or exc}", hint="check --out is writable"
            ) from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1, allow_nan=False)
            os.replace(tmp, p)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise ConfigError(
                f"cannot write the cell cache file {p}: {exc.strerror or exc}", hint="check --out is writable"
            ) from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return p
