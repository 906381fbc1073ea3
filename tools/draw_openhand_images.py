#!/usr/bin/env python
"""Write docs/images/openhand_rest.png and docs/images/openhand_fist.png.

Usage: ``python tools/draw_openhand_images.py [--out docs/images]`` (project venv).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from handzoo.handmodels import hand_model  # noqa: E402
from handzoo.handmodels.viz import save_hand_png  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    model = hand_model("openhand", closed_wrist=True, dtype=torch.float64)
    zero = torch.zeros(1, 3, dtype=torch.float64)
    views = ((20.0, -60.0), (20.0, 120.0))  # palm side, back of the hand
    verts, joints = model(zero, torch.zeros(1, 45, dtype=torch.float64), None)
    save_hand_png(verts, model.faces, args.out / "openhand_rest.png", joints=joints[0], views=views,
                  title="openhand (right), rest pose")  # fmt: skip
    axes = torch.as_tensor(model.meta["flexion_axes"], dtype=torch.float64)
    fist = (axes[1:] * np.deg2rad(60.0)).reshape(1, 45)
    verts, joints = model(zero, fist, None)
    save_hand_png(verts, model.faces, args.out / "openhand_fist.png", joints=joints[0], views=views,
                  title="openhand (right), every finger joint flexed 60 deg")  # fmt: skip
    print(f"wrote {args.out / 'openhand_rest.png'} and {args.out / 'openhand_fist.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
