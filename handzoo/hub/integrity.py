"""File integrity without torch: sha256 digests and safetensors header checks.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON (tensor name ->
dtype, shape, data offsets; optional ``__metadata__``), then the tensor bytes. The format requires
the byte buffer to be fully covered by the offsets, so a truncated or padded file is detected from
the header alone.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handzoo.errors import WeightsError

__all__ = ["file_kind", "sha256_file", "SafetensorsInfo", "read_safetensors_header"]

_CHUNK = 1 << 20
_MAX_HEADER = 100 * 1024 * 1024
_DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
    "U32": 4, "I32": 4, "F32": 4,
    "U64": 8, "I64": 8, "F64": 8,
}  # fmt: skip


def file_kind(path: str | Path) -> str | None:
    """What ``path`` is when it is not a regular file: ``"missing"``, ``"a directory"``, ``"a FIFO"``...

    Symbolic links are followed. Returns ``None`` for a regular file. Never opens the path (opening
    a FIFO would block).
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "missing"
    except NotADirectoryError:
        return "missing (a parent is a file, not a directory)"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
        return f"unreadable ({exc.strerror})"
    if stat.S_ISREG(mode):
        return None
    for test, what in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return what
    return "not a regular file"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _is_count(v: Any) -> bool:
    """A non-negative JSON integer (``true``/``false`` are not integers here)."""
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def sha256_file(path: str | Path) -> str:
    """Hex sha256 digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class SafetensorsInfo:
    """What a safetensors header says.

    Attributes:
        tensors: name -> ``{"dtype": str, "shape": list[int], "data_offsets": [begin, end]}``.
        metadata: the string-to-string ``__metadata__`` mapping (empty when absent).
        size: file size in bytes.
    """

    tensors: dict[str, dict[str, Any]]
    metadata: dict[str, str]
    size: int


def read_safetensors_header(path: str | Path) -> SafetensorsInfo:
    """Read and check a safetensors file's header (the tensor bytes are not read).

    Raises:
        WeightsError: if the file is missing, not safetensors, or truncated/padded.
    """
    p = Path(path)
    hint = f"if {p.name} is an original checkpoint (.pth/.pt/.tar), convert it with `handzoo convert VARIANT {p}`"
    kind = file_kind(p)
    if kind is not None and kind.startswith("missing"):
        raise WeightsError(f"weights file {p} does not exist", hint="check the path")
    if kind is not None:
        raise WeightsError(f"weights file {p} is {kind}, not a file", hint="pass the path of a .safetensors file")
    try:
        size = p.stat().st_size
        with p.open("rb") as f:
            raw_len = f.read(8)
            if len(raw_len) < 8:
                raise WeightsError(f"{p} is not a safetensors file (too short)", hint=hint)
            (n,) = struct.unpack("<Q", raw_len)
            if n == 0 or n > min(_MAX_HEADER, size - 8):
                raise WeightsError(f"{p} is not a safetensors file (bad header length)", hint=hint)
            header = json.loads(f.read(n).decode("utf-8"), parse_constant=_no_constant)
    except FileNotFoundError:
        raise WeightsError(f"weights file {p} does not exist", hint="check the path") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise WeightsError(f"{p} is not a safetensors file (unreadable header)", hint=hint) from None
    except OSError as exc:
        raise WeightsError(f"cannot read weights file {p}: {exc.strerror}") from None
    if not isinstance(header, dict):
        raise WeightsError(f"{p} is not a safetensors file (header is not a mapping)", hint=hint)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise WeightsError(f"{p}: malformed safetensors header (__metadata__ must map strings to strings)", hint=hint)
    spans: list[tuple[int, int, str]] = []
    for name, t in header.items():
        ok = isinstance(t, dict) and t.get("dtype") in _DTYPE_BYTES and isinstance(t.get("shape"), list)
        offs = t.get("data_offsets") if ok else None
        if not (
            ok
            and all(_is_count(d) for d in t["shape"])
            and isinstance(offs, list)
            and len(offs) == 2
            and all(_is_count(o) for o in offs)
            and offs[0] <= offs[1]
        ):
            raise WeightsError(f"{p}: malformed safetensors entry for tensor {name!r}", hint=hint)
        if offs[1] - offs[0] != math.prod(t["shape"]) * _DTYPE_BYTES[t["dtype"]]:
            raise WeightsError(f"{p}: tensor {name!r} has a byte length that does not match its shape", hint=hint)
        spans.append((offs[0], offs[1], name))
    covered = 0
    for begin, end, name in sorted(spans):  # the format requires the buffer covered exactly once, in order
        if begin != covered:
            what = "overlaps another tensor" if begin < covered else "leaves a gap before it"
            raise WeightsError(f"{p}: the data of tensor {name!r} {what} (crafted or corrupt header)", hint=hint)
        covered = end
    if 8 + n + covered != size:
        raise WeightsError(
            f"{p} is truncated or corrupt: the header describes {8 + n + covered} bytes, the file has {size}",
            hint="delete it and download or convert it again",
        )
    return SafetensorsInfo(tensors=header, metadata=dict(metadata), size=size)
