"""`convert` on hostile or clumsy input: clean errors, no data loss, the cache never degraded."""

from __future__ import annotations

import json
import os
import struct

import pytest
import torch
from hub_tiny import TINY_VARIANT, to_original

from handzoo.cli import main
from handzoo.errors import CheckpointError, ConfigError, HandzooError, WeightsError
from handzoo.hub.cache import cache_dir, read_entry
from handzoo.hub.convert import convert_checkpoint, read_checkpoint
from handzoo.hub.integrity import read_safetensors_header, sha256_file


def _safetensors_bytes(header: dict, payload: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + payload


def _tiny_original(tiny_model, **edits) -> dict:
    state = to_original(tiny_model.state_dict())
    state.update(edits)
    return state


# ---------------------------------------------------------------- -o: no data loss, no odd targets


def test_out_ending_in_json_keeps_the_weights(install_tiny, original_checkpoint, tmp_path):
    install_tiny()
    out = tmp_path / "out" / "weights.json"
    res = convert_checkpoint(TINY_VARIANT, original_checkpoint, out=out)
    assert res.out == out
    assert read_safetensors_header(out).tensors  # the weights, not the provenance
    assert sha256_file(out) == res.sha256
    side = tmp_path / "out" / "weights.provenance.json"
    assert json.loads(side.read_text())["sha256"] == res.sha256


def test_out_onto_a_symlink_to_a_device_is_refused(install_tiny, original_checkpoint, tmp_path):
    install_tiny()
    link = tmp_path / "null.safetensors"
    link.symlink_to(os.devnull)
    with pytest.raises(CheckpointError, match="character device"):
        convert_checkpoint(TINY_VARIANT, original_checkpoint, out=link)
    assert link.is_symlink() and os.readlink(link) == os.devnull
    assert read_entry(TINY_VARIANT) is None  # refused before any work


def test_out_onto_a_fifo_is_refused(install_tiny, original_checkpoint, tmp_path):
    install_tiny()
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="FIFO"):
        convert_checkpoint(TINY_VARIANT, original_checkpoint, out=fifo)


def test_out_under_a_regular_file_is_refused(install_tiny, original_checkpoint, tmp_path):
    install_tiny()
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(CheckpointError, match="is a file, not a directory"):
        convert_checkpoint(TINY_VARIANT, original_checkpoint, out=blocker / "sub" / "w.safetensors")
    assert blocker.read_text() == "x"


def test_cache_that_is_a_file_names_the_setting(install_tiny, original_checkpoint, tmp_path, monkeypatch):
    install_tiny()
    bad = tmp_path / "cachefile"
    bad.write_text("not a dir")
    monkeypatch.setenv("HANDZOO_CACHE", str(bad))
    with pytest.raises(ConfigError, match="HANDZOO_CACHE"):
        convert_checkpoint(TINY_VARIANT, original_checkpoint)
    assert bad.read_text() == "not a dir"


# ---------------------------------------------------------------- the input file


def test_directory_input_says_it_is_a_directory(install_tiny, tmp_path):
    install_tiny()
    with pytest.raises(CheckpointError, match="is a directory"):
        convert_checkpoint(TINY_VARIANT, tmp_path)


def test_fifo_input_says_it_is_a_fifo_and_does_not_block(install_tiny, tmp_path):
    install_tiny()
    fifo = tmp_path / "ckpt.pth"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="FIFO"):
        convert_checkpoint(TINY_VARIANT, fifo)


@pytest.mark.parametrize("text", [b"t", b"true\n", b"tensor = 1\n", b"{}", b"\x80", b""])
def test_text_and_junk_files_are_checkpoint_errors(tmp_path, text):
    p = tmp_path / "ckpt.pth"
    p.write_bytes(text)
    with pytest.raises(CheckpointError):
        read_checkpoint(p)


@pytest.mark.filterwarnings("ignore:Validating sparse tensor invariants")
def test_sparse_tensor_is_refused(install_tiny, tiny_model, tmp_path):
    install_tiny()
    state = _tiny_original(tiny_model)
    key = next(k for k, v in state.items() if v.dim() == 2)
    state[key] = state[key].to_sparse()
    p = tmp_path / "sparse.pth"
    torch.save(state, p)
    with pytest.raises(CheckpointError, match="sparse"):
        convert_checkpoint(TINY_VARIANT, p)


# ---------------------------------------------------------------- crafted safetensors headers

_F32_2 = {"dtype": "F32", "shape": [2]}


