"""Write a state dict exactly as PyTorch 0.3 under Python 2 did (legacy, non-zip format).

Layout of such a file (``torch.save`` before 1.6; 0.3's ``_save``): five back-to-back pieces —
the pickled magic number, protocol version 1001 and system info, then the main pickle (protocol
2), then the pickled list of storage keys, then each storage's raw bytes (int64 element count,
then little-endian data). In the main pickle a Python 2 ``OrderedDict`` reduces to
``OrderedDict([[key, value], ...])``, keys are byte strings (``SHORT_BINSTRING``), each tensor
is ``torch._utils._rebuild_tensor(storage, offset, size, stride)`` (0.3 had no ``_v2``) and each
storage a persistent id ``('storage', torch.FloatStorage, key, location, size, None)``.
Python 3's pickler cannot produce Python 2 strings, so the main pickle is written opcode by
opcode here.
"""

from __future__ import annotations

import io
import pickle
import struct
from collections.abc import Mapping
from pathlib import Path

import torch

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001


def _short_str(s: str) -> bytes:
    raw = s.encode("ascii")
    if len(raw) >= 256:
        raise ValueError("key too long for SHORT_BINSTRING")
    return b"U" + bytes([len(raw)]) + raw


def _int(i: int) -> bytes:
    if 0 <= i < 256:
        return b"K" + bytes([i])
    if 0 <= i < 65536:
        return b"M" + struct.pack("<H", i)
    return b"J" + struct.pack("<i", i)


def _tuple(items: list[bytes]) -> bytes:
    return b"(" + b"".join(items) + b"t"


def legacy_py2_bytes(state: Mapping[str, torch.Tensor], location: str = "cuda:0") -> bytes:
    """The bytes of ``torch.save(state)`` as PyTorch 0.3 / Python 2 wrote them (float tensors)."""
    out = io.BytesIO()
    pickle.dump(MAGIC_NUMBER, out, protocol=2)
    pickle.dump(PROTOCOL_VERSION, out, protocol=2)
    pickle.dump(
        {"protocol_version": PROTOCOL_VERSION, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 8}},
        out,
        protocol=2,
    )
    body = bytearray(b"\x80\x02" + b"ccollections\nOrderedDict\n" + b"](")
    storages: list[tuple[str, torch.Tensor]] = []
    for key, value in state.items():
        t = value.detach().to(torch.float32).contiguous()
        skey = str(140000000 + len(storages))  # 0.3 used the storage's C address as its key
        storages.append((skey, t))
        pid = (
            _tuple(
                [
                    _short_str("storage"),
                    b"ctorch\nFloatStorage\n",
                    _short_str(skey),
                    _short_str(location),
                    _int(t.numel()),
                    b"N",
                ]
            )
            + b"Q"
        )
        tensor = (
            b"ctorch._utils\n_rebuild_tensor\n"
            + _tuple([pid, _int(0), _tuple([_int(s) for s in t.shape]), _tuple([_int(s) for s in t.stride()])])
            + b"R"
        )
        body += b"]" + _short_str(key) + b"a" + tensor + b"a"
    body += b"e\x85R."
    out.write(bytes(body))
    pickle.dump([k for k, _ in storages], out, protocol=2)
    for _, t in storages:
        out.write(struct.pack("<q", t.numel()))
        out.write(t.numpy().tobytes())
    return out.getvalue()


def write_legacy_checkpoint(path: str | Path, state: Mapping[str, torch.Tensor], prefix: str = "module.") -> Path:
    """Write ``state`` (float tensors; PyTorch 0.3 had no ``num_batches_tracked``) with ``prefix``."""
    path = Path(path)
    kept = {prefix + k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    path.write_bytes(legacy_py2_bytes(kept))
    return path
