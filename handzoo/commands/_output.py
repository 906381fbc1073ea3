"""Shared output helpers for CLI commands: JSON for scripts, rich tables for people."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["plain", "print_json", "print_table"]

# C0/C1 control characters except tab and newline: terminal escapes (colours, OSC 8 links, title
# changes) hidden in third-party text never reach the terminal
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(value: Any) -> str:
    """``value`` as printable plain text: control characters (terminal escapes) replaced by ``?``."""
    return _CONTROL.sub("?", "" if value is None else str(value))


def print_json(obj: Any) -> None:
    """Write ``obj`` as indented JSON to stdout."""
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a table with rich (plain text when stdout is not a terminal); cells are never markup."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # cells hold third-party text (card summaries, plugin errors): plain text, never rich markup
    table = Table(title=Text(plain(title)), show_lines=False)
    for c in columns:
        table.add_column(Text(plain(c)), overflow="fold")
    for r in rows:
        table.add_row(*(Text(plain(v)) for v in r))
    Console(width=200 if not sys.stdout.isatty() else None).print(table)
