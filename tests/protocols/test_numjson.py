"""The fast reader of number-list JSON gives json.loads's numbers, or steps aside (None)."""

from __future__ import annotations

import json
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handzoo.protocols import _numjson
from handzoo.protocols._numjson import parse_number_lists


@pytest.fixture(autouse=True, params=_numjson.ENGINES)
def _small_files(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    monkeypatch.setattr(_numjson, "_MIN_BYTES", 0)  # the fast path for every size
    monkeypatch.setattr(_numjson, "_DEFAULT_ENGINE", request.param)  # every test with each number parser


def _same(fast: object, ref: object) -> bool:
    """Bitwise equality of the fast result and json.loads's lists.

    The one exception is the sign of a zero written as the integer ``-0`` (json gives the int 0,
    which has no sign; the fast reader -0.0): equal as numbers, and no score can tell them apart.
    """
    if isinstance(fast, list):
        return isinstance(ref, list) and len(fast) == len(ref) and all(_same(a, b) for a, b in zip(fast, ref))
    want = np.asarray(ref, dtype=np.float64)
    if fast.shape != want.shape or not np.array_equal(fast, want):
        return False
    nz = want != 0
    return np.array_equal(fast[nz].view(np.int64), want[nz].view(np.int64))


def _parsed_in_pieces(data: bytes, attr: str, piece: int, engine: str | None = None) -> object:
    """``parse_number_lists(data, engine)`` with the piece size ``_numjson.<attr>`` set to ``piece``."""
    with mock.patch.object(_numjson, attr, piece):
        return parse_number_lists(data, engine)


def _assert_same_or_both_rejected(cut: object, whole: object) -> None:
    if whole is None or cut is None:
        assert whole is None and cut is None
    else:
        assert _same(cut, whole)


# numbers as JSON writers print them, and ones that need correct rounding (long, tiny, huge)
_token = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.builds(
        lambda sign, i, f, e: f"{sign}{i}.{f}" + (f"e{e}" if e is not None else ""),
        st.sampled_from(["", "-"]),
        st.sampled_from(["0", "1", "9", "123", "100"]),
        st.text("0123456789", min_size=1, max_size=40),
        st.none() | st.integers(-330, 310),
    ),
    st.sampled_from(["-0", "-0.0", "0e0", "1E+2", "2.4703282292062328e-324", "1.7976931348623157e308"]),
)


@st.composite
def _regular(draw: st.DrawFn) -> str:
    """A regular nested list of number tokens (1-3 levels), serialised with some spacing style."""
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    toks = iter(draw(st.lists(_token, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))))
    sep = draw(st.sampled_from([",", ", ", " , ", ",\n  "]))
    pad = draw(st.sampled_from(["", " ", "\n"]))

    def build(level: int) -> str:
        if level == len(shape):
            return next(toks)
        return "[" + pad + sep.join(build(level + 1) for _ in range(shape[level])) + pad + "]"

    return build(0)


_mutation_chars = st.sampled_from(list("0123456789.eE+-[], \n") + ["1.", ".5", "+1", "01", "-01", "]", "["])


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    """A regular list or [a, b] of two, with up to 3 random insertions / deletions / replacements."""
    text = draw(_regular())
    if draw(st.booleans()):
        text = "[" + text + ", " + draw(_regular()) + "]"
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["ins", "del", "rep"]))
        piece = draw(_mutation_chars)
        if op == "ins":
            text = text[:i] + piece + text[i:]
        elif op == "del":
            text = text[:i] + text[i + 1 :]
        else:
            text = text[:i] + piece + text[i + 1 :]
    return text


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_regular())
def test_regular_lists_equal_json(text: str) -> None:
    fast = parse_number_lists(text.encode())
    assert fast is not None
    assert _same(fast, json.loads(text))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_anything_accepted_is_what_json_reads(text: str) -> None:
    fast = parse_number_lists(text.encode())
    if fast is None:
        return
    ref = json.loads(text)  # the fast path never accepts what json rejects
    if isinstance(fast, list):
        assert _same(fast, ref)
    else:
        assert _same(fast, ref)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated(), st.sampled_from([1, 2, 5, 16]))
def test_pieces_of_any_size_read_the_same(text: str, piece: int) -> None:
    """The text is translated and parsed in pieces cut after commas: their size changes nothing."""
    whole = parse_number_lists(text.encode())
    cut = _parsed_in_pieces(text.encode(), "_PIECE_BYTES", piece)
    _assert_same_or_both_rejected(cut, whole)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated(), st.sampled_from([1, 8, 40, 200]))
def test_simdjson_pieces_of_any_size_read_the_same(text: str, piece: int) -> None:
    """simdjson parses large texts in pieces cut between samples: their size changes nothing."""
    data = ("[" + text + ", " + text + ", " + text + "]").encode()  # lists of lists: cut points
    whole = parse_number_lists(data, "simdjson")
    cut = _parsed_in_pieces(data, "_SIMD_PIECE_BYTES", piece, "simdjson")
    _assert_same_or_both_rejected(cut, whole)
    if cut is not None:
        assert _same(cut, json.loads(data))


