"""``handzoo plugins``: every plugin, its version, what it provides, and its errors."""

from __future__ import annotations

import argparse

from handzoo.commands._output import print_json, print_table

HELP = "List plugins: name, version, variants, converters, registered modules and load errors."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``handzoo plugins``."""
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--modules",
        action="store_true",
        help="also run the registration hooks and list registered classes (imports torch and plugin code)",
    )


def run(args: argparse.Namespace) -> int:
    """Print the plugin table."""
    from handzoo.plugins import get_plugin_manager

    pm = get_plugin_manager()
    if args.modules:
        from handzoo.registry import ensure_registered

        ensure_registered()
    infos = pm.plugins()
    if args.json:
        print_json([i.to_dict() for i in infos])
        return 0
    rows = []
    for i in infos:
        reg = "; ".join(f"{k}: {', '.join(v)}" for k, v in i.registered.items())
        rows.append(
            [
                i.name,
                i.version or "",
                "built-in" if i.builtin else (i.distribution or "module"),
                ", ".join(f"{v} (planned)" if v in i.planned else v for v in i.variants),
                ", ".join(i.converters),
                reg if args.modules else "(use --modules)",
                i.status,
            ]
        )
    print_table(
        f"handzoo plugins ({len(infos)})",
        ["plugin", "version", "source", "variants", "converters", "registered", "status"],
        rows,
    )
    return 0
