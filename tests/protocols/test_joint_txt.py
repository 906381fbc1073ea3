"""The fast reader of DexYCB results files (Arrow, in pieces on threads) gives the line reader's arrays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_numjson import _token


@st.composite
def _joint_txt(draw: st.DrawFn) -> bytes:
    """DexYCB results lines (ids may repeat), sometimes damaged (blank line, quotes, a missing value)."""
    n = draw(st.integers(1, 40))
    ids = draw(st.lists(st.integers(-(2**40), 2**40) | st.integers(0, 5), min_size=n, max_size=n))
    vals = draw(st.lists(_token, min_size=63 * n, max_size=63 * n))
    lines = [f"{i}," + ",".join(vals[63 * k : 63 * k + 63]) for k, i in enumerate(ids)]
    damage = draw(st.sampled_from(["none", "none", "blank", "quote", "short", "crlf", "nan"]))
    k = draw(st.integers(0, n - 1))
    if damage == "blank":
        lines.insert(k, "")
    elif damage == "quote":
        lines[k] = lines[k].replace(",", ',"', 1) + '"'
    elif damage == "short":
        lines[k] = lines[k].rsplit(",", 1)[0]
    elif damage == "nan":
        lines[k] = lines[k].rsplit(",", 1)[0] + ",nan"
    sep = "\r\n" if damage == "crlf" else "\n"
    return (sep.join(lines) + sep).encode()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_joint_txt())
def test_joint_txt_fast_reader_equals_line_reader(tmp_path_factory, raw: bytes) -> None:
    """Arrow's reading of a DexYCB results file is the line reader's, or steps aside (None)."""
    from handzoo.errors import SubmissionError
    from handzoo.protocols import io

    path = tmp_path_factory.mktemp("txt") / "results.txt"
    path.write_bytes(raw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(io, "_TXT_MIN_BYTES", 0)
        fast = io._fast_joint_txt(raw)
        for k in (2, 5):  # the text cut at line breaks into k pieces read on threads: the same
            cut = io._fast_joint_txt(raw, pieces=k)
            assert (cut is None) == (fast is None)
            if cut is not None:
                assert all(np.array_equal(a, b) for a, b in zip(cut[:2], fast[:2])) and cut[2] == fast[2]
        mp.setattr(io, "_fast_joint_txt", lambda r: None)
        try:
            slow = io.read_joint_txt(path, "results")
        except SubmissionError:
            slow = None
    if fast is None:
        return
    assert slow is not None  # never accepts what the line reader rejects
    assert np.array_equal(fast[0], slow[0]) and fast[2] == slow[2]
    assert np.array_equal(fast[1], slow[1])
