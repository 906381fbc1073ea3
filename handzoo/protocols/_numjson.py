"""A strict fast path for JSON files that hold only nested lists of numbers (the submission files).

``orjson`` spends most of its time creating a Python float per number (FreiHAND's
``evaluation_verts.json`` holds 9.2 million). This reader never creates them:

1. **structure**: the text with its numbers and whitespace deleted (its *skeleton*, made only of
   ``[``, ``]`` and ``,``) must equal, byte for byte, the skeleton of a regular nested list (every
   list at a level the same length), or of a list of such arrays (``pred.json`` =
   ``[xyz_list, verts_list]``). Anything else (a string, ``true``, ``null``, ``NaN``, an object,
   a ragged list) returns None and the caller falls back to ``orjson``.
2. **numbers**: brackets and whitespace are deleted and commas become line breaks (one
   ``bytes.translate``), and the one-column text is parsed by Arrow's CSV reader (multi-threaded,
   ``fast_float``: correctly rounded, the same double as Python's ``float()`` and ``json``). Each
   comma-separated field must hold exactly one number (an empty field is an error, hence a
   fallback), so the i-th number is the i-th leaf.
3. **JSON grammar**: what ``fast_float`` accepts but JSON does not (``1.``, ``.5``, ``+1``,
   ``01``, ``1.e5``), numbers glued to a bracket on the wrong side (``[1,]2``) and two numbers
   separated by whitespace only (``1 2``, which the deletion would glue into ``12``) are looked
   for by one regular-expression search of the file's bytes (on a second thread, without the
   GIL); any of them sends the file to the slow path, which reports it as ``json`` would.

With ``pysimdjson`` installed, steps 2 and 3 are one call instead: simdjson validates the whole
text against the JSON grammar (RFC 8259: it rejects exactly what ``json`` rejects among texts made
of numbers and brackets) and parses every number correctly rounded, the same double as ``json``;
its numbers are copied flat into one buffer in document order, which step 1's regular skeleton
maps onto the array's shape. That costs less than half the CPU of the Arrow path (0.42 s against 1.03 s
for FreiHAND's 190 MB ``pred.json``) but runs on one thread holding the GIL, where the Arrow path
spreads over threads that release it (``engine`` chooses; simdjson by default). Any rejection by
simdjson (not JSON, a string, ``true``, an integer beyond 64 bits) goes to the Arrow path, which
reads what ``json`` reads or returns None, and the caller's ``orjson`` / ``json`` path reports it.
:func:`parse_number_file` maps the file instead of reading it into fresh memory (a 240 MB
``bytes`` costs ~0.15 s of page faults and copying).

Without ``pyarrow`` and ``pysimdjson`` the function returns None (the caller's ``orjson`` path
gives the same numbers).
"""

from __future__ import annotations

import mmap
import os
import threading
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["parse_number_lists", "parse_number_file", "ENGINES"]

_NUMBER_CHARS = b"0123456789.eE+-"
_WS = b" \t\r\n"
_TO_LINES = bytes.maketrans(b",", b"\n")  # with _DELETE deleted: one number per line
_DELETE = b"[] \t\r\n"
_HAVE_ARROW = find_spec("pyarrow") is not None
_HAVE_SIMDJSON = find_spec("simdjson") is not None
#: the number parsers: "simdjson" (one thread, half the CPU), "arrow" (threads without the GIL)
ENGINES = ("simdjson", "arrow")
_DEFAULT_ENGINE: str | None = None  # None: the first of ENGINES installed
_MIN_BYTES = 1 << 16
_MATCH_BYTES = 1 << 16  # skeleton compared with its regular layout this much at a time
_PIECE_BYTES = 1 << 23  # text translated and parsed per step (the translation of one overlaps the parse of the last)
_MAX_DEPTH = 8  # a list of arrays of points is 4 deep  # below this orjson is as fast and the set-up is not worth it


def _canonical(shape: tuple[int, ...]) -> bytes:
    """Skeleton of a regular nested list of ``shape`` (leaves are numbers, i.e. empty)."""
    pattern = b""
    for d in reversed(shape):
        pattern = b"[" + b",".join([pattern] * d) + b"]"
    return pattern


