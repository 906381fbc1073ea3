"""A cache of parsed ground-truth arrays, so that a second scoring run does not parse the same text again.

Ground-truth files do not change between runs, but parsing them is a large part of an evaluation
(FreiHAND's ``evaluation_verts.json`` holds 9.2 million numbers: about 1.5 s of CPU). After a file
has been read and checked, its float64 array is stored as an ``.npy`` file; the next run maps it
(about a millisecond) when the file's resolved path, size, modification time (ns), inode,
status-change time and a CRC-32 of its content are all unchanged (the whole content up to 16 MB;
above that, 64 blocks of 64 KB spread over the file: a rewrite of a file that large always moves
its modification time).

Location: ``$HANDZOO_SCORE_CACHE`` when set (``off``, ``0`` or an empty value disables the cache),
else ``scoring-gt/`` in the handzoo cache folder (``$HANDZOO_CACHE``, else
``$XDG_CACHE_HOME/handzoo``, else ``~/.cache/handzoo``). One entry per ground-truth file is kept
(a changed file replaces its entry). The cache is best effort: an unreadable, truncated or
foreign entry is ignored and rewritten, and a cache folder that cannot be written is not an
error. Delete the folder to clear it.

A large entry (``_BACKGROUND_BYTES`` and up) is written on a thread of its own while the caller
goes on scoring: writing FreiHAND's 74 MB of vertices takes 0.05-0.2 s, which a first run would
otherwise wait for. The array handed back is then read-only (a write into it would race with the
entry being written); the interpreter waits for the thread before it exits, a later lookup of the
same entry in this process waits for it, and :func:`wait_for_stores` waits for all of them.

A caller may also give ``child_parse``, a parse that runs in a forked child process (Linux, a
large file, a writable cache): the child parses the file and writes the entry, and the caller
maps the entry once the child has exited. The point files' parser (simdjson) holds the GIL, so
a ground truth parsed on a thread would take turns with the predictions parsed on the main
thread; in a child both cores parse at once (FreiHAND's first run: ~0.45 s sooner). The child
runs only that parse, numpy and the entry's write, then leaves with ``os._exit``; anything else
(the parse declines, an error, a signal) and the caller parses the file itself, which reports
errors as usual.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import threading
import time
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from handzoo._cache_root import cache_root

__all__ = ["SCORE_CACHE_ENV", "score_cache_dir", "cached_array", "wait_for_stores"]

SCORE_CACHE_ENV = "HANDZOO_SCORE_CACHE"
_FORMAT = "handzoo-gt-cache/1"  # part of every key: bump it when what is stored changes
_OFF = ("", "0", "off", "false", "no")
_FULL_CRC_BYTES = 16 << 20
_BLOCKS, _BLOCK_BYTES = 64, 64 << 10
_BACKGROUND_BYTES = 8 << 20  # entries this large are written on a thread while the caller goes on
_PENDING: dict[str, threading.Thread] = {}  # entry name -> the thread writing it
_CHILD_BYTES = 32 << 20  # files this large are parsed in a child process when the caller allows it
# a child not done after this many seconds (plus one per 20 MB of the file) is killed and the
# caller parses the file itself: a child stuck on a lock some parent thread held at fork time
# costs that wait, never a hung process
_CHILD_TIMEOUT_S = 60.0


def score_cache_dir() -> Path | None:
    """The ground-truth cache folder, or None when ``$HANDZOO_SCORE_CACHE`` turns the cache off."""
    env = os.environ.get(SCORE_CACHE_ENV)
    if env is not None:
        return None if env.strip().lower() in _OFF else Path(env).expanduser()
    return cache_root() / "scoring-gt"


def _names(path: Path, tag: str) -> tuple[str, str] | None:
    """(prefix for every state of this file, full entry name), or None when the file cannot be stat'ed."""
    try:
        real = path.resolve()
        st = real.stat()
    except OSError:
        return None
    try:
        crc = _content_crc(real, st.st_size)
    except OSError:
        return None
    who = hashlib.sha256(f"{_FORMAT}|{tag}|{real}".encode()).hexdigest()[:24]
    state = f"{st.st_size}|{st.st_mtime_ns}|{st.st_ino}|{st.st_ctime_ns}|{crc}"
    return who, f"{who}-{hashlib.sha256(state.encode()).hexdigest()[:16]}.npy"


