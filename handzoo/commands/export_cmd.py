"""``handzoo export``: a model's network as ONNX, checked against torch with onnxruntime."""

from __future__ import annotations

import argparse

HELP = "Export a model's network to ONNX and report onnxruntime vs torch parity (max abs diff)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``handzoo export``."""
    parser.add_argument("name", help="model variant (see 'handzoo list')")
    parser.add_argument("--format", default="onnx", choices=["onnx"], help="export format")
    parser.add_argument("--out", help="output file (default: NAME.onnx)")
    parser.add_argument("--batch-size", type=int, default=1, help="hands per call of the exported graph (fixed)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="fail when the max abs diff exceeds this")
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary")


def run(args: argparse.Namespace) -> int:
    """Load, export, compare."""
    import handzoo
    from handzoo.commands._output import print_json
    from handzoo.errors import ConfigError
    from handzoo.predict.export_onnx import ExportError, export_onnx

    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {args.batch_size}")
    model = handzoo.load(args.name)
    info = export_onnx(model, args.out or f"{args.name}.onnx", batch_size=args.batch_size, opset=args.opset)
    info["model"] = args.name
    info["tolerance"] = args.tolerance
    if args.json:
        print_json(info)
    else:
        print(
            f"wrote {info['path']} (opset {info['opset']}, batch {info['batch_size']}); onnxruntime vs torch max abs diff {info['max_abs_diff']:.3g}"
        )
    if info["max_abs_diff"] > args.tolerance:
        raise ExportError(
            f"onnxruntime differs from torch by {info['max_abs_diff']:.3g} (> {args.tolerance:g}) in {info['path']}",
            hint="the exported file is kept; raise --tolerance to accept it",
        )
    return 0
