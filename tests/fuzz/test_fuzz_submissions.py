"""Fuzzing every ``handzoo-bench score`` format: mutated submissions and ground truth through score_files.

For each protocol a small valid ground truth and prediction are written once; an example replaces
one of the files with mutated bytes (or random bytes) and scores. The contract: a
:class:`~handzoo.errors.HandzooError`, or a result whose metrics are numbers and whose JSON view
is valid JSON (no NaN literals).
"""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
from pathlib import Path

import numpy as np
from fuzz_profiles import fuzz_settings, handzoo_or_result, mutated
from hypothesis import given
from hypothesis import strategies as st

from handzoo.protocols import get_protocol

_DIR = Path(tempfile.mkdtemp(prefix="handzoo-fuzz-sub-"))
_RNG = np.random.default_rng(0)
_N = 3


def _write(d: Path, files: dict[str, bytes]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (d / name).write_bytes(data)
    return d


def _npz(path: Path, **arrays) -> bytes:
    np.savez(path, **arrays)
    return path.read_bytes()


def _js(obj) -> bytes:
    return json.dumps(obj).encode()


_gx, _gv = _RNG.normal(0, 0.05, (_N, 21, 3)), _RNG.normal(0, 0.05, (_N, 20, 3))
_FH = _write(
    _DIR / "fh",
    {
        "evaluation_xyz.json": _js(_gx.tolist()),
        "evaluation_verts.json": _js(_gv.tolist()),
        "pred.json": _js([(_gx + 0.01).tolist(), (_gv + 0.01).tolist()]),
    },
)
_lines = lambda j: "".join(f"{i}," + ",".join(repr(float(x)) for x in r.reshape(-1)) + "\n" for i, r in enumerate(j))  # noqa: E731
_gj = _RNG.normal(0, 50, (_N, 21, 3))
_DEX = _write(_DIR / "dex", {"joint_3d.txt": _lines(_gj).encode(), "res.txt": _lines(_gj + 2).encode()})
_ij = _RNG.normal(0, 100, (_N, 42, 3))
_IH = _DIR / "ih"
_IH.mkdir()
_npz(
    _IH / "interhand_gt.npz",
    joint_cam=_ij,
    joint_valid=np.ones((_N, 42)),
    hand_type=np.array(["right", "left", "interacting"]),
)
_npz(_IH / "pred.npz", joint_cam=_ij + 3)
(_IH / "pred.json").write_bytes(_js({"joint_cam": (_ij + 3).tolist()}))
_P3 = _DIR / "p3"
_P3.mkdir()
_npz(_P3 / "gt.npz", joints=_gx, valid=np.ones((_N, 21), bool))
_npz(_P3 / "pred.npz", joints=_gx + 0.01)
(_P3 / "pred.json").write_bytes(_js({"joints": (_gx + 0.01).tolist()}))

#: (protocol, folder, file to mutate, prediction file)
_CASES = [
    ("freihand", _FH, "pred.json", "pred.json"),
    ("freihand", _FH, "evaluation_xyz.json", "pred.json"),
    ("ho3d-v2", _FH, "pred.json", "pred.json"),
    ("dexycb-h2onet", _FH, "evaluation_verts.json", "pred.json"),
    ("dexycb", _DEX, "res.txt", "res.txt"),
    ("dexycb", _DEX, "joint_3d.txt", "res.txt"),
    ("dexycb-handoccnet", _DEX, "res.txt", "res.txt"),
    ("interhand", _IH, "pred.npz", "pred.npz"),
    ("interhand", _IH, "interhand_gt.npz", "pred.npz"),
    ("interhand", _IH, "pred.json", "pred.json"),
    ("stb-3dhand", _P3, "pred.npz", "pred.npz"),
    ("rhd", _P3, "gt.npz", "pred.npz"),
    ("egodexter-3dhand", _P3, "pred.json", "pred.json"),
]


@contextlib.contextmanager
def _replaced(path: Path, data: bytes):
    original = path.read_bytes()
    path.write_bytes(data)
    try:
        yield
    finally:
        path.write_bytes(original)


def _score(protocol: str, folder: Path, pred: str):
    result = get_protocol(protocol).score_files(folder, folder / pred)
    for k, v in result.metrics.items():
        assert isinstance(v, float | int) and not isinstance(v, bool), (k, v)
        assert not math.isinf(v) or "AUC" not in k, (k, v)
    json.dumps(result.to_dict(), allow_nan=False)
    return result


def _run(case: tuple, data: bytes) -> None:
    protocol, folder, target, pred = case
    with _replaced(folder / target, data):
        handzoo_or_result(f"score:{protocol}:{target}", _score, protocol, folder, pred)


def _mutated_case(max_edits: int):
    return st.sampled_from(_CASES).flatmap(
        lambda c: st.tuples(st.just(c), mutated((c[1] / c[2]).read_bytes(), max_edits=max_edits))
    )


def test_every_case_scores_unmutated():
    for protocol, folder, _target, pred in _CASES:
        _score(protocol, folder, pred)


@fuzz_settings(examples=80, long_examples=3000)
@given(_mutated_case(6))
def test_mutated_submission_and_ground_truth_files(case):
    c, data = case
    _run(c, data)


@fuzz_settings(examples=30, long_examples=1000)
@given(st.sampled_from(_CASES), st.binary(max_size=200))
def test_random_bytes_in_every_format(c, data):
    _run(c, data)


_json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=4)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=20,
)


@fuzz_settings(examples=40, long_examples=1500)
@given(st.sampled_from([c for c in _CASES if c[2].endswith(".json")]), _json_value)
def test_typed_nonsense_json(c, value):
    if c[2] in ("pred.json",) and c[0] in ("interhand", "egodexter-3dhand"):
        value = {"joint_cam" if c[0] == "interhand" else "joints": value}
    _run(c, json.dumps(value).encode())
