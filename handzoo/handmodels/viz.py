"""A quick matplotlib picture of a hand mesh (not the renderer: see ``handzoo.render``).

Uses the Agg backend, a ``Poly3DCollection`` with Lambert shading from a light at the viewer, and
optionally draws the 21 joints and the skeleton (``handzoo21`` order).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from handzoo.errors import InputError, RenderError
from handzoo.geometry.joint_orders import HANDZOO21_BONES

__all__ = ["save_hand_png", "hand_display_frame"]

_SKIN = np.array([0.93, 0.76, 0.64])
_FINGER_COLORS = ["#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd"]


def _np(x: Any, name: str) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    return arr


def hand_display_frame(joints: np.ndarray) -> np.ndarray:
    """Rotation (3, 3) whose rows are display axes for handzoo21 joints: x across the knuckles
    (pinky to index), z along the hand (wrist to middle knuckle), y = z x x."""
    up = joints[9] - joints[0]
    up = up / (np.linalg.norm(up) + 1e-12)
    across = joints[5] - joints[17]
    across = across - up * (across @ up)
    across = across / (np.linalg.norm(across) + 1e-12)
    return np.stack([across, np.cross(up, across), up])


def _view_dir(elev: float, azim: float) -> np.ndarray:
    e, a = np.deg2rad(elev), np.deg2rad(azim)
    return np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])


def save_hand_png(
    vertices: Any,
    faces: Any,
    path: str | os.PathLike[str],
    joints: Any | None = None,
    views: Sequence[tuple[float, float]] = ((15.0, -70.0),),
    orient: bool = True,
    title: str | None = None,
    size: float = 4.0,
    dpi: int = 120,
    panel_titles: Sequence[str] | None = None,
) -> str:
    """Write a PNG of one hand mesh.

    Args:
        vertices: (V, 3) or (1, V, 3) array/tensor.
        faces: (F, 3) triangle indices.
        path: output file (``.png``).
        joints: optional (21, 3) joints in ``handzoo21`` order: drawn as a coloured skeleton and
            used to orient the picture (fingers up) when ``orient``.
        views: one panel per ``(elevation, azimuth)`` in degrees.
        orient: rotate the hand so that the fingers point up (needs ``joints``).
        title: optional figure title.
        size: inches per panel.
        dpi: resolution.
        panel_titles: optional caption under each view (one per entry of ``views``).

    Returns:
        The path written, as a string.

    Raises:
        InputError: for arrays of the wrong shape. RenderError: if matplotlib fails.
    """
    v = _np(vertices, "vertices").astype(np.float64)
    f = _np(faces, "faces").astype(np.int64)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0:
        raise InputError(f"vertices must have shape (V, 3), got {v.shape}")
    if f.ndim != 2 or f.shape[1] != 3 or f.size == 0 or f.min() < 0 or f.max() >= len(v):
        raise InputError(f"faces must be (F, 3) indices below {len(v)}, got shape {f.shape}")
    if panel_titles is not None and len(panel_titles) != len(views):
        raise InputError(f"panel_titles needs one caption per view ({len(views)}), got {len(panel_titles)}")
    j = None
    if joints is not None:
        j = _np(joints, "joints").astype(np.float64)
        if j.shape != (21, 3):
            raise InputError(f"joints must have shape (21, 3) in handzoo21 order, got {j.shape}")
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from mpl_toolkits.mplot3d.art3d import Poly3DCollection
    except ImportError as exc:  # pragma: no cover - matplotlib is a core dependency
        raise RenderError("matplotlib is needed to save hand pictures", hint="pip install matplotlib") from exc

    center = v.mean(0)
    rot = hand_display_frame(j) if (orient and j is not None) else np.eye(3)
    v = (v - center) @ rot.T
    if j is not None:
        j = (j - center) @ rot.T
    tri = v[f]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    half = np.abs(v).max() * 1.05

    fig = plt.figure(figsize=(size * len(views), size), dpi=dpi)
    try:
        for k, (elev, azim) in enumerate(views):
            ax = fig.add_subplot(1, len(views), k + 1, projection="3d")
            light = _view_dir(elev + 20.0, azim + 30.0)
            shade = 0.35 + 0.65 * np.abs(normals @ light)
            colors = np.clip(_SKIN[None] * shade[:, None], 0, 1)
            coll = Poly3DCollection(tri, facecolors=colors, edgecolors="none", linewidths=0)
            ax.add_collection3d(coll)
            if j is not None:
                for p, c in HANDZOO21_BONES:
                    ax.plot(*j[[p, c]].T, color=_FINGER_COLORS[(c - 1) // 4], linewidth=1.5, alpha=0.9, zorder=10)
                ax.scatter(*j.T, color="k", s=6, depthshade=False, zorder=11)
            ax.set_xlim(-half, half)
            ax.set_ylim(-half, half)
            ax.set_zlim(-half, half)
            ax.set_box_aspect((1, 1, 1), zoom=1.5)
            ax.view_init(elev=elev, azim=azim)
            ax.set_axis_off()
            if panel_titles is not None:
                ax.text2D(0.5, 0.04, panel_titles[k], transform=ax.transAxes, ha="center", fontsize=11, color="0.3")
        fig.subplots_adjust(left=0, right=1, bottom=0, top=0.92 if title else 1, wspace=0)
        if title:
            fig.suptitle(title)
        fig.savefig(os.fspath(path), dpi=dpi)
    except Exception as exc:  # noqa: BLE001 - any matplotlib failure becomes a RenderError
        raise RenderError(f"could not write {path}: {exc}") from exc
    finally:
        plt.close(fig)
    return os.fspath(path)
