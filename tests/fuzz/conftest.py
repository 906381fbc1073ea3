"""Shared settings of the fuzz suite (byte-level fuzzing of every reader of outside files).

Each fuzz test asserts one contract: for any input, the reader returns a correct result or raises
a :class:`handzoo.errors.HandzooError`; nothing else (no other exception, no hang, no data loss).

Two profiles, both deterministic (``derandomize=True``, no example database):

* ``handzoo-fuzz`` (default, CI): a few seconds per reader.
* ``handzoo-fuzz-long`` (``HANDZOO_FUZZ_LONG=1``): many more examples per reader, for a report run.

Use :func:`fuzz_settings` as a decorator (it does not change the suite-wide profile)::

    from fuzz_profiles import fuzz_settings  # tests/fuzz is on sys.path (this conftest)

    @fuzz_settings()
    @given(st.binary())
    def test_reader(data): ...

``FUZZ_STATS`` counts the examples tried and how each ended; a long run writes it as JSON to the
path in ``HANDZOO_FUZZ_REPORT`` at the end of the session.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # make fuzz_profiles importable by the fuzz test modules
    sys.path.insert(0, _HERE)

from fuzz_profiles import (  # noqa: E402
    FUZZ_LONG,
    FUZZ_PROFILE,
    FUZZ_STATS,
    Hang,
    fuzz_settings,
    handzoo_or_result,
    mutated,
    no_hang,
    record,
)

__all__ = [
    "FUZZ_LONG",
    "FUZZ_PROFILE",
    "FUZZ_STATS",
    "Hang",
    "fuzz_settings",
    "handzoo_or_result",
    "mutated",
    "no_hang",
    "record",
]


@pytest.fixture(autouse=True, scope="module")
def _remove_module_scratch(request: pytest.FixtureRequest):
    """Remove a fuzz module's scratch folder (its ``_DIR`` / ``_OUT``, made at import so that every
    hypothesis example can write there) once the module's tests are done."""
    yield
    for name in ("_DIR", "_OUT"):
        folder = getattr(request.module, name, None)
        if isinstance(folder, Path) and folder.name.startswith("handzoo-fuzz-"):
            if folder.parent == Path(tempfile.gettempdir()):
                shutil.rmtree(folder, ignore_errors=True)


def pytest_sessionfinish(session, exitstatus) -> None:  # noqa: ARG001 - pytest hook signature
    """Write the per-reader counts to ``HANDZOO_FUZZ_REPORT`` when that variable is set."""
    target = os.environ.get("HANDZOO_FUZZ_REPORT")
    if not target or not FUZZ_STATS:
        return
    report = {
        "profile": FUZZ_PROFILE,
        "readers": {name: dict(counts) for name, counts in sorted(FUZZ_STATS.items())},
        "examples": sum(sum(c.values()) for c in FUZZ_STATS.values()),
    }
    Path(target).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
