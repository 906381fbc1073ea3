"""PNG plots of a run: PCK curves per dataset and accuracy against latency.

Matplotlib runs on the Agg backend (no display needed). Each function writes one PNG and returns
its path, or None when there is nothing to plot.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["pck_plot", "accuracy_latency_plot", "primary_error_metric"]

_ERROR_PREFERENCE = ("pa_mpjpe", "pa_mpvpe", "mpjpe", "mpvpe")


_CURVE_TITLES = {
    "xyz": "joints, unaligned",
    "xyz_al": "joints, Procrustes-aligned",
    "xyz_procrustes_al": "joints, Procrustes-aligned",
    "xyz_scale_trans_al": "joints, scale+translation aligned",
    "mesh": "vertices, unaligned",
    "mesh_al": "vertices, Procrustes-aligned",
}


def _is_aligned(name: str) -> bool:
    n = name.lower()
    return n.endswith("_al") or "procrustes" in n or n.startswith("pa")


def model_color(model: str) -> str:
    """A colour per model name, the same in every plot of a report (and across reports)."""
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
    fixed = {"mean-hand": "#1f77b4", "zero": "#ff7f0e"}
    if model in fixed:
        return fixed[model]
    return palette[2 + int(hashlib.sha1(model.encode()).hexdigest(), 16) % (len(palette) - 2)]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def primary_error_metric(results: list[dict[str, Any]]) -> str | None:
    """The error metric (mm) shared by the most results, preferring PA-MPJPE-like ones."""
    from handzoo.bench.paper import canonical_metric

    counts: dict[str, int] = defaultdict(int)
    for r in results:
        for name, unit in r["units"].items():
            if unit == "mm" and r["metrics"].get(name) is not None:
                counts[name] += 1
    if not counts:
        return None

    def rank(name: str) -> tuple[int, int, str]:
        canon = canonical_metric(name)
        pref = _ERROR_PREFERENCE.index(canon) if canon in _ERROR_PREFERENCE else len(_ERROR_PREFERENCE)
        return (-counts[name], pref, name)

    return min(counts, key=rank)


def pck_plot(dataset: str, protocol: str, results: list[dict[str, Any]], out_dir: Path) -> Path | None:
    """One panel per PCK curve of ``dataset``/``protocol``; one line per model."""
    names: list[str] = []
    for r in results:
        names += [n for n in r["curves"] if n not in names]
    if not names:
        return None
    # aligned curves (what papers report) first, then the others; at most three panels
    names = sorted(names, key=lambda n: (not _is_aligned(n), names.index(n)))[:3]
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(5.2 * len(names), 4.6), squeeze=False)
    legend: dict[str, Any] = {}
    for ax, curve in zip(axes[0], names):
        drawn = []
        for r in results:
            c = r["curves"].get(curve)
            if not c or not c["thresholds_mm"]:
                continue
            style = "--" if r["kind"] == "baseline" else "-"
            (line,) = ax.plot(
                c["thresholds_mm"], c["values"], style, label=r["model"], linewidth=1.8, color=model_color(r["model"])
            )
            legend.setdefault(r["model"], line)
            drawn.append(c)
        x_hi, y_hi = _panel_range(drawn)
        zoomed = y_hi < 1.0
        title = _CURVE_TITLES.get(curve, curve)
        ax.set_title(f"{title} (PCK axis zoomed to {y_hi:.2f})" if zoomed else title, fontsize=10)
        ax.set_xlabel("threshold (mm)")
        ax.set_ylabel("PCK")
        ax.set_xlim(0, x_hi)
        ax.set_ylim(0, y_hi * 1.02)
        ax.grid(alpha=0.3)
    # one legend for every panel, under them: never over a curve
    if legend:
        fig.legend(
            list(legend.values()), list(legend), loc="lower center", ncol=min(len(legend), 6), fontsize=9, frameon=False
        )
    fig.suptitle(f"PCK curves: {dataset} ({protocol}); baselines dashed", fontsize=12)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"pck_{_slug(dataset)}_{_slug(protocol)}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _panel_range(curves: list[dict[str, list[float]]]) -> tuple[float, float]:
    """``(x max, y max)`` of a PCK panel: x up to where every curve has (almost) reached 1, or the
    last threshold; y up to 1, or zoomed to the highest value (rounded up to a tenth) when every
    curve stays below one half (an unaligned panel that would otherwise sit near zero)."""
    if not curves:
        return 1.0, 1.0
    x_end = max(max(c["thresholds_mm"]) for c in curves)
    saturated = []
    for c in curves:
        t, v = np.asarray(c["thresholds_mm"], dtype=float), np.asarray(c["values"], dtype=float)
        at = np.flatnonzero(v >= 0.995)
        saturated.append(float(t[at[0]]) if at.size else x_end)
    x_hi = min(x_end, max(max(saturated) * 1.1, 0.25 * x_end)) if x_end > 0 else 1.0
    top = max((max(c["values"]) for c in curves if c["values"]), default=1.0)
    y_hi = 1.0 if top >= 0.5 else max(0.1, math.ceil(top * 10.0 + 0.5) / 10.0)
    return x_hi, min(y_hi, 1.0)


def accuracy_latency_plot(results: list[dict[str, Any]], out_dir: Path) -> Path | None:
    """Error (the most shared mm metric) against ms/image: a marker per model cell (log-scaled time),
    a dashed horizontal line per baseline cell (baselines process no images, so they have no latency).

    Returns None (no plot) when no model cell has a timing: baselines alone have no latency to plot.
    """
    points = []
    metric = primary_error_metric(results)
    if metric is None:
        return None
    floors = []
    for r in results:
        y = r["metrics"].get(metric)
        x = r["timings"].get("ms_per_image")
        if y is None:
            continue
        if r["kind"] == "baseline":
            floors.append((float(y), r))
        elif x is not None:
            points.append((max(float(x), 1e-4), float(y), r))
    if not points:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    datasets = sorted({p[2]["dataset"] for p in points})
    markers = "osD^v<>P*X"
    for i, ds in enumerate(datasets):
        pts = [p for p in points if p[2]["dataset"] == ds]
        ax.scatter(
            [p[0] for p in pts],
            [p[1] for p in pts],
            marker=markers[i % len(markers)],
            s=60,
            c=[model_color(p[2]["model"]) for p in pts],
            label=f"models on {ds}",
        )
        for x, y, r in pts:
            ax.annotate(r["model"], (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    for y, r in floors:
        ax.axhline(
            y,
            linestyle=(0, (4, 3)),
            linewidth=1.2,
            color=model_color(r["model"]),
            label=f"{r['model']} baseline ({r['dataset']})",
        )
    top = max([p[1] for p in points] + [f[0] for f in floors])
    ax.set_ylim(0, top * 1.15 if top > 0 else 1.0)
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms / image, model only; log scale)")
    ax.set_ylabel(f"{metric} (mm, lower is better)")
    ax.set_title("Accuracy vs latency")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "accuracy_vs_latency.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
