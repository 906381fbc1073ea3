"""The local weights cache.

Layout (root: ``$HANDZOO_CACHE``, else ``$XDG_CACHE_HOME/handzoo``, else ``~/.cache/handzoo``)::

    weights/<variant>/model.safetensors   the weights handzoo.load uses for that variant
    weights/<variant>/provenance.json     where they came from (hub download or conversion)
    tmp/<pid>-<uuid>/                     work space of a download/conversion in progress

An entry appears only complete: files are assembled in ``tmp/`` and the directory is renamed into
``weights/`` in one step, so an interrupted download or conversion, a checksum mismatch or a
crash never leaves a partial entry. Work dirs of dead processes are swept on the next use.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handzoo._cache_root import CACHE_ENV, cache_root
from handzoo.errors import ChecksumError, ConfigError
from handzoo.hub.integrity import sha256_file

__all__ = [
    "CACHE_ENV",
    "WEIGHTS_FILE",
    "PROVENANCE_FILE",
    "PROVENANCE_FORMAT",
    "CacheEntry",
    "cache_dir",
    "entry_dir",
    "read_entry",
    "ensure_cache_dir",
    "work_dir",
    "place_entry",
    "verify_entry",
]

WEIGHTS_FILE = "model.safetensors"
PROVENANCE_FILE = "provenance.json"
PROVENANCE_FORMAT = "handzoo-provenance/1"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_STALE_AFTER_S = 24 * 3600


def cache_dir() -> Path:
    """The cache root (read from the environment at each call)."""
    return cache_root()


def entry_dir(variant: str) -> Path:
    """Directory of one variant's cached weights.

    Raises:
        ConfigError: if the variant name could escape the cache directory.
    """
    if not _SAFE_NAME.match(variant) or ".." in variant:
        raise ConfigError(f"invalid variant name {variant!r} for the weights cache")
    return cache_dir() / "weights" / variant


@dataclass(frozen=True)
class CacheEntry:
    """A complete cache entry.

    Attributes:
        variant: the variant name.
        path: the safetensors file.
        provenance: the parsed ``provenance.json`` (see :func:`place_entry`).
    """

    variant: str
    path: Path
    provenance: dict[str, Any]

    @property
    def sha256(self) -> str:
        """sha256 of the weights file as recorded when it was placed."""
        return str(self.provenance.get("sha256", ""))

    @property
    def source(self) -> str:
        """``'hub'`` or ``'convert'``."""
        return str((self.provenance.get("source") or {}).get("kind", "unknown"))


def read_entry(variant: str) -> CacheEntry | None:
    """The cached entry of a variant, or None when there is no complete one. Cheap: no hashing."""
    d = entry_dir(variant)
    weights = d / WEIGHTS_FILE
    try:
        prov = json.loads((d / PROVENANCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(prov, dict) or prov.get("format") != PROVENANCE_FORMAT or not weights.is_file():
        return None
    return CacheEntry(variant, weights, prov)


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_stale(tmp_root: Path) -> None:
    """Remove work dirs left behind by dead processes (e.g. killed mid-download) or older than a day."""
    try:
        children = list(tmp_root.iterdir())
    except OSError:
        return
    now = time.time()
    for child in children:
        pid = child.name.split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            old = now - child.stat().st_mtime > _STALE_AFTER_S
        except OSError:
            continue
        if old or not _pid_alive(int(pid)):
            shutil.rmtree(child, ignore_errors=True)


def ensure_cache_dir(path: Path) -> None:
    """Create a directory inside the cache, or say which setting to fix.

    Raises:
        ConfigError: the cache root (or a folder in it) is a file, or cannot be created or written.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        root = cache_dir()
        source = f"${CACHE_ENV}" if os.environ.get(CACHE_ENV) else "the default cache location"
        raise ConfigError(
            f"the handzoo cache {root} ({source}) cannot be used: {exc.strerror or exc} ({exc.filename or path})",
            hint=f"set {CACHE_ENV} to a writable directory (it is a file, or not writable, now)",
        ) from None


@contextlib.contextmanager
def work_dir() -> Iterator[Path]:
    """A fresh private directory inside the cache (same file system), removed on exit.

    Everything written there is gone afterwards whatever happens (error, Ctrl-C), unless it was
    moved into place by :func:`place_entry`.
    """
    tmp_root = cache_dir() / "tmp"
    ensure_cache_dir(tmp_root)
    _sweep_stale(tmp_root)
    d = tmp_root / f"{os.getpid()}-{uuid.uuid4().hex}"
    d.mkdir()
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def place_entry(variant: str, weights_file: Path, provenance: dict[str, Any], sha256: str | None = None) -> CacheEntry:
    """Move a finished safetensors file into the cache as the variant's entry, atomically.

    Args:
        variant: the variant name.
        weights_file: the file to move; it should live in a :func:`work_dir` (same file system).
        provenance: what to record (source, key map version, ...); ``format``, ``variant``,
            ``file``, ``sha256`` and ``size`` are filled in here.
        sha256: the file's digest when already computed (else it is computed).

    Returns:
        The new entry (an existing entry for the variant is replaced).
    """
    final = entry_dir(variant)
    digest = sha256 or sha256_file(weights_file)
    prov = {
        "format": PROVENANCE_FORMAT,
        "variant": variant,
        "file": WEIGHTS_FILE,
        "sha256": digest,
        "size": weights_file.stat().st_size,
        **{k: v for k, v in provenance.items() if k not in ("format", "variant", "file", "sha256", "size")},
    }
    stage = cache_dir() / "tmp" / f"{os.getpid()}-{uuid.uuid4().hex}"
    stage.mkdir(parents=True)
    try:
        os.replace(weights_file, stage / WEIGHTS_FILE)
        (stage / PROVENANCE_FILE).write_text(json.dumps(prov, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        final.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):  # another process may place the same variant concurrently
            old = stage.with_name(f"{stage.name}-old{attempt}")
            with contextlib.suppress(FileNotFoundError):
                os.replace(final, old)
            try:
                os.replace(stage, final)
                break
            except OSError:
                if attempt == 2:
                    raise
            finally:
                shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return CacheEntry(variant, final / WEIGHTS_FILE, prov)


def verify_entry(entry: CacheEntry, expected_sha256: str | None = None) -> None:
    """Hash the cached file and compare with its provenance (and with ``expected_sha256``).

    Raises:
        ChecksumError: if the file changed since it was placed, or is not the expected one.
    """
    actual = sha256_file(entry.path)
    for want, what in ((entry.sha256, "its provenance record"), (expected_sha256, "the model card")):
        if want and actual != want:
            raise ChecksumError(
                f"cached weights of {entry.variant} ({entry.path}) do not match {what}: sha256 {actual[:12]}... "
                f"!= {want[:12]}...",
                hint=f"the file was modified or corrupted; delete {entry.path.parent} and load again "
                "(or re-run `handzoo convert`)",
            )
