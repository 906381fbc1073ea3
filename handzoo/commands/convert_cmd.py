"""``handzoo convert VARIANT CHECKPOINT``: the authors' checkpoint -> cached safetensors."""

from __future__ import annotations

import argparse

from handzoo.commands._output import print_json

HELP = "Convert an author's original checkpoint into handzoo safetensors weights (cached for handzoo.load)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``handzoo convert``."""
    parser.add_argument("variant", help="model variant, e.g. h2onet-dexycb (`handzoo info VARIANT` names the file)")
    parser.add_argument("checkpoint", help="the authors' checkpoint file (.pth, .pt, .pth.tar)")
    parser.add_argument("-o", "--out", help="also write the safetensors file here (file or directory)")
    parser.add_argument("--hand-model", help="hand model to build the method with for the shape check")
    parser.add_argument(
        "--allow-nonfinite",
        action="store_true",
        help="convert even if tensors hold NaN or infinite values (research use; refused by default)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    """Convert and report where the weights went."""
    from handzoo.hub.convert import convert_checkpoint

    kwargs: dict = {"hand_model": args.hand_model} if args.hand_model else {}
    if args.allow_nonfinite:
        kwargs["allow_nonfinite"] = True
    res = convert_checkpoint(args.variant, args.checkpoint, out=args.out, **kwargs)
    if args.json:
        print_json(
            {
                "variant": res.variant,
                "path": str(res.path),
                "out": str(res.out) if res.out else None,
                "sha256": res.sha256,
                "source_sha256": res.source_sha256,
                "key_map_version": res.key_map_version,
                "num_tensors": res.num_tensors,
                "dropped_keys": res.dropped_keys,
                "mano_derived_keys": res.mano_derived_keys,
            }
        )
        return 0
    print(f"converted {args.checkpoint} -> {res.path}")
    print(f"  {res.num_tensors} tensors, sha256 {res.sha256}, key map {res.key_map_version}")
    if res.dropped_keys:
        print(f"  dropped {len(res.dropped_keys)} embedded MANO arrays: {', '.join(res.dropped_keys[:6])}")
    if res.mano_derived_keys:
        print(f"  note: {len(res.mano_derived_keys)} tensors hold MANO-derived data; `handzoo push` will refuse them")
    if res.out:
        print(f"  copy: {res.out}")
    print(f"handzoo.load({res.variant!r}) now uses these weights (offline too).")
    return 0
