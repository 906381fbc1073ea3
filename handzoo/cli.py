"""The ``handzoo`` command line: a thin dispatcher over :mod:`handzoo.commands`.

Each sub-command lives in its own module exposing ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; modules are imported only when their command runs (or for ``--help``),
so ``handzoo list`` never imports torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from handzoo._version import __version__
from handzoo.commands._envelope import run_cli

__all__ = ["main", "COMMANDS"]

# command name -> module implementing it
COMMANDS: dict[str, str] = {
    "list": "handzoo.commands.list_cmd",
    "info": "handzoo.commands.info_cmd",
    "plugins": "handzoo.commands.plugins_cmd",
    "convert": "handzoo.commands.convert_cmd",
    "push": "handzoo.commands.push_cmd",
    "data": "handzoo.commands.data_cmd",
    "hand": "handzoo.commands.hand_cmd",
    "train": "handzoo.commands.train_cmd",
    "predict": "handzoo.commands.predict_cmd",
    "export": "handzoo.commands.export_cmd",
}


def _parser(selected: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="handzoo", description="3D hand reconstruction model zoo.")
    parser.add_argument("--version", action="version", version=f"handzoo {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="print the full traceback of an error (or set HANDZOO_DEBUG=1)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, modpath in COMMANDS.items():
        if selected is not None and name != selected:
            sub.add_parser(name, help="")
            continue
        mod = importlib.import_module(modpath)
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
    return parser


def _main(args_list: list[str]) -> int:
    selected = next((a for a in args_list if not a.startswith("-")), None)
    if selected not in COMMANDS:
        selected = None
    parser = _parser(selected)
    args = parser.parse_args(args_list)
    if not args.command:
        parser.print_help()
        return 0
    mod = importlib.import_module(COMMANDS[args.command])
    return int(mod.run(args) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``handzoo`` CLI and return its exit code.

    Every failure ends as one line on stderr and a non-zero exit code (see
    :mod:`handzoo.commands._envelope`); ``--debug`` or ``HANDZOO_DEBUG=1`` adds the traceback.
    """
    return run_cli(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
