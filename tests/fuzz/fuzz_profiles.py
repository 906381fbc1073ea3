"""Profiles and counters of the fuzz suite (see ``tests/fuzz/conftest.py``)."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import threading

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

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


def handzoo_or_result(reader: str, call, *args, limit_s: float = 10.0, **kwargs):
    """Run ``call``; return its result or ``None`` if it raised a HandzooError (counted either way).

    Any other exception propagates, so hypothesis reports it as a failing example.

    Args:
        reader: Name of the reader under test (a key of ``FUZZ_STATS``).
        call: The reader.
        *args: Its positional arguments.
        limit_s: Longest time one input may take (a longer run fails the example as a hang).
        **kwargs: Its keyword arguments.

    Returns:
        The reader's result, or ``None`` when it refused the input with a HandzooError.
    """
    from handzoo.errors import HandzooError

    try:
        with no_hang(limit_s):
            result = call(*args, **kwargs)
    except HandzooError as exc:
        record(reader, type(exc).__name__)
        return None
    record(reader, "ok")
    return result


class Hang(AssertionError):
    """A reader took longer than the fuzz suite allows for one input."""


@contextlib.contextmanager
def no_hang(seconds: float = 10.0):
    """Fail the example (``Hang``) when the body runs longer than ``seconds`` (SIGALRM, main thread, POSIX).

    Args:
        seconds: The limit for one input.
    """
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _alarm(signum, frame):  # noqa: ARG001 - signal handler signature
        raise Hang(f"a reader ran longer than {seconds} s on one input")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@st.composite
def mutated(draw, base: bytes, max_edits: int = 8):
    """Bytes derived from ``base`` by a few byte flips, insertions, deletions and a possible truncation.

    Args:
        draw: Hypothesis' draw function (supplied by ``@st.composite``).
        base: The valid input to start from.
        max_edits: The most edits applied.

    Returns:
        A strategy of byte strings.
    """
    data = bytearray(base)
    for _ in range(draw(st.integers(0, max_edits))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        if not data:
            data.extend(draw(st.binary(min_size=1, max_size=8)))
            continue
        pos = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[pos] = draw(st.sampled_from([0, 0xFF, 0x7F, 0x80, ord("{"), ord('"'), ord("-"), ord("9")]))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        else:
            del data[pos:]
    return bytes(data)