@pytest.mark.parametrize(
    ("header", "payload", "match"),
    [
        ({"a": {**_F32_2, "data_offsets": ["0", "8"]}}, bytes(8), "malformed"),
        ({"a": {**_F32_2, "data_offsets": [-8, 0]}}, bytes(8), "malformed"),
        ({"a": {**_F32_2, "data_offsets": [0, 8]}, "b": {**_F32_2, "data_offsets": [4, 12]}}, bytes(12), "overlaps"),
        ({"a": {**_F32_2, "data_offsets": [0, 8]}, "b": {**_F32_2, "data_offsets": [0, 8]}}, bytes(8), "overlaps"),
        ({"a": {**_F32_2, "data_offsets": [8, 16]}}, bytes(16), "gap"),
        ({"a": {**_F32_2, "data_offsets": [0, 8]}, "__metadata__": ["x"]}, bytes(8), "__metadata__"),
        ({"a": {**_F32_2, "data_offsets": [0, 8]}, "__metadata__": {"k": 1}}, bytes(8), "__metadata__"),
        ({"a": {"dtype": "F32", "shape": [True, 2], "data_offsets": [0, 8]}}, bytes(8), "malformed"),
        ({"a": {"dtype": "F32", "shape": [-1, -2], "data_offsets": [0, 8]}}, bytes(8), "malformed"),
    ],
)
def test_crafted_safetensors_headers(tmp_path, header, payload, match):
    p = tmp_path / "crafted.safetensors"
    p.write_bytes(_safetensors_bytes(header, payload))
    with pytest.raises(WeightsError, match=match):
        read_safetensors_header(p)
    with pytest.raises(CheckpointError, match=match):
        read_checkpoint(p)


def test_safetensors_header_with_nan_constant_is_refused(tmp_path):
    p = tmp_path / "nan.safetensors"
    raw = b'{"a": {"dtype": "F32", "shape": [NaN], "data_offsets": [0, 0]}}'
    p.write_bytes(struct.pack("<Q", len(raw)) + raw)
    with pytest.raises(WeightsError):
        read_safetensors_header(p)


# ---------------------------------------------------------------- NaN / Inf weights


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_nonfinite_weights_refused_and_cached_entry_kept(install_tiny, tiny_model, original_checkpoint, tmp_path, bad):
    install_tiny()
    good = convert_checkpoint(TINY_VARIANT, original_checkpoint)
    state = _tiny_original(tiny_model)
    key = next(k for k, v in state.items() if v.is_floating_point())
    state[key] = state[key].clone()
    state[key].view(-1)[0] = bad
    p = tmp_path / "diverged.pth"
    torch.save(state, p)
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        convert_checkpoint(TINY_VARIANT, p)
    entry = read_entry(TINY_VARIANT)
    assert entry is not None and entry.sha256 == good.sha256 and sha256_file(entry.path) == good.sha256

    res = convert_checkpoint(TINY_VARIANT, p, allow_nonfinite=True)  # research opt-in
    assert res.sha256 != good.sha256 and res.provenance["nonfinite_keys"]


def test_cli_allow_nonfinite_flag(install_tiny, tiny_model, tmp_path, capsys):
    install_tiny()
    state = _tiny_original(tiny_model)
    key = next(k for k, v in state.items() if v.is_floating_point())
    state[key] = torch.full_like(state[key], float("nan"))
    p = tmp_path / "nan.pth"
    torch.save(state, p)
    assert main(["convert", TINY_VARIANT, str(p)]) == 2
    err = capsys.readouterr().err
    assert "NaN" in err and "--allow-nonfinite" in err and "Traceback" not in err
    assert main(["convert", TINY_VARIANT, str(p), "--allow-nonfinite", "--json"]) == 0


# ---------------------------------------------------------------- API arguments


def test_non_path_arguments_are_handzoo_errors(install_tiny, original_checkpoint):
    install_tiny()
    with pytest.raises(HandzooError):
        convert_checkpoint(TINY_VARIANT, 123)  # type: ignore[arg-type]
    with pytest.raises(HandzooError):
        convert_checkpoint(TINY_VARIANT, original_checkpoint, out=4.5)  # type: ignore[arg-type]


def test_refused_conversion_leaves_no_temp_files(install_tiny, tmp_path):
    install_tiny()
    p = tmp_path / "bad.pth"
    p.write_bytes(b"t")
    with pytest.raises(CheckpointError):
        convert_checkpoint(TINY_VARIANT, p)
    tmp = cache_dir() / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir())
