"""Fuzzing ``handzoo convert``'s checkpoint reader with mutated PyTorch files, text and junk."""

from __future__ import annotations

import io
import pickle
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from fuzz_profiles import fuzz_settings, handzoo_or_result, mutated
from hypothesis import given
from hypothesis import strategies as st

_HUB_TESTS = str(Path(__file__).resolve().parents[1] / "hub")
if _HUB_TESTS not in sys.path:
    sys.path.insert(0, _HUB_TESTS)

from hub_tiny import TINY, TINY_VARIANT, TinyMethod, TinyPlugin, tiny_card, tiny_convert, to_original  # noqa: E402

from handzoo.hub.cache import read_entry  # noqa: E402
from handzoo.hub.convert import convert_checkpoint, read_checkpoint, unwrap_state_dict  # noqa: E402
from handzoo.hub.integrity import sha256_file  # noqa: E402
from handzoo.plugins import PluginManager  # noqa: E402

_DIR = Path(tempfile.mkdtemp(prefix="handzoo-fuzz-ckpt-"))


def _saved(obj, **kwargs) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)
    return buf.getvalue()


torch.manual_seed(0)
_STATE = {f"module.{k}": v for k, v in to_original(TinyMethod().state_dict()).items()}
_ZIP = _saved({"epoch": 3, "state_dict": _STATE})
_LEGACY = _saved({"state_dict": _STATE}, _use_new_zipfile_serialization=False)
_PICKLE = pickle.dumps({"state_dict": {"w": [1.0, 2.0]}, "note": "x"}, protocol=2)


def _file(data: bytes) -> Path:
    p = _DIR / "ckpt.pth"
    p.write_bytes(data)
    return p


def _read_and_unwrap(p: Path):
    obj = read_checkpoint(p)
    return unwrap_state_dict(obj)


def _check(result) -> None:
    if result is None:
        return
    state, ignored = result
    assert state and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items())
    assert all(isinstance(k, str) for k in ignored)


@fuzz_settings(examples=120, long_examples=3000)
@given(st.one_of(mutated(_ZIP, max_edits=6), mutated(_LEGACY, max_edits=6), mutated(_PICKLE, max_edits=4)))
def test_mutated_checkpoint(data):
    _check(handzoo_or_result("checkpoint", _read_and_unwrap, _file(data)))


@fuzz_settings(examples=80, long_examples=2000)
@given(st.one_of(st.binary(max_size=128), st.text(max_size=64).map(str.encode)))
def test_junk_and_text(data):
    _check(handzoo_or_result("checkpoint", _read_and_unwrap, _file(data)))


@pytest.fixture(scope="module")
def tiny_zoo():
    from handzoo.plugins import reset_plugin_manager

    pm = PluginManager(autoload=False, extra=[], entry_points=[])
    pm.register(TinyPlugin([tiny_card()], tiny_convert), name=TINY)
    reset_plugin_manager(pm)
    yield pm
    reset_plugin_manager(None)


@fuzz_settings(examples=25, long_examples=400)
@given(mutated(_ZIP, max_edits=3))
def test_convert_end_to_end(tiny_zoo, data):
    """The whole `convert`: a refused file never replaces the good cached entry."""
    good = convert_checkpoint(TINY_VARIANT, _file(_ZIP)).sha256
    res = handzoo_or_result("convert", convert_checkpoint, TINY_VARIANT, _file(data))
    entry = read_entry(TINY_VARIANT)
    assert entry is not None and sha256_file(entry.path) == entry.sha256
    if res is None:
        assert entry.sha256 == good
    else:
        assert entry.sha256 == res.sha256
