#!/usr/bin/env python
"""Rebuild the README's screenshots with a headless browser: the bench report and a predict gallery.

Usage (project venv; needs Chromium: ``apt-get install -y chromium``)::

    python tools/make_screenshots.py                 # both pictures into docs/
    python tools/make_screenshots.py --only bench    # or: --only predict, --only overlay
    python tools/make_screenshots.py --work /tmp/shots --keep

What it runs (the commands a user would type):

1. ``docs/bench_report.png``: ``handzoo-bench --all --out WORK/bench-report`` (what ``make bench``
   runs, here with ``--no-resume`` so every cell is measured now), then
   ``chromium --headless --no-sandbox --screenshot=... --window-size=1400,H file://WORK/bench-report/report.html``.
2. ``docs/predict_gallery.png``: six synthetic open-hand images (``SyntheticHands``, a custom split,
   seed 2026, one hand each, 256 px) written to ``WORK/images``, then
   ``handzoo predict WORK/images --out WORK/predict --save-mesh ply --json`` (no boxes: the default
   detector, the shipped ``compact-openhand``), then a page ``WORK/predict/gallery.html`` showing
   every overlay (the image with mesh and skeleton, and the 3D view from a second camera) with what
   the per-image JSON says, screenshotted the same way.
3. ``docs/images/predict_overlay.png`` (no browser): two synthetic images, ``handzoo predict`` on the
   first (one right hand, no boxes) and ``handzoo predict ... --boxes boxes.json`` on the second (a
   right and a left hand, the generator's boxes and sides), their two overlay pictures stacked.

The screenshots are cut below the page's last picture and kept under 2 MB (scaled down if needed).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
MAX_BYTES = 2_000_000
WIDTH = 1400


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("no headless browser found: apt-get install -y chromium (or put chrome on PATH)")


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def screenshot(page: Path, png: Path, height: int) -> None:
    """``chromium --headless --screenshot`` of ``page`` at WIDTH x ``height`` pixels."""
    _run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={png}",
            f"--window-size={WIDTH},{height}",
            page.resolve().as_uri(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _trim_and_fit(src: Path, dst: Path) -> None:
    """Cut the blank page bottom, then scale down until the PNG is under MAX_BYTES."""
    import numpy as np
    from PIL import Image

    im = Image.open(src).convert("RGB")
    a = np.asarray(im)
    rows = np.flatnonzero((a < 250).any(axis=(1, 2)))
    if rows.size:
        im = im.crop((0, 0, im.width, min(im.height, int(rows[-1]) + 24)))
    scale = 1.0
    while True:
        out = im if scale == 1.0 else im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
        out.save(dst, optimize=True)
        if dst.stat().st_size <= MAX_BYTES or scale < 0.3:
            break
        scale *= 0.85
    print(f"wrote {dst} ({out.width}x{out.height}, {dst.stat().st_size / 1e6:.2f} MB)")


def bench_shot(work: Path) -> None:
    """Run the make-bench command and screenshot its report."""
    out = work / "bench-report"
    _run([sys.executable, "-m", "handzoo.bench", "--all", "--out", str(out), "--no-resume", "--no-progress"],
         stdout=subprocess.DEVNULL)  # fmt: skip
    raw = work / "bench_report_raw.png"
    screenshot(out / "report.html", raw, height=3300)  # down to the accuracy-vs-latency plot
    _trim_and_fit(raw, DOCS / "bench_report.png")


def _synthetic_images(folder: Path, n: int = 6) -> dict[str, str]:
    """Write ``n`` synthetic one-hand images; returns file name -> the side of the hand drawn."""
    import cv2
    import numpy as np

    from handzoo.datasets.synthetic import SyntheticHands

    folder.mkdir(parents=True, exist_ok=True)
    ds = SyntheticHands(split="screenshot", n=n, seed=2026, image_size=256, two_hand_prob=0.0)
    sides = {}
    for k in range(n):
        s = ds[k]
        cv2.imwrite(str(folder / f"synth_{k}.png"), np.ascontiguousarray(s.image[:, :, ::-1]))
        sides[f"synth_{k}.png"] = ["right", "left"][int(s.side[0])]
    return sides


def gallery_page(summary: dict, page: Path, truth: dict[str, str]) -> None:
    """An HTML page of every overlay written by ``handzoo predict --json`` (summary = its stdout;
    ``truth``: image name -> the side of the hand the generator drew)."""
    tiles = []
    for item in summary["outputs"]:
        data = json.loads(Path(item["json"]).read_text())
        hands = data.get("hands", [])
        name = Path(item["input"]).name
        lines = [
            f"<b>{html.escape(name)}</b>: {len(hands)} hand(s) found; the image shows a {truth.get(name, '?')} hand"
        ]
        for h in hands:
            where = "root-relative" if data.get("root_relative") else "camera frame"
            lines.append(
                f"hand {h['index']}: predicted as {html.escape(str(h['side']))}, score {h['score']:.2f}, "
                f"21 joints + {len(h.get('vertices') or [])} vertices ({where})"
            )
        meshes = ", ".join(html.escape(Path(m).name) for m in item.get("meshes", []))
        lines.append(f"mesh: {meshes or '-'}")
        overlay = Path(item["overlay"]).resolve().as_uri()
        tiles.append(f"<figure><img src='{overlay}'><figcaption>{'<br>'.join(lines)}</figcaption></figure>")
    cmd = "handzoo predict images/ --out predict/ --save-mesh ply --json"
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><style>"
        "body{font-family:Helvetica,Arial,sans-serif;margin:20px;color:#1d2330}"
        "h1{font-size:22px;margin:0 0 4px}p{margin:2px 0 12px;color:#5a6475;font-size:14px}"
        ".g{display:grid;grid-template-columns:repeat(2,1fr);gap:14px}"
        "figure{margin:0;border:1px solid #dde2ea;padding:6px;background:#fafbfc}"
        "img{width:100%;display:block}figcaption{font-size:13px;line-height:1.45;margin-top:4px}"
        "code{background:#f3f5f9;padding:1px 4px}"
        "</style></head><body>"
        f"<h1>handzoo predict: {html.escape(summary['model'])} on synthetic open-hand images, no boxes</h1>"
        f"<p><code>{html.escape(cmd)}</code> · detector {html.escape(summary['detector'])} · "
        f"{summary['images']} images, {summary['hands']} hands in {summary['seconds']:.1f} s (CPU). "
        "Each overlay: the image with the predicted mesh and 2D skeleton (left), the meshes seen from a "
        "second camera (right).</p>"
        f"<div class='g'>{''.join(tiles)}</div></body></html>",
        encoding="utf-8",
    )


def predict_shot(work: Path) -> None:
    """Run handzoo predict on a folder of synthetic images and screenshot a gallery of its outputs."""
    images, out = work / "images", work / "predict"
    truth = _synthetic_images(images)
    res = _run(
        [
            sys.executable,
            "-m",
            "handzoo.cli",
            "predict",
            str(images),
            "--out",
            str(out),
            "--save-mesh",
            "ply",
            "--json",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    page = out / "gallery.html"
    gallery_page(json.loads(res.stdout), page, truth)
    raw = work / "predict_raw.png"
    screenshot(page, raw, height=1500)
    _trim_and_fit(raw, DOCS / "predict_gallery.png")


def _predict_overlay(folder: Path, image, boxes: dict | None = None) -> np.ndarray:  # noqa: F821
    """Write ``image`` (RGB) into ``folder``, run ``handzoo predict`` on it and return its overlay (BGR)."""
    import cv2
    import numpy as np

    images, out = folder / "images", folder / "predict"
    images.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(images / "hands.png"), np.ascontiguousarray(image[:, :, ::-1]))
    cmd = [sys.executable, "-m", "handzoo.cli", "predict", str(images), "--out", str(out), "--json"]
    if boxes is not None:
        (folder / "boxes.json").write_text(json.dumps({"hands.png": boxes}))
        cmd += ["--boxes", str(folder / "boxes.json")]
    _run(cmd, stdout=subprocess.DEVNULL)
    return cv2.imread(str(out / "hands.png"))


def overlay_shot(work: Path) -> None:
    """The README's predict picture: one right hand without boxes above two hands with a boxes file."""
    import cv2
    import numpy as np

    from handzoo.datasets.synthetic import SyntheticHands

    one = SyntheticHands(split="screenshot", n=16, seed=11, image_size=256, two_hand_prob=0.0)
    right = next(s for s in (one[k] for k in range(len(one))) if int(s.side[0]) == 0)
    two = SyntheticHands(split="screenshot", n=1, seed=7, image_size=256, two_hand_prob=1.0)[0]
    boxes = {"boxes": np.asarray(two.bbox).tolist(), "sides": [["right", "left"][int(x)] for x in two.side]}
    top = _predict_overlay(work / "overlay_one", right.image)
    bottom = _predict_overlay(work / "overlay_two", two.image, boxes)
    gap = np.full((6, top.shape[1], 3), 255, np.uint8)
    (DOCS / "images").mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(DOCS / "images" / "predict_overlay.png"), np.vstack([top, gap, bottom]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["bench", "predict", "overlay"], help="rebuild one screenshot only")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="handzoo-shots-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        if args.only in (None, "bench"):
            bench_shot(work)
        if args.only in (None, "predict"):
            predict_shot(work)
        if args.only in (None, "overlay"):
            overlay_shot(work)
    finally:
        if not (args.keep or args.work):
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
