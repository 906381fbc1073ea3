"""Profiles and counters of the fuzz suite (see ``tests/fuzz/conftest.py``)."""

from __future__ import annotations

import collections
import os

from hypothesis import HealthCheck, settings

#: True when the long profile is selected (``HANDZOO_FUZZ_LONG=1``).
FUZZ_LONG = os.environ.get("HANDZOO_FUZZ_LONG", "") not in ("", "0")

_COMMON = dict(
    derandomize=True,
    database=None,
    print_blob=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
settings.register_profile("handzoo-fuzz", max_examples=60, **_COMMON)
settings.register_profile("handzoo-fuzz-long", max_examples=3000, **_COMMON)

#: Name of the profile the fuzz tests use.
FUZZ_PROFILE = "handzoo-fuzz-long" if FUZZ_LONG else "handzoo-fuzz"

#: Per-reader counts: ``FUZZ_STATS[reader][outcome] += 1`` (outcome: "ok", error class name).
FUZZ_STATS: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)


def fuzz_settings(*, examples: int | None = None, long_examples: int | None = None) -> settings:
    """Hypothesis settings for one fuzz test.

    Args:
        examples: Examples in the default (CI) profile; default 60. Lower it for slow readers so
            each stays within a few seconds.
        long_examples: Examples in the long profile; default 3000.

    Returns:
        A ``settings`` object usable as a decorator.
    """
    base = settings.get_profile(FUZZ_PROFILE)
    n = (long_examples or 3000) if FUZZ_LONG else (examples or 60)
    return settings(base, max_examples=n)


def record(reader: str, outcome: str) -> None:
    """Count one fuzz example for the report (``outcome``: "ok" or the error class name)."""
    FUZZ_STATS[reader][outcome] += 1


def handzoo_or_result(reader: str, call, *args, **kwargs):
    """Run ``call``; return its result or ``None`` if it raised a HandzooError (counted either way).

    Any other exception propagates, so hypothesis reports it as a failing example.

    Args:
        reader: Name of the reader under test (a key of ``FUZZ_STATS``).
        call: The reader.
        *args: Its positional arguments.
        **kwargs: Its keyword arguments.

    Returns:
        The reader's result, or ``None`` when it refused the input with a HandzooError.
    """
    from handzoo.errors import HandzooError

    try:
        result = call(*args, **kwargs)
    except HandzooError as exc:
        record(reader, type(exc).__name__)
        return None
    record(reader, "ok")
    return result
