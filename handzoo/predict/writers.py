"""Outputs of ``handzoo predict``: per-image JSON, overlay pictures, MP4 videos and meshes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from handzoo.errors import InputError, RenderError
from handzoo.types import LEFT, HandOutput

__all__ = [
    "MESH_FORMATS",
    "VideoSink",
    "absolute_vertices",
    "fit_intrinsics",
    "hand_records",
    "render_overlay",
    "side_view",
    "signed_volume",
    "write_json",
    "write_mesh",
]

_SIDE_NAMES = {0: "right", 1: "left"}
_HAND_COLOURS = ((0.55, 0.7, 0.95), (0.55, 0.9, 0.45))  # right blue, left green


def _np(x: Any) -> Any:
    if x is None:
        return None
    if hasattr(x, "detach"):
        x = x.detach().cpu()
        if x.is_floating_point():
            x = x.double()
        return x.numpy()
    return np.asarray(x)


def _jsonable(x: Any) -> Any:
    """Tensors/arrays as nested lists; dicts and lists recursively; anything else as str."""
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if hasattr(x, "detach") or isinstance(x, np.ndarray):
        a = _np(x)
        return np.round(a, 7).tolist() if a.dtype.kind == "f" else a.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return str(x)


def _hand_slice(value: Any, i: int, j: int, b: int, h: int) -> Any:
    """``value[i, j]`` when ``value`` is a per-hand (B, H, ...) array, else None."""
    a = _np(value)
    if isinstance(a, np.ndarray) and a.ndim >= 2 and a.shape[:2] == (b, h):
        return a[i, j]
    return None


def hand_records(out: HandOutput, i: int) -> dict[str, Any]:
    """Every :class:`~handzoo.types.HandOutput` field of image ``i`` as JSON-ready data.

    Returns:
        ``{"root_relative": bool, "faces": [[...]] | None, "hands": [{"joints3d", "joints2d",
        "side", "score", "vertices", "cam_t", "mano", "extras"}, ...]}`` for the valid hands.
    """
    b, h = out.batch_size, out.max_hands
    valid = _np(out.valid)
    hands = []
    for j in np.flatnonzero(valid[i]):
        side = int(_np(out.side)[i, j])
        rec: dict[str, Any] = {
            "index": int(j),
            "side": _SIDE_NAMES.get(side, str(side)),
            "score": float(_np(out.score)[i, j]),
            "joints3d": _jsonable(_np(out.joints3d)[i, j]),
            "joints2d": _jsonable(_np(out.joints2d)[i, j]) if out.joints2d is not None else None,
            "vertices": _jsonable(_np(out.vertices)[i, j]) if out.vertices is not None else None,
            "cam_t": _jsonable(_np(out.cam_t)[i, j]) if out.cam_t is not None else None,
            "mano": {k: _jsonable(_np(v)[i, j]) for k, v in out.mano.items()} if out.mano else None,
        }
        extras = {}
        for k, v in (out.extras or {}).items():
            per_hand = _hand_slice(v, i, j, b, h)
            extras[k] = _jsonable(per_hand) if per_hand is not None else _jsonable(v)
        rec["extras"] = extras
        hands.append(rec)
    return {
        "root_relative": bool(out.root_relative),
        "faces": _jsonable(out.faces) if out.faces is not None else None,
        "hands": hands,
    }


def write_json(path: str | Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as JSON (parents created)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(data, separators=(",", ":")))
    return p


def _absolute(points: Any, out: HandOutput, i: int, j: int) -> np.ndarray | None:
    """Camera-frame points of one hand (root-relative outputs moved by ``cam_t``), or None."""
    if points is None:
        return None
    p = _np(points)[i, j]
    if out.root_relative:
        if out.cam_t is None:
            return None
        p = p + _np(out.cam_t)[i, j][None]
    return p


def absolute_vertices(out: HandOutput, i: int, j: int) -> np.ndarray | None:
    """Camera-frame vertices of one hand (root-relative outputs moved by ``cam_t``), or None."""
    return _absolute(out.vertices, out, i, j)


def fit_intrinsics(out: HandOutput, i: int, image_size: tuple[int, int]) -> np.ndarray:
    """Intrinsics that map the hands' 3D joints onto their 2D joints (least squares: f, cx, cy).

    Falls back to focal = the longer image side and a centred principal point when the output has
    no 2D joints or no absolute 3D.
    """
    h, w = image_size
    K = np.array([[float(max(h, w)), 0.0, (w - 1) / 2.0], [0.0, float(max(h, w)), (h - 1) / 2.0], [0.0, 0.0, 1.0]])
    if out.joints2d is None:
        return K
    rows_u, rows_v = [], []
    for j in np.flatnonzero(_np(out.valid)[i]):
        J = _absolute(out.joints3d, out, i, j)
        if J is None or np.any(J[:, 2] <= 1e-6):
            continue
        uv = _np(out.joints2d)[i, j]
        xz, yz = J[:, 0] / J[:, 2], J[:, 1] / J[:, 2]
        rows_u.append(np.stack([xz, np.ones_like(xz), uv[:, 0]], 1))
        rows_v.append(np.stack([yz, np.ones_like(yz), uv[:, 1]], 1))
    if not rows_u:
        return K
    U, V = np.concatenate(rows_u), np.concatenate(rows_v)
    # one focal for both axes: [xz 1 0; yz 0 1] [f cx cy]^T = [u; v]
    A = np.zeros((2 * len(U), 3))
    A[: len(U), 0], A[: len(U), 1] = U[:, 0], 1.0
    A[len(U) :, 0], A[len(U) :, 2] = V[:, 0], 1.0
    y = np.concatenate([U[:, 2], V[:, 2]])
    sol, *_ = np.linalg.lstsq(A, y, rcond=None)
    if not np.all(np.isfinite(sol)) or sol[0] <= 1.0:
        return K
    return np.array([[sol[0], 0.0, sol[1]], [0.0, sol[0], sol[2]], [0.0, 0.0, 1.0]])


def _meshes(out: HandOutput, i: int) -> tuple[list[np.ndarray], list[np.ndarray], list[tuple[float, float, float]]]:
    verts, faces, cols = [], [], []
    if out.vertices is None or out.faces is None:
        return verts, faces, cols
    F = _np(out.faces).astype(np.int64)
    FL = (out.extras or {}).get("faces_left")  # a method with its own left-hand mesh
    FL = _np(FL).astype(np.int64) if FL is not None else F[:, ::-1].copy()
    for j in np.flatnonzero(_np(out.valid)[i]):
        v = absolute_vertices(out, i, j)
        if v is None or not np.all(np.isfinite(v)) or np.any(v[:, 2] <= 1e-4):
            continue
        left = int(_np(out.side)[i, j]) == LEFT
        verts.append(v.astype(np.float32))
        faces.append(FL if left else F)
        cols.append(_HAND_COLOURS[1 if left else 0])
    return verts, faces, cols


def side_view(
    out: HandOutput, i: int, image_size: tuple[int, int], K: np.ndarray, angle_deg: float = 90.0
) -> np.ndarray:
    """The hands seen from a second camera: each turned ``angle_deg`` about the vertical axis through
    its own centre, the view zoomed so every hand fits the panel."""
    from handzoo.render import render_mesh

    h, w = image_size
    canvas = np.full((h, w, 3), 235, np.uint8)
    verts, faces, cols = _meshes(out, i)
    if not verts:
        return canvas
    a = np.deg2rad(angle_deg)
    R = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    turned = []
    for v in verts:
        c = v.mean(0)
        turned.append(((v - c) @ R.T + c).astype(np.float32))
    # zoom: a camera with the same centre whose focal and principal point frame every hand
    allv = np.concatenate(turned).astype(np.float64)
    xy = allv[:, :2] / allv[:, 2:]
    lo, hi = xy.min(0), xy.max(0)
    f = 0.8 * min(w / max(hi[0] - lo[0], 1e-6), h / max(hi[1] - lo[1], 1e-6))
    mid = (lo + hi) / 2.0
    K2 = np.array([[f, 0.0, (w - 1) / 2.0 - f * mid[0]], [0.0, f, (h - 1) / 2.0 - f * mid[1]], [0.0, 0.0, 1.0]])
    r = render_mesh(turned, faces, K2, (h, w), colors=cols, background=canvas, supersample=2)
    img = np.ascontiguousarray((r.image.detach().clamp(0, 1).cpu().numpy() * 255.0 + 0.5).astype(np.uint8))
    cv2.putText(
        img, f"3D, turned {angle_deg:g} deg", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (40, 40, 40), 1, cv2.LINE_AA
    )
    return img


def render_overlay(
    image: np.ndarray, out: HandOutput, i: int, boxes: np.ndarray | None = None, side_by_side: bool = True
) -> np.ndarray:
    """Image ``i`` with its hands' meshes, 2D skeletons and boxes drawn; the side view beside it.

    Returns:
        (H, W, 3) uint8, or (H, 2W, 3) with ``side_by_side``.
    """
    from handzoo.render import draw_boxes, draw_keypoints, overlay_mesh

    h, w = image.shape[:2]
    K = fit_intrinsics(out, i, (h, w))
    img = image
    verts, faces, cols = _meshes(out, i)
    if verts:
        img = overlay_mesh(img, verts, faces, K, color=cols, alpha=0.6)
    if out.joints2d is not None:
        valid = _np(out.valid)[i]
        if valid.any():
            img = draw_keypoints(img, _np(out.joints2d)[i][valid])
    if boxes is not None and len(boxes):
        img = draw_boxes(img, boxes)
    if not side_by_side:
        return img
    return np.concatenate([img, side_view(out, i, (h, w), K)], axis=1)


MESH_FORMATS = ("obj", "ply", "glb")

# OpenCV camera frame (x right, y down, z forward) -> glTF (y up, z towards the viewer): a proper
# rotation (180 degrees about x), so the winding and the outward normals are kept
_CV_TO_GLTF = np.diag([1.0, -1.0, -1.0])


def signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Signed volume of a triangle mesh (positive when its faces are wound counter-clockwise seen
    from outside, i.e. the normals point out; a hand mesh open at the wrist is close enough)."""
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def write_mesh(
    path: str | Path,
    vertices: np.ndarray,
    faces: np.ndarray,
    left: bool = False,
    colors: np.ndarray | None = None,
    orient: bool = True,
) -> Path:
    """Write one hand mesh as OBJ, PLY or GLB (by suffix) with trimesh, faces wound outward.

    OBJ and PLY keep the camera frame of the prediction (metres, OpenCV axes: x right, y down,
    z forward); GLB is turned into glTF's axes (y up, z towards the viewer: ``(x, -y, -z)``) so
    viewers show the hand upright. PLY is binary.

    Args:
        path: the file to write (``.obj``, ``.ply`` or ``.glb``; parents created).
        vertices: (V, 3) metres.
        faces: (F, 3) the triangles as wound for these vertices when ``left`` is False (the
            model's right-hand winding, counter-clockwise seen from outside).
        left: the vertices are a mirrored right hand (x negated): the winding is reversed so the
            normals point out again (a mirror turns every triangle over).
        colors: optional (V, 3) or (V, 4) vertex colours, float in [0, 1] or uint8 (e.g. SMHR's
            texture, ``extras['vertex_colors']``); ignored when the shape does not match.
        orient: after ``left``, reverse the winding when the mesh's signed volume is negative
            (a method whose own left-hand faces come wound the other way); a mesh with
            outward normals is never changed.

    Raises:
        InputError: for another suffix.
    """
    import trimesh

    p = Path(path)
    ext = p.suffix.lower().lstrip(".")
    if ext not in MESH_FORMATS:
        raise InputError(
            f"cannot write a mesh as {p.suffix or 'no suffix'!r}",
            hint="use .obj, .ply or .glb (--save-mesh obj|ply|glb)",
        )
    v = np.asarray(vertices, np.float64).reshape(-1, 3)
    f = np.asarray(faces, np.int64).reshape(-1, 3)
    if left:
        f = f[:, ::-1]
    if orient and len(f) and signed_volume(v, f) < 0:
        f = f[:, ::-1]
    col = None
    if colors is not None:
        c = np.asarray(colors)
        if c.ndim == 2 and c.shape[0] == len(v) and c.shape[1] in (3, 4):
            col = c if c.dtype == np.uint8 else np.round(np.clip(c.astype(np.float64), 0, 1) * 255).astype(np.uint8)
    if ext == "glb":
        v = v @ _CV_TO_GLTF.T
    mesh = trimesh.Trimesh(vertices=v, faces=np.ascontiguousarray(f), vertex_colors=col, process=False)
    p.parent.mkdir(parents=True, exist_ok=True)
    if ext == "obj":
        from trimesh.exchange.obj import export_obj

        p.write_text(export_obj(mesh, include_normals=False, include_texture=False, header="handzoo"))
    else:
        p.write_bytes(mesh.export(file_type=ext))
    return p


class VideoSink:
    """An MP4 writer (OpenCV, ``mp4v``) opened on the first frame."""

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path, self.fps = Path(path), float(fps)
        self._w: Any = None
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 frame (all frames must share its size)."""
        if self._w is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            h, w = frame.shape[:2]
            self._w = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
            if not self._w.isOpened():
                raise RenderError(
                    f"cannot open {self.path} for writing an MP4",
                    hint="check the folder is writable and OpenCV has an MP4 encoder",
                )
        self._w.write(np.ascontiguousarray(frame[:, :, ::-1]))
        self.frames += 1

    def close(self) -> None:
        """Finish the file."""
        if self._w is not None:
            self._w.release()
            self._w = None
