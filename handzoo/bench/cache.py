"""Per-cell result cache under ``--out/cells``: re-runs skip the cells that are already done.

A cell's key hashes everything its numbers depend on: the weights' sha256 (or the baseline's name
and version), the dataset fingerprint, the protocol, the handzoo version and ``--limit``. A changed
weights file, dataset, handzoo release or limit gives a new key, so a stale result is never reused.
Files are written atomically (temporary file + rename), so an interrupted run leaves no half cell.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from handzoo.bench.records import Cell, CellResult

__all__ = ["CACHE_FORMAT", "cell_key", "CellCache"]

# bump when the stored cell format or the harness's scoring changes
CACHE_FORMAT = "2"


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

    def path(self, cell: Cell, key: str) -> Path:
        """Where the cell with ``key`` is stored."""
        name = f"{_slug(cell.model)}__{_slug(cell.dataset)}__{_slug(cell.protocol)}__{key[:16]}.json"
        return self.root / name

    def load(self, cell: Cell, key: str) -> CellResult | None:
        """The cached result, or None if absent, unreadable or stored under another key."""
        p = self.path(cell, key)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            result = CellResult.from_dict(data)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if result.key != key:
            return None
        result.cached = True
        return result

    def store(self, result: CellResult) -> Path:
        """Write ``result`` atomically and return its path."""
        self.root.mkdir(parents=True, exist_ok=True)
        p = self.path(result.cell, result.key)
        data = result.to_dict()
        data["cached"] = False
        fd, tmp = tempfile.mkstemp(prefix=".cell-", suffix=".json", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1, allow_nan=False)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return p