def _first_shape(skel: bytes, i: int) -> tuple[int, ...] | None:
    """Shape of the regular array whose skeleton starts at ``skel[i]``, read along its first elements.

    Only lengths are read here; the caller compares the whole canonical skeleton.
    """
    k = 0
    while i + k < len(skel) and skel[i + k] == 0x5B:
        k += 1
        if k > _MAX_DEPTH:
            return None  # no point array is nested this deep (and json reports its own error)
    if k == 0:
        return ()  # a number
    j = i + k
    end = skel.find(b"]", j)
    if end < 0 or skel[j:end].strip(b","):
        return None
    shape = [end - j + 1]
    child = 2 + shape[0] - 1  # skeleton length of the innermost list: '[' + commas + ']'
    for level in range(k - 2, -1, -1):  # the enclosing lists, innermost first
        pos, count = i + level + 1, 0
        while True:
            pos += child
            count += 1
            if pos >= len(skel):
                return None
            if skel[pos] == 0x2C:  # ','
                pos += 1
            elif skel[pos] == 0x5D:  # ']'
                break
            else:
                return None
        shape.insert(0, count)
        child = 2 + count * child + count - 1
    return tuple(shape)


def _canonical_end(skel: bytes, pos: int, shape: tuple[int, ...]) -> int:
    """End of the skeleton of a regular ``shape`` array found at ``skel[pos]``, or -1 when it is not there.

    Compared piece by piece with ``startswith`` (about 64 KB at a time): a pred.json's skeleton is
    tens of MB, and building its canonical copy or slicing the skeleton would copy all of it.
    """
    if not shape:
        return pos
    child = _canonical(shape[1:])
    unit = child + b","
    if not skel.startswith(b"[", pos):
        return -1
    p, left = pos + 1, shape[0] - 1
    per = max(1, _MATCH_BYTES // len(unit))
    block = unit * min(per, left)
    while left > 0:
        k = min(per, left)
        piece = block if k * len(unit) == len(block) else unit * k
        if not skel.startswith(piece, p):
            return -1
        p += len(piece)
        left -= k
    tail = child + b"]"
    return p + len(tail) if skel.startswith(tail, p) else -1


def _layout(skel: bytes) -> tuple[bool, list[tuple[int, ...]]] | None:
    """``(True, [shape])`` for a regular array, ``(False, shapes)`` for a list of regular arrays."""
    shape = _first_shape(skel, 0)
    if shape and _canonical_end(skel, 0, shape) == len(skel):
        return True, [shape]
    if skel[:1] != b"[" or skel[-1:] != b"]":
        return None
    shapes, pos = [], 1
    while pos < len(skel) - 1:
        s = _first_shape(skel, pos)
        if s is None or not s:
            return None
        end = _canonical_end(skel, pos, s)
        if end < 0:
            return None
        shapes.append(s)
        pos = end
        if pos < len(skel) - 2 and skel[pos] == 0x2C:
            pos += 1
        elif pos != len(skel) - 1:
            return None
    return (False, shapes) if shapes else None


_NUM = r"[0-9.eE+\-]"
_SPACE = r"[ \t\r\n]"
#: what ``fast_float`` accepts but JSON does not, and numbers glued to a bracket on the wrong side
_NOT_JSON = "|".join(
    (
        r"[^0-9]\.",  # '.5', '-.5', '..'
        r"\.[^0-9]",  # '1.', '1.e5'
        r"[^eE]\+",  # '+1'
        r"[^0-9.eE+\-]-?0[0-9]",  # leading zeros: '01', '-01' (an exponent's '1e-05' is JSON)
        r"\]" + _SPACE + "*" + _NUM,  # '[1,]2'
        _NUM + _SPACE + r"*\[",  # '1[2]'
        _NUM + _SPACE + "+" + _NUM,  # '1 2' (glued into '12' once whitespace is deleted)
    )
)


def _grammar_ok(data: bytes) -> bool:
    """No number token that ``json`` rejects but ``fast_float`` accepts, no number glued to a bracket.

    One RE2 search (Arrow's regex kernel, a DFA: linear time, about 0.3 s per 200 MB) over the file.
    """
    import pyarrow as pa

    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    text = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:  # the kernel itself: pyarrow.compute builds Python wrappers of every function on import (~0.1 s)
        from pyarrow._compute import MatchSubstringOptions, call_function
    except ImportError:  # pragma: no cover - a pyarrow without the private module
        import pyarrow.compute as pc

        return not pc.match_substring_regex(text, _NOT_JSON)[0].as_py()
    return not call_function("match_substring_regex", [text], MatchSubstringOptions(_NOT_JSON))[0].as_py()


def arrow_pool() -> object:
    """Arrow's jemalloc pool when built in, else the system allocator's.

    Not the default mimalloc pool: on a 200 MB parse it returns memory to the system and faults it
    back in, block after block (about 0.8 s of system time against 0.15 s with these two).
    """
    import pyarrow as pa

    try:
        return pa.jemalloc_memory_pool()
    except (NotImplementedError, pa.ArrowNotImplementedError):  # pragma: no cover - a build without jemalloc
        return pa.system_memory_pool()


def _parse_lines_into(text: bytes, values: np.ndarray, start: int) -> int | None:
    """Parse ``text`` (one number per line) into ``values[start:]``; the count, or None when a line is not one number."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            pa.py_buffer(text),
            read_options=pacsv.ReadOptions(column_names=["v"], block_size=1 << 20),
            parse_options=pacsv.ParseOptions(delimiter="\x01", quote_char=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={"v": pa.float64()}, null_values=[], quoted_strings_can_be_null=False
            ),
            memory_pool=arrow_pool(),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    col = table.column(0)
    if col.null_count or start + len(col) > len(values):
        return None
    # numpy copies, chunk by chunk: no Arrow memory outlives the call (Arrow objects alive at
    # interpreter exit can abort the process, apache/arrow#34314)
    pos = start
    for chunk in col.chunks:
        k = len(chunk)
        values[pos : pos + k] = chunk.to_numpy(zero_copy_only=True)
        pos += k
    del col, table
    return pos - start


def _piece_bounds(data: bytes, size: int) -> list[int]:
    """Offsets cutting ``data`` into pieces of about ``size`` bytes, each but the last ending with a comma."""
    bounds = [0]
    while len(data) - bounds[-1] > size:
        j = data.find(b",", bounds[-1] + size)
        if j < 0:
            break
        bounds.append(j + 1)
    bounds.append(len(data))
    return bounds


def _parse_numbers(data: bytes, count: int) -> np.ndarray | None:
    """The ``count`` numbers of ``data``, or None when a comma-separated field is not exactly one number.

    Pieces of the text are translated (brackets and whitespace deleted, commas to line breaks) on
    this thread while Arrow parses the previous piece on another: the two overlap, and the pieces'
    memory is reused (one 200 MB translated copy would be page-faulted in afresh). Each piece but
    the last ends with a comma, so pieces hold whole fields; the last may translate to nothing.
    """
    import queue

    values = np.empty(count, dtype=np.float64)
    pieces: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
    state = {"pos": 0, "ok": True}

    def parse() -> None:
        while (text := pieces.get()) is not None:
            if not state["ok"]:
                continue
            try:
                got = _parse_lines_into(text, values, state["pos"])
            except Exception:  # anything unexpected: the slow path decides
                got = None
            if got is None:
                state["ok"] = False
            else:
                state["pos"] += got

    worker = threading.Thread(target=parse, name="handzoo-json-numbers")
    worker.start()
    try:
        bounds = _piece_bounds(data, _PIECE_BYTES)
        for a, b in zip(bounds[:-1], bounds[1:]):
            if not state["ok"]:
                break
            text = data[a:b].translate(_TO_LINES, _DELETE)
            if text:
                pieces.put(text)
    finally:
        pieces.put(None)
        worker.join()
    return values if state["ok"] and state["pos"] == count else None


def _skeleton(data: bytes | mmap.mmap) -> bytes:
    """The text without its number characters and whitespace (a mapped file: piece by piece)."""
    if isinstance(data, bytes):
        return data.translate(None, _NUMBER_CHARS + _WS)
    return b"".join(
        data[a : a + _PIECE_BYTES].translate(None, _NUMBER_CHARS + _WS) for a in range(0, len(data), _PIECE_BYTES)
    )


def _structure(data: bytes | mmap.mmap) -> tuple[bool, list[tuple[int, ...]], list[int]] | None:
    """``(regular, shapes, sizes)`` of a text whose skeleton is a regular layout, else None."""
    skel = _skeleton(data)
    if skel.translate(None, b"[],"):
        return None  # strings, literals, objects, NaN, ...
    lay = _layout(skel)
    if lay is None:
        return None
    regular, shapes = lay
    sizes = [int(np.prod(s)) for s in shapes]
    return (regular, shapes, sizes) if sum(sizes) else None


#: where a text may be cut between two samples: the end of one and the start of the next, whose
#: first element is a list of numbers (the comma in between is removed)
_SAMPLE_GAP = None
_SIMD_PIECE_BYTES = 1 << 22  # text parsed per simdjson call: its buffers stay small and are reused


def _sample_cuts(data: bytes | mmap.mmap, size: int) -> list[tuple[int, int]] | None:
    """``(start, end)`` of pieces of about ``size`` bytes, cut at commas between two samples.

    A cut is a comma in ``] ] , [ [ number`` (whitespace allowed between): the end of one list
    of lists and the start of the next. Whatever the depth of the lists it separates, every
    number lies in exactly one piece, in order; a piece is wrapped in brackets to be a JSON text
    of its own, and a wrapping that does not fit makes simdjson reject the piece (the caller then
    parses the text whole).
    """
    import re

    global _SAMPLE_GAP
    if _SAMPLE_GAP is None:
        _SAMPLE_GAP = re.compile(rb"\][ \t\r\n]*\][ \t\r\n]*(,)[ \t\r\n]*\[[ \t\r\n]*\[[ \t\r\n]*[-0-9]")
    pieces, start = [], 0
    while len(data) - start > size + size // 2:
        m = _SAMPLE_GAP.search(data, start + size)
        if m is None:
            break
        comma = m.start(1)
        pieces.append((start, comma))
        start = comma + 1
    pieces.append((start, len(data)))
    return pieces


def _simdjson_numbers(data: bytes | mmap.mmap, count: int) -> np.ndarray | None:
    """The ``count`` numbers of the JSON text ``data`` in document order (simdjson), or None.

    None when simdjson rejects the text (not JSON, a number out of range) or a leaf is not a
    number (a string, ``true``, ``null``, an object): the slow path then reports it as ``json``
    would. A large text is parsed in pieces of about 4 MB cut between samples
    (:func:`_sample_cuts`) by one parser, whose buffers (a padded copy of the text, the tape) are
    reused: parsed whole, they would be ~3 bytes of fresh memory per byte of text, page-faulted in
    (a third of the CPU). A piece that simdjson rejects sends the whole text to one parse, which
    decides.
    """
    import simdjson

    values = np.empty(count, dtype=np.float64)
    parser = simdjson.Parser()
    pos = 0
    cuts = _sample_cuts(data, _SIMD_PIECE_BYTES) if len(data) > 2 * _SIMD_PIECE_BYTES else [(0, len(data))]
    whole = len(cuts) == 1
    view = memoryview(data)
    for i, (a, b) in enumerate(cuts):
        if whole:
            got = _simdjson_flat(parser, data)
        elif 0 < i < len(cuts) - 1:  # between two samples: two levels open and close (any cut depth <= 2)
            got = _simdjson_flat(parser, b"".join((b"[[", view[a:b], b"]]")))
        else:  # the first / last piece holds the text's opening / closing brackets: count them
            depth = 0 if i == 0 else 2
            text = b"[" * depth + view[a:b].tobytes()
            net = text.count(b"[") - text.count(b"]")
            if net < 0:
                return _simdjson_numbers_whole(data, count)
            got = _simdjson_flat(parser, text + b"]" * net)
        if got is None or pos + got.size > count:
            return None if whole else _simdjson_numbers_whole(data, count)
        values[pos : pos + got.size] = got
        pos += got.size
        del got
    if pos == count:
        return values
    return None if whole else _simdjson_numbers_whole(data, count)


def _simdjson_numbers_whole(data: bytes | mmap.mmap, count: int) -> np.ndarray | None:
    """:func:`_simdjson_numbers` in one parse (the decision when a piece was rejected)."""
    import simdjson

    got = _simdjson_flat(simdjson.Parser(), data)
    return got if got is not None and got.size == count else None


def _simdjson_flat(parser: Any, text: bytes | mmap.mmap) -> np.ndarray | None:
    """Every number of the JSON list ``text`` in document order, or None when simdjson rejects it."""
    import simdjson

    try:
        doc = parser.parse(text)
        buf = doc.as_buffer(of_type="d") if isinstance(doc, simdjson.Array) else None
    except Exception:  # any rejection: the slow path decides and reports
        return None
    finally:
        doc = None  # the parser is reused only once no proxy of its document is left
    return None if buf is None else np.frombuffer(buf, dtype=np.float64)


def _engine(engine: str | None) -> str | None:
    """The engine to use (``engine``, else simdjson when installed, else Arrow), None when neither is."""
    have = {"simdjson": _HAVE_SIMDJSON, "arrow": _HAVE_ARROW}
    engine = engine if engine is not None else _DEFAULT_ENGINE
    if engine is not None:
        if engine not in have:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        if have[engine]:
            return engine
    return next((e for e in ENGINES if have[e]), None)


def parse_number_lists(data: bytes, engine: str | None = None) -> np.ndarray | list[np.ndarray] | None:
    """Numbers of a JSON text that is a regular nested list, or a list of them; None otherwise.

    Args:
        data: the file's bytes.
        engine: ``"simdjson"`` (about half the CPU, one thread holding the GIL) or ``"arrow"``
            (threads that release the GIL: better beside another parse on a second thread); None:
            simdjson when installed. An engine that is not installed is replaced by the other.

    Returns:
        A float64 array of the list's shape; for a list whose elements are regular arrays of
        different shapes, a list of such arrays; None when the text is anything else or is not
        valid JSON (the caller then parses it with ``orjson``/``json``, which report errors).
        The numbers are those of ``json.loads`` (correctly rounded), integers as floats.
    """
    use = _engine(engine)
    if len(data) < _MIN_BYTES or use is None:
        return None
    values = None
    if use == "simdjson":
        st = _structure(data)
        if st is None:
            return None
        regular, shapes, sizes = st
        values = _simdjson_numbers(data, sum(sizes))
        if values is None and not _HAVE_ARROW:
            return None
        # else: what simdjson rejects but json may read (an integer beyond 64 bits) goes to Arrow
    if values is None:
        # the regex runs on a second thread, without the GIL, beside the translations and the parse; an
        # early "no" does not wait for it (a plain thread: concurrent.futures imports logging, ~5 ms)
        grammar: list[bool] = []
        thread = threading.Thread(target=lambda: grammar.append(_grammar_ok(data)), name="handzoo-json-grammar")
        thread.start()
        st = _structure(data)
        if st is None:
            return None
        regular, shapes, sizes = st
        arrow_values = _parse_numbers(data, sum(sizes))
        if arrow_values is None:
            return None
        thread.join()
        if grammar != [True]:  # a rejected text, or an error in the check: the slow path decides
            return None
        values = arrow_values
    return _shaped(values, regular, shapes, sizes)


def _shaped(
    values: np.ndarray, regular: bool, shapes: list[tuple[int, ...]], sizes: list[int]
) -> np.ndarray | list[np.ndarray]:
    if regular:
        return values.reshape(shapes[0])
    out, start = [], 0
    for s, k in zip(shapes, sizes):
        out.append(values[start : start + k].reshape(s))
        start += k
    return out


def parse_number_file(path: Path) -> np.ndarray | list[np.ndarray] | None:
    """:func:`parse_number_lists` of a file, mapped rather than read (simdjson only), or None.

    None whenever the mapped path does not give the answer (no simdjson, a small, unreadable or
    empty file, anything simdjson rejects): the caller then reads the file and calls
    :func:`parse_number_lists`, which decides and reports. The arrays never refer to the mapping
    (it is closed here). A file truncated while it is mapped would end the process (SIGBUS), as
    for any mapped file; submission and ground-truth files are not rewritten during an evaluation.
    """
    if not (_HAVE_SIMDJSON and _engine(None) == "simdjson"):
        return None
    try:
        if not path.is_file():  # a pipe would block here; the caller's reader reports what it is
            return None
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size < _MIN_BYTES:
                return None
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    try:
        st = _structure(mm)
        if st is None:
            return None
        regular, shapes, sizes = st
        values = _simdjson_numbers(mm, sum(sizes))
        return None if values is None else _shaped(values, regular, shapes, sizes)
    finally:
        try:
            mm.close()
        except BufferError:  # pragma: no cover - an export still alive: the mapping goes with it
            pass
