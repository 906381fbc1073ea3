"""``handzoo train``: the same command as ``handzoo-train`` (see :mod:`handzoo.train.cli`)."""

from __future__ import annotations

import argparse

HELP = "Train a model variant through mmengine's Runner (same as handzoo-train)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``handzoo train`` (those of ``handzoo-train``)."""
    from handzoo.train.cli import add_arguments as add

    add(parser)


def run(args: argparse.Namespace) -> int:
    """Train, list or export (see ``handzoo-train --help``)."""
    from handzoo.train.cli import run as run_train

    return run_train(args)
