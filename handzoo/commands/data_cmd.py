"""``handzoo data``: dataset utilities (``synth`` writes the synthetic open-hand data to disk)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HELP = "Dataset tools: 'synth' renders the synthetic open-hand data (FreiHAND layout); 'preview' draws samples."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``handzoo data``."""
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION")
    p = sub.add_parser("synth", help="render synthetic hands into a FreiHAND-layout folder")
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--n", type=int, default=256, help="number of images (default 256)")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default 0: the bench split)")
    p.add_argument("--split", choices=("training", "evaluation"), default="training", help="FreiHAND file prefix")
    p.add_argument("--image-size", type=int, default=224, help="image side in pixels (default 224)")
    p.add_argument("--two-hand-prob", type=float, default=0.0, help="probability of two-hand images (default 0)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--quality", type=int, default=95, help="JPEG quality (default 95)")
    p.add_argument("--force", action="store_true", help="write into a non-empty folder")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")
    v = sub.add_parser("preview", help="save a PNG grid of a dataset's samples with their 2D keypoints")
    v.add_argument("name", help="dataset name, e.g. synthetic, freihand, ho3d-v3 (any spelling: ho3d_v3)")
    v.add_argument("--out", required=True, help="PNG file to write")
    v.add_argument("--root", default=None, help="dataset folder (default: $HANDZOO_DATA/<name>)")
    v.add_argument("--split", default=None, help="split (default: the loader's)")
    v.add_argument("--n", type=int, default=16, help="number of samples (default 16)")
    v.add_argument("--start", type=int, default=0, help="first sample index")
    v.add_argument("--cols", type=int, default=4, help="grid columns (default 4)")
    v.add_argument("--size", type=int, default=224, help="tile size in pixels (default 224)")
    v.add_argument("--mask", action="store_true", help="tint the hand mask")
    v.add_argument("--boxes", action="store_true", help="draw the hand boxes")


_GEN: Any = None


def _init_worker(config: dict[str, Any]) -> None:
    global _GEN
    import torch

    from handzoo.datasets.synth.scene import HandSynthesizer, SynthConfig

    torch.set_num_threads(1)
    _GEN = HandSynthesizer(SynthConfig(**config))


def _render(job: tuple[int, int]) -> Any:
    seed, index = job
    return _GEN.generate(seed, index)


def _samples(config: dict[str, Any], seed: int, n: int, workers: int):
    if workers <= 1:
        from handzoo.datasets.synth.scene import HandSynthesizer, SynthConfig

        gen = HandSynthesizer(SynthConfig(**config))
        for i in range(n):
            yield gen.generate(seed, i)
        return
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(config,)) as pool:
        yield from pool.imap(_render, [(seed, i) for i in range(n)], chunksize=4)


def _synth(args: argparse.Namespace) -> int:
    from handzoo.datasets.synth.scene import GENERATOR_VERSION, SynthConfig
    from handzoo.datasets.synth.writer import write_freihand_layout
    from handzoo.errors import ConfigError

    if args.n <= 0:
        raise ConfigError(f"--n must be positive, got {args.n}")
    if args.image_size < 16:
        raise ConfigError(f"--image-size must be at least 16, got {args.image_size}")
    if not 0.0 <= args.two_hand_prob <= 1.0:
        raise ConfigError(f"--two-hand-prob must be in [0, 1], got {args.two_hand_prob}")
    if not 1 <= args.quality <= 100:
        raise ConfigError(f"--quality must be in [1, 100], got {args.quality}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        raise ConfigError(f"--out {out} is not empty", hint="choose an empty folder or pass --force")
    try:  # before rendering anything: a folder that cannot be created or written fails at once
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".handzoo-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"--out {out} cannot be written: {exc.strerror or exc}", hint="choose a folder you can write to"
        ) from None
    config = SynthConfig(image_size=args.image_size, two_hand_prob=args.two_hand_prob).to_dict()
    t0 = time.perf_counter()
    step = max(1, args.n // 10)

    def progress(k: int) -> None:
        if not args.json and (k % step == 0 or k == args.n):
            print(f"  {k}/{args.n} images", file=sys.stderr)

    info = {
        "generator": "handzoo.synthetic",
        "generator_version": GENERATOR_VERSION,
        "seed": args.seed,
        "config": config,
    }
    n = write_freihand_layout(
        _samples(config, args.seed, args.n, args.workers),
        out,
        split=args.split,
        quality=args.quality,
        extra_info=info,
        progress=progress,
    )
    dt = time.perf_counter() - t0
    summary = {"out": str(out), "split": args.split, "images": n, "seed": args.seed, "seconds": round(dt, 2)}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {n} images to {out} ({args.split} split, seed {args.seed}) in {dt:.1f} s")
        print(f"read it with: handzoo.datasets.load_dataset('freihand', root='{out}', split='{args.split}')")
    return 0


def _tile(sample: Any, size: int, mask: bool, boxes: bool) -> Any:
    import cv2
    import numpy as np

    from handzoo.render.overlay import draw_boxes, draw_keypoints

    img = sample.image
    h, w = img.shape[:2]
    scale = size / max(h, w)
    img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    if mask and sample.mask is not None:
        m = cv2.resize(sample.mask, img.shape[1::-1], interpolation=cv2.INTER_NEAREST) > 0
        img = img.copy()
        img[m] = (0.6 * img[m] + 0.4 * np.array([60, 220, 120])).astype(np.uint8)
    if sample.joints2d is not None:
        valid = sample.joints_valid & sample.hand_valid[:, None]
        img = draw_keypoints(img, sample.joints2d * scale, valid=valid)
    if boxes:
        img = draw_boxes(img, sample.bbox * scale)
    tile = np.full((size, size, 3), 255, np.uint8)
    tile[: img.shape[0], : img.shape[1]] = img
    return tile


def _preview(args: argparse.Namespace) -> int:
    from handzoo.datasets import load_dataset
    from handzoo.errors import ConfigError
    from handzoo.render.overlay import image_grid, save_png

    if args.n <= 0 or args.cols <= 0 or args.size < 16:
        raise ConfigError("--n and --cols must be positive and --size at least 16")
    ds = load_dataset(args.name, root=args.root, split=args.split)
    idx = [i for i in range(args.start, args.start + args.n) if i < len(ds)]
    if not idx:
        raise ConfigError(f"{args.name} has {len(ds)} samples; nothing to show from index {args.start}")
    tiles = [_tile(ds[i], args.size, args.mask, args.boxes) for i in idx]
    path = save_png(args.out, image_grid(tiles, ncols=args.cols))
    print(f"wrote {len(tiles)} samples of {args.name}/{ds.split} to {path}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch ``handzoo data ACTION``."""
    action = getattr(args, "data_command", None)
    if action == "synth":
        return _synth(args)
    if action == "preview":
        return _preview(args)
    print("usage: handzoo data {synth,preview} ... (see handzoo data --help)", file=sys.stderr)
    return 2
