"""The error envelope shared by every handzoo command line (``handzoo``, ``handzoo-bench``, ...).

:func:`run_cli` runs a CLI's ``main`` body and turns every way it can end into an exit code and at
most one short message on stderr:

* a :class:`~handzoo.errors.HandzooError`: ``error: <message> (hint: <what to do>)`` on one line, exit 2;
* an ``OSError`` that escaped (a path handzoo did not check): ``error: <what>: <path>``, exit 2;
* any other exception: one line naming the exception, asking to rerun with ``--debug``, exit 1;
* ``KeyboardInterrupt`` (Ctrl-C): one line, exit 130;
* ``BrokenPipeError`` (output piped into ``head``): nothing printed, exit 141 (like SIGPIPE);
* ``SystemExit`` (argparse, ``--help``): passed through.

``--debug`` anywhere on the command line (it is removed before the CLI parses it) or
``HANDZOO_DEBUG=1`` prints the full traceback as well. New CLIs (or new sub-commands) get all of this
by calling :func:`run_cli`; sub-commands of ``handzoo`` inherit it from :func:`handzoo.cli.main`.
This module imports nothing heavy.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Sequence

from handzoo.errors import HandzooError

__all__ = [
    "DEBUG_FLAG",
    "EXIT_ERROR",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_PIPE",
    "debug_enabled",
    "describe",
    "one_line_error",
    "run_cli",
]

#: The command-line flag that turns tracebacks on (accepted by every handzoo CLI).
DEBUG_FLAG = "--debug"
EXIT_ERROR = 2
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141


def debug_enabled(argv: Sequence[str] = ()) -> bool:
    """True when ``--debug`` is in ``argv`` or ``HANDZOO_DEBUG`` is set to a true value."""
    env = os.environ.get("HANDZOO_DEBUG", "").strip().lower()
    return DEBUG_FLAG in argv or env not in ("", "0", "false", "no", "off")


def _one_line(text: str, limit: int = 400) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def one_line_error(exc: HandzooError) -> str:
    """A HandzooError as one line: its message, then ``(hint: ...)`` when it has a hint."""
    message = _one_line(getattr(exc, "message", None) or str(exc), limit=1000)
    hint = getattr(exc, "hint", None)
    return f"{message} (hint: {_one_line(hint, limit=400)})" if hint else message


def describe(exc: BaseException) -> str:
    """A short, single-paragraph description of an exception that is not a HandzooError.

    Args:
        exc: The exception.

    Returns:
        ``"<what>: <path> (<advice>)"`` for OS errors, ``"unexpected <Type>: <message> (...)"`` else.
    """
    if isinstance(exc, OSError):
        what = exc.strerror or _one_line(str(exc)) or type(exc).__name__
        where = exc.filename if exc.filename is not None else ""
        where2 = f" -> {exc.filename2}" if getattr(exc, "filename2", None) is not None else ""
        target = f": {where}{where2}" if where != "" else ""
        return f"{what}{target} (check the path and its permissions, then run the command again)"
    if isinstance(exc, MemoryError):
        return "out of memory (try a smaller batch or input, or free memory)"
    if isinstance(exc, RecursionError):
        return "input nested too deeply to read (check the file you passed)"
    message = _one_line(str(exc))
    return (
        f"unexpected {type(exc).__name__}{': ' + message if message else ''} "
        f"(this is a handzoo bug: rerun with {DEBUG_FLAG} or HANDZOO_DEBUG=1 for the traceback and report it)"
    )


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # pragma: no cover - stdout already gone
        pass


def _say(text: str) -> None:
    try:
        print(text, file=sys.stderr)
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed too: nothing left to tell
        pass


def run_cli(
    body: Callable[[list[str]], int | None],
    argv: Sequence[str] | None = None,
    *,
    interrupted: str = "interrupted",
) -> int:
    """Run a CLI body inside the handzoo error envelope.

    Args:
        body: The CLI's real main: takes the argument list (``--debug`` removed), returns an exit code.
        argv: Arguments (default ``sys.argv[1:]``).
        interrupted: The line printed on Ctrl-C (say what was kept and how to resume).

    Returns:
        The exit code (0 success, 2 handzoo error, 1 unexpected error, 130 Ctrl-C, 141 broken pipe).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = debug_enabled(args)
    args = [a for a in args if a != DEBUG_FLAG]
    try:
        code = int(body(args) or 0)
        sys.stdout.flush()  # a broken pipe shows here, inside the envelope, not at interpreter exit
        return code
    except SystemExit:
        raise
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        _say(interrupted)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_PIPE
    except HandzooError as exc:
        if debug:
            traceback.print_exc()
        _say(f"error: {one_line_error(exc)}")
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the envelope's whole purpose
        if debug:
            traceback.print_exc()
        _say(f"error: {describe(exc)}")
        return EXIT_ERROR if isinstance(exc, OSError) else EXIT_INTERNAL