@pytest.mark.parametrize("shape", [(40, 7, 3), (2, 30, 5, 3), (3, 4, 6, 2, 3)])
@pytest.mark.parametrize("two_parts", [False, True])
def test_simdjson_pieces_at_any_depth(shape: tuple[int, ...], two_parts: bool) -> None:
    """Cuts between lists of lists at any depth, a point file and pred.json's [xyz, verts] alike."""
    rng = np.random.default_rng(len(shape))
    a = rng.normal(size=shape)
    obj = [a.tolist(), (a[:, :2] * 3).tolist()] if two_parts else a.tolist()
    data = json.dumps(obj, indent=1 if two_parts else None).encode()
    assert len(_numjson._sample_cuts(data, 64)) > 3
    assert _same(_parsed_in_pieces(data, "_SIMD_PIECE_BYTES", 64, "simdjson"), obj)


@pytest.mark.parametrize(
    "text",
    [
        "[[1., 2]]",
        "[[.5, 2]]",
        "[[+1, 2]]",
        "[[01, 2]]",
        "[[-01, 2]]",
        "[[1.e5, 2]]",
        "[[1, ]2]",
        "[[1, 2] 3]",
        "[[1 [2]]]",
        "[[[1, 2], [3]]]",
        "[[1, 2], []]",
        "[[1, 2,]]",
        "[[1 2, 3]]",
        "[[1\t2, 3]]",
        "[[1,\n2 \n3]]",
        "[[-\n1, 2]]",
        "[[1e 5, 2]]",
        "[[1.5\r\n2, 3]]",
        '[["1", 2]]',
        "[[NaN, 2]]",
        "[[true, 2]]",
        "5",
        "[]",
    ],
)
def test_not_json_or_not_regular_steps_aside(text: str) -> None:
    assert parse_number_lists(text.encode()) is None


def test_two_parts_of_different_shapes() -> None:
    a = np.arange(12.0).reshape(2, 2, 3) / 7
    b = -np.arange(30.0).reshape(2, 5, 3) * 1e-5
    fast = parse_number_lists(json.dumps([a.tolist(), b.tolist()]).encode())
    assert isinstance(fast, list) and len(fast) == 2
    assert np.array_equal(fast[0], a) and np.array_equal(fast[1], b)


def test_exponent_zeros_are_json() -> None:
    fast = parse_number_lists(b"[[1e-05, 2E+07, -3.5e-010]]")
    assert _same(fast, [[1e-05, 2e07, -3.5e-10]])


def test_fh_files_read_the_same_on_both_paths(fh_inputs, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pred.json and the ground truth give the same arrays (and scores) by the fast and the orjson path."""
    from protocol_golden import write_fh_files

    from handzoo.protocols import get_protocol
    from handzoo.protocols.io import read_fh_ground_truth, read_fh_prediction

    d = fh_inputs
    monkeypatch.setenv("HANDZOO_SCORE_CACHE", "off")  # parse the ground truth every time
    pred = write_fh_files(tmp_path, d["gt_xyz"], d["gt_verts"], d["pred_xyz_noise"], d["pred_verts_noise"])
    calls = []
    name = "_parse_numbers" if _numjson._DEFAULT_ENGINE == "arrow" else "_simdjson_numbers"
    real = getattr(_numjson, name)
    monkeypatch.setattr(_numjson, name, lambda *a: calls.append(1) or real(*a))
    fast_gt = read_fh_ground_truth(tmp_path)
    fast_pred = read_fh_prediction(pred, len(fast_gt[0]))
    fast_scores = get_protocol("freihand").score_files(tmp_path, pred).scores
    assert len(calls) == 6  # every file went through the fast reader
    monkeypatch.setattr(_numjson, "_MIN_BYTES", 1 << 60)
    slow_gt = read_fh_ground_truth(tmp_path)
    slow_pred = read_fh_prediction(pred, len(slow_gt[0]))
    for a, b in zip(fast_gt + fast_pred, slow_gt + slow_pred):
        assert np.array_equal(a.view(np.int64), b.view(np.int64))
    assert get_protocol("freihand").score_files(tmp_path, pred).scores == fast_scores


def test_deep_nesting_steps_aside_at_once() -> None:
    """100k nested lists (a hostile file): no quadratic shape search, the slow path reports it."""
    assert parse_number_lists(b"[" * 100_000 + b"]" * 100_000) is None


@settings(max_examples=200, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(list(b"[],"))), max_size=2),
    chunk=st.sampled_from([1, 3, 7, 1 << 16]),
)
def test_layout_check_in_chunks_is_the_plain_comparison(shape: tuple[int, ...], edits: list, chunk: int) -> None:
    """The skeleton is compared with its regular layout piecewise: the same answer as one comparison."""
    c = _numjson._canonical(shape)
    skel = bytearray(b"[" + c + b"," + c + b"]")
    for i, ch in edits:
        skel[i % len(skel)] = ch
    skel = bytes(skel)
    old = _numjson._MATCH_BYTES
    _numjson._MATCH_BYTES = chunk
    try:
        for pos in (0, 1):
            want = pos + len(c) if skel[pos : pos + len(c)] == c else -1
            assert _numjson._canonical_end(skel, pos, shape) == want
    finally:
        _numjson._MATCH_BYTES = old
