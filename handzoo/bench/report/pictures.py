"""The report's pictures of hands: per-joint / per-finger error bars and a grid of sample hands.

Both are drawn from what the harness kept in each cell's ``info`` (:mod:`handzoo.bench.samples`):
the per-joint PA-MPJPE and a few picked hands (best, median, worst) with both skeletons. The grid
re-reads those samples' images from the dataset when the report is written; when the dataset is not
at hand (or a sample cannot be read) the tile shows the two skeletons on a blank canvas instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from handzoo.bench.report.plots import _pyplot, _slug, model_color
from handzoo.geometry.joint_orders import HANDZOO21_BONES

__all__ = ["FINGERS", "JOINT_LABELS", "finger_means", "per_joint_plot", "sample_grid"]

FINGERS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("wrist", (0,)),
    ("thumb", (1, 2, 3, 4)),
    ("index", (5, 6, 7, 8)),
    ("middle", (9, 10, 11, 12)),
    ("ring", (13, 14, 15, 16)),
    ("pinky", (17, 18, 19, 20)),
)
JOINT_LABELS: tuple[str, ...] = ("W",) + tuple(f"{f}{i}" for f in "TIMRP" for i in range(1, 5))
GT_COLOR = "#22c55e"
PRED_COLOR = "#ef4444"
_RANK_TITLES = {"best": "best", "median": "median", "worst": "worst"}


def _per_joint(r: dict[str, Any]) -> list[float | None] | None:
    pj = (r.get("info") or {}).get("per_joint")
    if not isinstance(pj, dict):
        return None
    values = pj.get("values")
    if not isinstance(values, list) or len(values) != 21:
        return None
    out = [float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None for v in values]
    return out if any(v is not None for v in out) else None


def finger_means(values: list[float | None]) -> list[float | None]:
    """Mean error of each of :data:`FINGERS` from the 21 per-joint values (None when none is known)."""
    out: list[float | None] = []
    for _, joints in FINGERS:
        known = [values[j] for j in joints if values[j] is not None]
        out.append(float(np.mean(known)) if known else None)
    return out


def per_joint_plot(dataset: str, protocol: str, results: list[dict[str, Any]], out_dir: Path) -> Path | None:
    """Grouped bars of the PA-MPJPE per joint (left) and per finger (right), one colour per model.

    Returns:
        The PNG's path, or None when no cell of the group has per-joint errors.
    """
    rows = [(r, v) for r in results for v in [_per_joint(r)] if v is not None]
    if not rows:
        return None
    plt = _pyplot()
    fig, (ax_j, ax_f) = plt.subplots(1, 2, figsize=(13.0, 4.0), gridspec_kw={"width_ratios": [3.2, 1.0]})
    n = len(rows)
    width = 0.8 / n
    for i, (r, values) in enumerate(rows):
        baseline = r["kind"] == "baseline"
        style = {
            "color": model_color(r["model"]),
            "alpha": 0.45 if baseline else 0.95,
            "hatch": "//" if baseline else None,
            "edgecolor": "white",
            "linewidth": 0.3,
        }
        off = (i - (n - 1) / 2) * width
        x = np.arange(21) + off
        ax_j.bar(x, [np.nan if v is None else v for v in values], width, label=r["model"], **style)
        fm = finger_means(values)
        ax_f.bar(np.arange(len(FINGERS)) + off, [np.nan if v is None else v for v in fm], width, **style)
    for k, (_, joints) in enumerate(FINGERS):
        if k % 2 == 1:
            ax_j.axvspan(joints[0] - 0.5, joints[-1] + 0.5, color="0.94", zorder=0)
    ax_j.set_xticks(np.arange(21), JOINT_LABELS, fontsize=8)
    ax_j.set_xlim(-0.6, 20.6)
    ax_j.set_ylabel("PA-MPJPE (mm)")
    ax_j.set_title("per joint (W wrist; T thumb, I index, M middle, R ring, P pinky; 1 base .. 4 tip)", fontsize=10)
    ax_f.set_xticks(np.arange(len(FINGERS)), [f for f, _ in FINGERS], fontsize=8, rotation=30)
    ax_f.set_title("per finger (mean of its joints)", fontsize=10)
    for ax in (ax_j, ax_f):
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    handles, labels = ax_j.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(n, 6), fontsize=9, frameon=False)
    fig.suptitle(f"Error per joint and per finger: {dataset} ({protocol}); baselines hatched", fontsize=12)
    fig.tight_layout(rect=(0, 0.08, 1, 0.95))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"joints_{_slug(dataset)}_{_slug(protocol)}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _project(joints: np.ndarray, K: np.ndarray) -> np.ndarray | None:
    if not (np.isfinite(joints).all() and np.all(joints[:, 2] > 1e-4)):
        return None  # behind the camera (a missed hand's zeros)
    uvw = joints @ K.T
    uv = uvw[:, :2] / uvw[:, 2:3]
    return uv if np.isfinite(uv).all() and np.abs(uv).max() < 1e6 else None


def _read(dataset: Any, index: int) -> tuple[np.ndarray, np.ndarray] | None:
    if dataset is None:
        return None
    try:
        s = dataset[index]
        image = np.asarray(s.image)
        K = np.asarray(s.K, dtype=np.float64).reshape(3, 3)
    except Exception:  # an unreadable sample: the tile is drawn without its image
        return None
    if image.ndim not in (2, 3) or image.size == 0 or not np.all(np.isfinite(K)):
        return None
    return image, K


def _bones(ax: Any, uv: np.ndarray, color: str, style: str) -> None:
    from matplotlib.collections import LineCollection

    segments = [uv[[p, c]] for p, c in HANDZOO21_BONES]  # one artist per skeleton: fast to draw
    ax.add_collection(LineCollection(segments, colors=color, linewidths=1.6, linestyles=style, zorder=2))
    ax.scatter(uv[:, 0], uv[:, 1], s=6, color=color, zorder=3)


def _tile(ax: Any, pick: dict[str, Any], read: tuple[np.ndarray, np.ndarray] | None) -> None:
    gt = np.asarray(pick["gt_joints3d"], dtype=np.float64)
    pred = np.asarray(pick["pred_joints3d"], dtype=np.float64)
    found = bool(pick.get("found", True)) and np.isfinite(pred).all()
    gt_uv = pred_uv = None
    if not np.isfinite(gt).all():  # nothing to draw (the cell's numbers say why)
        gt, found = np.zeros((21, 3)), False
    if read is not None:
        image, K = read
        gt_uv, pred_uv = _project(gt, K), _project(pred, K) if found else None
    if gt_uv is not None:
        ax.imshow(image, interpolation="bilinear", cmap="gray" if image.ndim == 2 else None)
        pts = gt_uv if pred_uv is None else np.concatenate([gt_uv, pred_uv])
        lo, hi = pts.min(0), pts.max(0)
        c, half = (lo + hi) / 2, max(float((hi - lo).max()) * 0.62, 16.0)
        # the same square box for every tile (outside the image stays blank)
        ax.set_xlim(c[0] - half, c[0] + half)
        ax.set_ylim(c[1] + half, c[1] - half)
    else:  # no image: both skeletons seen from the camera, root-centred (mm)
        gt_uv = (gt[:, :2] - gt[:1, :2]) * 1000.0
        pred_uv = (pred[:, :2] - gt[:1, :2]) * 1000.0 if found else None
        ax.set_facecolor("0.97")
        ax.invert_yaxis()
        ax.set_aspect("equal")
    _bones(ax, gt_uv, GT_COLOR, "solid")
    if pred_uv is not None:
        _bones(ax, pred_uv, PRED_COLOR, "dashed")
    side = "left" if pick.get("side") == 1 else "right"
    miss = "" if found else " · no hand found"
    ax.set_title(
        f"{_RANK_TITLES.get(pick['rank'], pick['rank'])} · #{pick['sample_index']} {side} · "
        f"{pick['pa_mpjpe']:.1f} mm{miss}",
        fontsize=8,
    )
    ax.set_xticks([])
    ax.set_yticks([])


def sample_grid(result: dict[str, Any], dataset: Any, out_dir: Path, columns: int = 3) -> Path | None:
    """A grid of the cell's picked hands: ground truth (green) and prediction (red) over the image.

    Args:
        result: a ``results[]`` entry whose ``info['samples']`` holds the picked hands.
        dataset: the dataset to re-read images from (``dataset[i].image``/``.K``), or None.
        out_dir: where the PNG goes.
        columns: tiles per row (one row per rank when each rank has ``columns`` hands).

    Returns:
        The PNG's path, or None when the cell has no picked hands.
    """
    picks = (result.get("info") or {}).get("samples")
    if not isinstance(picks, list) or not picks:
        return None
    cache: dict[int, Any] = {}

    def read(i: int) -> Any:
        if i not in cache:
            cache[i] = _read(dataset, i)
        return cache[i]

    return _draw_grid(result, picks, read, out_dir, columns)


def _draw_grid(
    result: dict[str, Any], picks: list[dict[str, Any]], read: Callable[[int], Any], out_dir: Path, columns: int
) -> Path:
    plt = _pyplot()
    rows = math.ceil(len(picks) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.95 * rows + 0.5), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k < len(picks):
            _tile(ax, picks[k], read(int(picks[k]["sample_index"])))
        else:
            ax.axis("off")
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=GT_COLOR, linewidth=2, label="ground truth"),
        Line2D([], [], color=PRED_COLOR, linewidth=2, linestyle="--", label=f"{result['model']}"),
    ]
    fig.legend(handles=handles, loc="upper center", ncol=2, fontsize=9, frameon=False, bbox_to_anchor=(0.5, 0.995))
    fig.suptitle(
        f"{result['model']} on {result['dataset']}: best, median and worst hands by PA-MPJPE",
        fontsize=10,
        y=0.955,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    out_dir.mkdir(parents=True, exist_ok=True)
    # JPEG: photographs in a PNG would make the self-contained report several MB per grid
    path = out_dir / f"samples_{_slug(result['model'])}_{_slug(result['dataset'])}_{_slug(result['protocol'])}.jpg"
    fig.savefig(path, dpi=80, pil_kwargs={"quality": 85})
    plt.close(fig)
    return path
