"""``handzoo predict``: hands in images, folders, videos or a webcam -> overlays, meshes and JSON."""

from __future__ import annotations

import argparse

HELP = "Predict every hand in images, folders, videos or a webcam; write JSON, overlays (PNG/MP4) and meshes."

DEFAULT_MODEL = "compact-openhand"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``handzoo predict``."""
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="image, folder, video file, or webcam index (0, 1, ...)"
    )
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"model variant (default: the shipped open model {DEFAULT_MODEL})"
    )
    parser.add_argument("--out", default="handzoo_predict", help="output folder (default: ./handzoo_predict)")
    parser.add_argument(
        "--boxes",
        help='JSON boxes per image: {"img.png": [[x0, y0, x1, y1], ...]} or {"img.png": {"boxes": [...], "sides": ["left"]}}',
    )
    parser.add_argument(
        "--detector",
        default="auto",
        help="how to find hands without boxes: auto, full, keypoints, model, or a registered detector",
    )
    parser.add_argument(
        "--save-mesh",
        choices=["obj", "ply", "glb"],
        help="also write one mesh per hand (trimesh; GLB in glTF axes, with vertex colours when predicted)",
    )
    parser.add_argument("--no-overlay", action="store_true", help="skip overlay pictures and videos (JSON only)")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, ...)")
    parser.add_argument("--batch-size", type=int, default=8, help="images per model call")
    parser.add_argument("--max-frames", type=int, help="stop each video or webcam after this many frames")
    parser.add_argument(
        "--frame-offsets",
        type=int,
        nargs=2,
        metavar=("SHORT", "LONG"),
        help="multi-frame models (H2ONet-MF): frames t-SHORT and t-LONG of each hand track (default: the model's, else 5 10)",
    )
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary")


def run(args: argparse.Namespace) -> int:
    """Load the model and run :func:`handzoo.predict.predict`."""
    import sys

    import handzoo
    from handzoo.commands._output import print_json
    from handzoo.predict import collect_sources, predict, read_boxes_file

    # cheap checks first: a missing input or a bad boxes file fails before the model loads
    collect_sources(args.inputs)
    if args.boxes:
        read_boxes_file(args.boxes)
    model = handzoo.load(args.model)
    try:
        model = model.to(args.device)
    except (RuntimeError, AssertionError) as exc:
        from handzoo.errors import ConfigError

        raise ConfigError(
            f"cannot use device {args.device!r}: {exc}".splitlines()[0], hint="use --device cpu"
        ) from None
    summary = predict(
        model,
        args.inputs,
        args.out,
        boxes_file=args.boxes,
        detector=args.detector,
        save_mesh=args.save_mesh,
        batch_size=args.batch_size,
        overlays=not args.no_overlay,
        progress=not args.json and sys.stderr.isatty(),
        max_frames=args.max_frames,
        frame_offsets=tuple(args.frame_offsets) if args.frame_offsets else None,
    )
    summary["model"] = args.model
    if args.json:
        print_json(summary)
    else:
        print(
            f"{summary['hands']} hands in {summary['images']} images and {summary['frames']} video frames "
            f"-> {summary['out_dir']} ({summary['seconds']:.1f} s)"
        )
    return 0
