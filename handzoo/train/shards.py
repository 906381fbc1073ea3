"""Pre-render the synthetic open-hand generator once into a shard folder that trains fast.

Rendering costs tens of milliseconds per image on a CPU, reading a pre-rendered sample costs
microseconds, so for multi-epoch training the generator runs once, in parallel processes, and
writes ``shard_XXXXX.npz`` files (uncompressed: images ``uint8 (n, S, S, 3)`` plus the
annotations training needs: ``K``, ``bbox``, ``side``, ``joints3d``, ``global_orient``,
``hand_pose``, ``betas``, ``transl``) and a ``manifest.json`` (generator settings, seed, sample
ranges). Sample ``i`` of a folder is sample ``i`` of the generator stream ``seed``, whichever
worker rendered it; re-running skips shards already written, so an interrupted render resumes.

``python -m handzoo.train.shards --out DIR --n 40000 --seed 2 --workers 2`` (also
``handzoo data shards`` through :mod:`handzoo.commands.train_cmd`).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["render_shards", "shard_path", "SHARD_KEYS", "main"]

SHARD_KEYS = ("image", "K", "bbox", "side", "joints3d", "global_orient", "hand_pose", "betas", "transl")


def shard_path(out: str | os.PathLike, k: int) -> Path:
    """Path of shard ``k`` in folder ``out``."""
    return Path(out) / f"shard_{k:05d}.npz"


def _render_one_shard(args: tuple[str, int, int, int, int, dict[str, Any]]) -> tuple[int, int, float]:
    out, k, start, stop, seed, config = args
    from handzoo.datasets.synth.scene import HandSynthesizer, SynthConfig

    path = shard_path(out, k)
    if path.is_file():
        return k, 0, 0.0
    t0 = time.perf_counter()
    gen = HandSynthesizer(SynthConfig(**config))
    cols: dict[str, list[np.ndarray]] = {key: [] for key in SHARD_KEYS}
    for i in range(start, stop):
        s = gen.generate(seed, i)
        cols["image"].append(s.image)
        cols["K"].append(np.asarray(s.K, np.float32))
        cols["bbox"].append(np.asarray(s.bbox, np.float32)[0])
        cols["side"].append(np.asarray(s.side, np.int64).reshape(-1)[0])
        cols["joints3d"].append(np.asarray(s.joints3d[0], np.float32))
        for key in ("global_orient", "hand_pose", "betas", "transl"):
            cols[key].append(np.asarray(s.mano[key][0], np.float32))
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, **{key: np.stack(v) for key, v in cols.items()})
    os.replace(tmp, path)
    return k, stop - start, time.perf_counter() - t0


def render_shards(
    out: str | os.PathLike,
    n: int,
    seed: int = 2,
    shard_size: int = 500,
    workers: int = 1,
    image_size: int = 160,
    fill: tuple[float, float] = (0.5, 0.85),
    supersample: int = 2,
    progress: bool = True,
) -> dict[str, Any]:
    """Render ``n`` one-hand samples of stream ``seed`` into shards under ``out``.

    Args:
        out: output folder (created).
        n: number of samples.
        seed: generator stream (the benchmark uses seed 0; keep training seeds apart from it).
        shard_size: samples per shard file.
        workers: parallel rendering processes (0 or 1: render in this process).
        image_size: square image side in pixels.
        fill: range of the hand's size as a fraction of the image side.
        supersample: anti-aliasing factor of the renderer.
        progress: print a progress line per shard to stderr.

    Returns:
        The manifest (also written to ``out/manifest.json``).
    """
    from handzoo.datasets.synth.scene import GENERATOR_VERSION

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = {
        "image_size": int(image_size),
        "two_hand_prob": 0.0,
        "fill": tuple(float(f) for f in fill),
        "supersample": int(supersample),
    }
    jobs = [(str(out), k, a, min(a + shard_size, n), int(seed), config) for k, a in enumerate(range(0, n, shard_size))]
    manifest = {
        "format": 1,
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        "n": int(n),
        "shard_size": int(shard_size),
        "config": {**config, "fill": list(config["fill"])},
        "shards": [shard_path(out, j[1]).name for j in jobs],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    t0, done = time.perf_counter(), 0

    def report(k: int, m: int, dt: float) -> None:
        if progress:
            el = time.perf_counter() - t0
            print(
                f"shard {k}: {m} samples in {dt:.1f} s; total {done} in {el:.0f} s ({done / max(el, 1e-9):.1f}/s)",
                file=sys.stderr,
                flush=True,
            )

    if workers <= 1:  # in this process
        for job in jobs:
            k, m, dt = _render_one_shard(job)
            done += m
            report(k, m, dt)
    else:
        ctx = mp.get_context("spawn")
        with ctx.Pool(workers) as pool:
            for k, m, dt in pool.imap_unordered(_render_one_shard, jobs):
                done += m
                report(k, m, dt)
    manifest["render_s"] = time.perf_counter() - t0
    manifest["rendered_now"] = done
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m handzoo.train.shards --out DIR --n N``."""
    p = argparse.ArgumentParser(prog="python -m handzoo.train.shards", description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--shard-size", type=int, default=500)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--image-size", type=int, default=160)
    p.add_argument("--fill", type=float, nargs=2, default=(0.5, 0.85))
    p.add_argument("--supersample", type=int, default=2)
    a = p.parse_args(argv)
    render_shards(a.out, a.n, a.seed, a.shard_size, a.workers, a.image_size, tuple(a.fill), a.supersample)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
