"""Fuzzing the safetensors reader: header checks, then the tensor reader behind ``convert``."""

from __future__ import annotations

import io
import json
import struct
import tempfile
from pathlib import Path

import numpy as np
import torch
from fuzz_profiles import fuzz_settings, handzoo_or_result, mutated
from hypothesis import given
from hypothesis import strategies as st
from safetensors.torch import save

from handzoo.hub.convert import read_checkpoint
from handzoo.hub.integrity import read_safetensors_header

_VALID = save({"a": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.ones(4, dtype=torch.int64)})
_DIR = Path(tempfile.mkdtemp(prefix="handzoo-fuzz-st-"))


def _file(data: bytes, suffix: str = ".safetensors") -> Path:
    p = _DIR / f"x{suffix}"
    p.write_bytes(data)
    return p


def _check_result(p: Path, info) -> None:
    """A header that passed the checks describes the file exactly, and the tensors read back."""
    assert (
        8
        + struct.unpack("<Q", p.read_bytes()[:8])[0]
        + sum(t["data_offsets"][1] - t["data_offsets"][0] for t in info.tensors.values())
        == p.stat().st_size
    )
    tensors = handzoo_or_result("safetensors-tensors", read_checkpoint, p)
    if tensors is not None:
        assert set(tensors) == set(info.tensors)
        for name, t in tensors.items():
            assert list(t.shape) == info.tensors[name]["shape"]


@fuzz_settings(examples=150, long_examples=3000)
@given(mutated(_VALID, max_edits=6))
def test_mutated_file(data):
    p = _file(data)
    info = handzoo_or_result("safetensors-header", read_safetensors_header, p)
    if info is not None:
        _check_result(p, info)
    else:  # a refused header never reaches the tensor reader as something else
        handzoo_or_result("safetensors-tensors", read_checkpoint, p)


_json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=8)
)
_offsets = st.one_of(st.lists(st.integers(-16, 64), min_size=0, max_size=3), _json_leaf)
_entry = st.fixed_dictionaries(
    {},
    optional={
        "dtype": st.sampled_from(["F32", "I64", "U8", "BF16", "F64", "XX", 5]),
        "shape": st.one_of(
            st.lists(st.one_of(st.integers(-2, 6), st.booleans(), st.text(max_size=2)), max_size=3), _json_leaf
        ),
        "data_offsets": _offsets,
    },
)
_header = st.dictionaries(
    st.one_of(st.sampled_from(["a", "b", "__metadata__"]), st.text(max_size=4)),
    st.one_of(_entry, _json_leaf, st.dictionaries(st.text(max_size=3), _json_leaf, max_size=3)),
    max_size=4,
)


@fuzz_settings(examples=100, long_examples=2000)
@given(_header, st.integers(0, 64))
def test_crafted_header(header, payload):
    raw = json.dumps(header).encode()
    p = _file(struct.pack("<Q", len(raw)) + raw + bytes(payload))
    info = handzoo_or_result("safetensors-header", read_safetensors_header, p)
    if info is not None:
        _check_result(p, info)


@fuzz_settings(examples=100, long_examples=3000)
@given(st.binary(max_size=256))
def test_random_bytes(data):
    p = _file(data)
    info = handzoo_or_result("safetensors-header", read_safetensors_header, p)
    if info is not None:
        _check_result(p, info)


def test_valid_file_reads_back():
    p = _file(_VALID)
    info = read_safetensors_header(p)
    assert sorted(info.tensors) == ["a", "b"]
    t = read_checkpoint(p)
    np.testing.assert_array_equal(t["a"].numpy(), np.arange(6, dtype=np.float32).reshape(2, 3))
    assert io.BytesIO(_VALID).getbuffer().nbytes == info.size