def _content_crc(path: Path, size: int) -> int:
    """CRC-32 of the whole file up to ``_FULL_CRC_BYTES``, else of evenly spread blocks (and the last one)."""
    with open(path, "rb") as fh:
        if size <= _FULL_CRC_BYTES:
            return zlib.crc32(fh.read())
        crc = 0
        for k in range(_BLOCKS):
            fh.seek((size - _BLOCK_BYTES) * k // (_BLOCKS - 1))
            crc = zlib.crc32(fh.read(_BLOCK_BYTES), crc)
        return crc


def _load(entry: Path) -> np.ndarray | None:
    """The entry's array, mapped copy-on-write: pages come from the page cache as they are read.

    Writes to the array go to private pages, never to the entry; entries are replaced by rename,
    never rewritten in place, so a mapped entry does not change under a running evaluation. (A
    100 MB entry read into fresh memory costs ~0.15 s of system time; mapped, next to nothing.)
    """
    try:
        arr = np.load(entry, mmap_mode="c", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if not isinstance(arr, np.ndarray) or arr.dtype != np.float64:
        return None
    return arr.view(np.ndarray)


def _store(root: Path, who: str, name: str, arr: np.ndarray) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".{name}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(arr, dtype=np.float64), allow_pickle=False)
        os.replace(tmp, root / name)
        for old in root.glob(f"{who}-*.npy"):  # earlier states of the same file
            if old.name != name:
                old.unlink(missing_ok=True)
    except OSError:
        return


def wait_for_stores() -> None:
    """Wait until every entry this process is writing on a thread has been written (or given up)."""
    for thread in list(_PENDING.values()):
        thread.join()


def _store_in_background(root: Path, who: str, name: str, arr: np.ndarray) -> None:
    """Write the entry on a (non-daemon) thread; ``arr`` is made read-only first."""
    arr.flags.writeable = False

    def run() -> None:
        try:
            _store(root, who, name, arr)
        finally:
            _PENDING.pop(name, None)

    thread = threading.Thread(target=run, name="handzoo-gt-cache-store")
    _PENDING[name] = thread
    thread.start()


def _wait_child(pid: int, timeout_s: float) -> int | None:
    """The child's exit code, or None when it ended abnormally or was killed after ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    pause = 0.001
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return None
            time.sleep(pause)
            pause = min(2 * pause, 0.002)
    except (ChildProcessError, ProcessLookupError):
        return None


def _parse_in_child(
    root: Path, who: str, name: str, child_parse: Callable[[], np.ndarray | None], timeout_s: float
) -> np.ndarray | None:
    """Fork; the child parses and writes the entry; the entry mapped, or None when the child did not write it
    (or was killed after ``timeout_s`` seconds)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        if not os.access(root, os.W_OK | os.X_OK):
            return None
        with warnings.catch_warnings():
            # Python 3.12+ warns that a child of a threaded process may deadlock on a lock another
            # thread held; the child takes none: simdjson, numpy and file writes (malloc's locks are
            # reset by the C library at fork), then os._exit
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # the child: parse, write, leave (no cleanup of the parent's state, no flushing of its buffers)
        code = 1
        try:
            arr = child_parse()
            if arr is not None and arr.dtype == np.float64:
                _store(root, who, name, arr)
                code = 0 if (root / name).is_file() else 1
        except BaseException:  # the caller parses again and reports
            code = 1
        finally:
            os._exit(code)
    return _load(root / name) if _wait_child(pid, timeout_s) == 0 else None


def _may_fork(path: Path) -> bool:
    """A child process pays off: Linux (fork is safe there for the child's numpy-only work) and a large file."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    try:
        return path.stat().st_size >= _CHILD_BYTES
    except OSError:
        return False


def cached_array(
    path: Path, tag: str, parse: Callable[[], np.ndarray], child_parse: Callable[[], np.ndarray | None] | None = None
) -> np.ndarray:
    """``parse()``'s float64 array for the ground-truth file ``path``, from the cache when it is current.

    Args:
        path: the ground-truth file the array comes from (its state is the key).
        tag: what is read from it (the reader and its options), part of the key.
        parse: reads and checks the file; called on a miss (its errors propagate, nothing is stored).
        child_parse: a parse to run in a forked child on a miss (None: decline, then ``parse``
            runs here); only numpy and the standard library may be used in it.

    Returns:
        The array (never aliased with the cache: a hit is mapped copy-on-write; a parsed array of
        ``_BACKGROUND_BYTES`` or more is read-only, its entry being written on a thread).
    """
    root = score_cache_dir()
    names = _names(path, tag) if root is not None else None
    if root is None or names is None:
        return parse()
    who, name = names
    pending = _PENDING.get(name)
    if pending is not None:  # this process is writing the entry: read it once written
        pending.join()
    hit = _load(root / name)
    if hit is not None:
        return hit
    if child_parse is not None and _may_fork(path):
        timeout_s = _CHILD_TIMEOUT_S + path.stat().st_size / (20 << 20)
        hit = _parse_in_child(root, who, name, child_parse, timeout_s)
        if hit is not None:
            return hit
    arr = parse()
    if arr.nbytes >= _BACKGROUND_BYTES and arr.flags.c_contiguous and arr.dtype == np.float64:
        _store_in_background(root, who, name, arr)
    else:
        _store(root, who, name, arr)
    return arr
