#!/usr/bin/env python
"""Write docs/images/openhand_rest.png and docs/images/openhand_fist.png with the README's commands.

The pictures are drawn by ``handzoo hand`` itself (the same code a user runs), so the README's
commands and pictures cannot drift apart:

    handzoo hand --out docs/images/openhand_rest.png
    handzoo hand --side left --flex 60 --out docs/images/openhand_fist.png

Usage: ``python tools/draw_openhand_images.py [--out docs/images]`` (project venv).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from handzoo.cli import main as handzoo_main  # noqa: E402

# (file, arguments of `handzoo hand`): the README shows these commands beside the pictures
PICTURES = (
    ("openhand_rest.png", []),
    ("openhand_fist.png", ["--side", "left", "--flex", "60"]),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, extra in PICTURES:
        rc = handzoo_main(["hand", *extra, "--out", str(args.out / name)])
        if rc:
            return rc
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
