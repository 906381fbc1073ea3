"""Fuzzing cached bench cells: mutated cell files through the cache and through a resumed run.

A small run of the bench stand-ins (``tests/bench/bench_fakes.py``) writes real cells once. An
example overwrites a cell with mutated bytes. The contract for :meth:`CellCache.load`: it never
raises; it returns a cell that matches its digest and the results schema (then identical to the
stored one), or None with a note. End to end: a resumed run reports exactly the numbers of the
first run (a corrupted cell is recomputed, never reported).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from fuzz_profiles import fuzz_settings, handzoo_or_result, mutated, record
from hypothesis import given
from hypothesis import strategies as st

_BENCH_TESTS = str(Path(__file__).resolve().parents[1] / "bench")
if _BENCH_TESTS not in sys.path:
    sys.path.insert(0, _BENCH_TESTS)

from bench_fakes import tiny_providers  # noqa: E402

from handzoo.bench.cache import CellCache, cell_digest  # noqa: E402
from handzoo.bench.report import write_report  # noqa: E402
from handzoo.bench.runner import BenchConfig, run_bench  # noqa: E402

_OUT = Path(tempfile.mkdtemp(prefix="handzoo-fuzz-cells-"))
_CFG = BenchConfig(out=_OUT, models="zero,tiny-good", progress=False)
_RUN = run_bench(_CFG, tiny_providers())
_TRUE = {r.cell.model: (r.key, dict(r.metrics)) for r in _RUN.results}
_CELLS = {r.cell.model: (r.cell, r.key, CellCache(_OUT / "cells").path(r.cell, r.key)) for r in _RUN.results}
_GOOD = {m: p.read_bytes() for m, (_c, _k, p) in _CELLS.items()}


def _load(model: str, data: bytes):
    cell, key, path = _CELLS[model]
    path.write_bytes(data)
    try:
        cache = CellCache(_OUT / "cells")
        got = cache.load(cell, key)
        if got is None:
            assert key in cache.notes
            record("cell:load", "recomputed")
            return
        stored = json.loads(data)
        assert stored["digest"] == cell_digest(got.to_dict() | {"cached": False})
        assert got.metrics == _TRUE[model][1]  # a valid digest means the numbers are the measured ones
        record("cell:load", "ok")
    finally:
        path.write_bytes(_GOOD[model])


@fuzz_settings(examples=80, long_examples=3000)
@given(st.sampled_from(sorted(_GOOD)).flatmap(lambda m: st.tuples(st.just(m), mutated(_GOOD[m], max_edits=6))))
def test_mutated_cell_files_never_raise_and_never_lie(case):
    model, data = case
    _load(model, data)


@fuzz_settings(examples=30, long_examples=1000)
@given(st.sampled_from(sorted(_GOOD)), st.binary(max_size=300))
def test_random_bytes_as_a_cell(model, data):
    _load(model, data)


_json_value = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5)
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=10,
)


@fuzz_settings(examples=60, long_examples=2000)
@given(
    st.sampled_from(sorted(_GOOD)),
    st.sampled_from(["metrics", "units", "curves", "timings", "info", "num_samples", "key", "model", "cached"]),
    _json_value,
    st.booleans(),
)
def test_typed_nonsense_in_a_cell_field(model, field, value, redigest):
    """Any value in any field, even with a recomputed digest: valid and true, or recomputed."""
    data = json.loads(_GOOD[model])
    data[field] = value
    if redigest:
        data["digest"] = cell_digest(data)
    cell, key, path = _CELLS[model]
    path.write_text(json.dumps(data))
    try:
        cache = CellCache(_OUT / "cells")
        got = cache.load(cell, key)
        if got is not None:  # only a redigested, schema-valid edit can pass; then it is what is on disk
            assert redigest and got.to_dict()[field] == value or field == "cached"
        record("cell:field", "ok" if got is not None else "recomputed")
    finally:
        path.write_bytes(_GOOD[model])


@fuzz_settings(examples=5, long_examples=200)
@given(st.sampled_from(sorted(_GOOD)).flatmap(lambda m: st.tuples(st.just(m), mutated(_GOOD[m], max_edits=4))))
def test_resumed_run_reports_the_measured_numbers(case):
    model, data = case
    _cell, _key, path = _CELLS[model]
    path.write_bytes(data)
    try:
        out = Path(tempfile.mkdtemp(dir=_OUT))
        run = handzoo_or_result("cell:resume", run_bench, _CFG, tiny_providers())
        assert run is not None
        assert {r.cell.model: dict(r.metrics) for r in run.results} == {m: t[1] for m, t in _TRUE.items()}
        doc = handzoo_or_result("cell:report", write_report, run, out)
        assert doc is not None and all(
            isinstance(v, float | None) for r in doc["results"] for v in r["metrics"].values()
        )
    finally:
        path.write_bytes(_GOOD[model])
