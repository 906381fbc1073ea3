"""``handzoo export``: a model's network as ONNX, checked against torch with onnxruntime."""

from __future__ import annotations

import argparse

HELP = "Export a model's network to ONNX and report onnxruntime vs torch parity (max abs diff)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``handzoo export``."""
    parser.add_argument("name", help="model variant (see 'handzoo list')")
    parser.add_argument("--format", default="onnx", choices=["onnx"], help="export format")
    parser.add_argument("--out", help="output file (default: NAME.onnx)")
    parser.add_argument(
        "--batch-size", type=int, default=1, help="samples of the traced batch (the graph's batch axis is dynamic)"
    )
    parser.add_argument(
        "--check-batch-sizes",
        type=int,
        nargs="*",
        default=[1, 3],
        help="further batch sizes checked against torch (default: 1 3)",
    )
    parser.add_argument("--fixed-batch", action="store_true", help="export a graph for --batch-size only")
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
    if any(n < 1 for n in args.check_batch_sizes):
        raise ConfigError(f"--check-batch-sizes must be >= 1, got {args.check_batch_sizes}")
    info = export_onnx(
        model,
        args.out or f"{args.name}.onnx",
        batch_size=args.batch_size,
        opset=args.opset,
        dynamic=not args.fixed_batch,
        check_batch_sizes=args.check_batch_sizes,
    )
    info["model"] = args.name
    info["tolerance"] = args.tolerance
    if args.json:
        print_json(info)
    else:
        print(
            f"wrote {info['path']} (opset {info['opset']}, batch axis "
            f"{'dynamic' if info['dynamic_batch'] else info['batch_size']}); onnxruntime vs torch max abs diff "
            f"{info['max_abs_diff']:.3g} over batch sizes {', '.join(info['max_abs_diff_per_batch_size'])}"
        )
    if info["max_abs_diff"] > args.tolerance:
        raise ExportError(
            f"onnxruntime differs from torch by {info['max_abs_diff']:.3g} (> {args.tolerance:g}) in {info['path']}",
            hint="the exported file is kept; raise --tolerance to accept it",
        )
    return 0
