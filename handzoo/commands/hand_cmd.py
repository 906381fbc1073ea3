"""``handzoo hand``: write a PNG picture of a hand model, at rest or posed."""

from __future__ import annotations

import argparse

HELP = "Draw a hand model (openhand, or your MANO) at rest or as a fist into a PNG."

# display views (elevation, azimuth) in the hand's own frame (x pinky -> index, z wrist -> middle
# knuckle, y = z x x; see handmodels.viz.hand_display_frame). That frame turns with the hand and is
# never mirrored, so the same view shows a right hand's palm and a left hand's back: the palm is
# drawn first for both sides, so that a left hand is seen as the mirror image of a right one.
PALM_VIEW, BACK_VIEW = (20.0, -60.0), (20.0, 120.0)


def views_of(side: str) -> tuple[tuple[tuple[float, float], str], ...]:
    """``((view, caption), ...)``: the palm side first, then the back of the hand, for ``side``."""
    palm, back = (PALM_VIEW, BACK_VIEW) if side == "right" else (BACK_VIEW, PALM_VIEW)
    return ((palm, "palm side"), (back, "back of the hand"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``handzoo hand``."""
    parser.add_argument("--model", default="openhand", choices=["openhand", "mano"], help="hand model")
    parser.add_argument("--side", default="right", choices=["right", "left"])
    parser.add_argument("--flex", type=float, default=0.0, help="flexion of every finger joint in degrees (60 = fist)")
    parser.add_argument("--mano-dir", help="folder with MANO_RIGHT.pkl / MANO_LEFT.pkl (default $HANDZOO_MANO_DIR)")
    parser.add_argument("--out", required=True, help="output .png file")


def run(args: argparse.Namespace) -> int:
    """Pose the hand model and save the picture."""
    import numpy as np
    import torch

    from handzoo.errors import ConfigError
    from handzoo.handmodels import hand_model
    from handzoo.handmodels.viz import save_hand_png

    if not args.out.lower().endswith(".png"):
        raise ConfigError(f"--out must name a .png file, got {args.out!r}")
    kw = {"mano_dir": args.mano_dir} if args.mano_dir else {}
    if args.model == "openhand":
        kw["closed_wrist"] = True
    model = hand_model(args.model, side=args.side, dtype=torch.float64, **kw)
    pose = torch.zeros(1, 45, dtype=torch.float64)
    if args.flex:
        axes = (getattr(model, "meta", None) or {}).get("flexion_axes")
        if axes is None:
            raise ConfigError(f"the {args.model} model has no flexion axes; --flex works with openhand only")
        # each side's model carries its own (mirrored for the left) flexion axes
        pose = (torch.as_tensor(axes, dtype=torch.float64)[1:] * np.deg2rad(args.flex)).reshape(1, 45)
    verts, joints = model(torch.zeros(1, 3, dtype=torch.float64), pose, None)
    title = f"{args.model} ({args.side})" + (
        f", every finger joint flexed {args.flex:g} deg" if args.flex else ", rest pose"
    )
    views = views_of(args.side)
    path = save_hand_png(
        verts,
        model.faces,
        args.out,
        joints=joints[0],
        views=[v for v, _ in views],
        title=title,
        panel_titles=[c for _, c in views],
    )
    print(f"wrote {path}")
    return 0
