"""handzoo's own H2ONet mesh hierarchies, built from a template mesh (the open hand's).

The authors' hierarchy (``transform.pkl``) comes from MANO's template; for other meshes handzoo
builds one the same way: repeated quadric decimation by ``factors`` (coarse vertices are a subset
of the fine ones), up-sampling matrices that write each fine vertex as its closest point on the
coarse mesh (barycentric weights of three coarse vertices; kept vertices copy themselves), and
spiral indices per level. Every step is deterministic (see :mod:`.decimate`; closest points are
computed in plain Python floats after a vectorised candidate search), so the same template gives
the same hierarchy, and hence the same weight layout, on every machine.
"""

from __future__ import annotations

import functools

import numpy as np

from handzoo.errors import AssetError

from .assets import MeshHierarchy, joint_regressor_from_j16
from .decimate import DecimationError, decimate
from .spiral import extract_spirals

__all__ = [
    "build_hierarchy",
    "upsample_weights",
    "openhand_hierarchy",
    "openhand_joint_regressor",
    "openhand_finger_vertex_ids",
]

# MANO joint order of the open hand's 16 joints: rows of each finger (thumb, index, middle, ring, little).
_FINGER_JOINTS = ((13, 14, 15), (1, 2, 3), (4, 5, 6), (10, 11, 12), (7, 8, 9))
_MARGIN = 1e-9  # metres^2 of slack in the vectorised candidate search (far above rounding)


def _closest_point_weights(p: tuple[float, ...], a: tuple[float, ...], b: tuple[float, ...], c: tuple[float, ...]):
    """Squared distance from ``p`` to triangle ``abc`` and the closest point's barycentric weights.

    Ericson's region tests (Real-Time Collision Detection, 5.1.5), in plain Python floats.
    """

    def sub(x, y):
        return (x[0] - y[0], x[1] - y[1], x[2] - y[2])

    def dot(x, y):
        return x[0] * y[0] + x[1] * y[1] + x[2] * y[2]

    ab, ac, ap = sub(b, a), sub(c, a), sub(p, a)
    d1, d2 = dot(ab, ap), dot(ac, ap)
    if d1 <= 0.0 and d2 <= 0.0:
        w = (1.0, 0.0, 0.0)
    else:
        bp = sub(p, b)
        d3, d4 = dot(ab, bp), dot(ac, bp)
        cp = sub(p, c)
        d5, d6 = dot(ab, cp), dot(ac, cp)
        vc = d1 * d4 - d3 * d2
        vb = d5 * d2 - d1 * d6
        va = d3 * d6 - d5 * d4
        if d3 >= 0.0 and d4 <= d3:
            w = (0.0, 1.0, 0.0)
        elif d6 >= 0.0 and d5 <= d6:
            w = (0.0, 0.0, 1.0)
        elif vc <= 0.0 and d1 >= 0.0 and d3 <= 0.0:
            t = d1 / (d1 - d3)
            w = (1.0 - t, t, 0.0)
        elif vb <= 0.0 and d2 >= 0.0 and d6 <= 0.0:
            t = d2 / (d2 - d6)
            w = (1.0 - t, 0.0, t)
        elif va <= 0.0 and (d4 - d3) >= 0.0 and (d5 - d6) >= 0.0:
            t = (d4 - d3) / ((d4 - d3) + (d5 - d6))
            w = (0.0, 1.0 - t, t)
        else:
            denom = 1.0 / (va + vb + vc)
            v, u = vb * denom, vc * denom
            w = (1.0 - v - u, v, u)
    q = tuple(w[0] * a[i] + w[1] * b[i] + w[2] * c[i] for i in range(3))
    d = sub(p, q)
    return dot(d, d), w


def upsample_weights(fine: np.ndarray, kept: np.ndarray, coarse_faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Up-sampling from a decimated mesh back to the fine one, as gather indices and weights.

    Args:
        fine: (V, 3) fine vertices.
        kept: (V', ) fine ids of the coarse vertices.
        coarse_faces: (F', 3) coarse triangles.

    Returns:
        ``(index, weight)`` of shape (V, 3): fine vertex ``i`` = sum_k ``weight[i, k]`` x coarse
        vertex ``index[i, k]``.
    """
    from scipy.spatial.distance import cdist

    fine = np.asarray(fine, dtype=np.float64)
    coarse = fine[kept]
    tri = coarse[coarse_faces]  # (F', 3, 3)
    centre = tri.mean(1)
    radius = np.sqrt(((tri - centre[:, None]) ** 2).sum(-1)).max(1)
    pts = [tuple(float(c) for c in p) for p in coarse]
    faces = [tuple(int(x) for x in f) for f in coarse_faces]
    index = np.zeros((len(fine), 3), dtype=np.int64)
    weight = np.zeros((len(fine), 3), dtype=np.float32)
    slot = np.full(len(fine), -1, dtype=np.int64)
    slot[kept] = np.arange(len(kept))
    index[kept] = slot[kept, None]
    weight[kept, 0] = 1.0
    todo = np.flatnonzero(slot < 0)
    if len(todo) == 0:
        return index, weight
    # candidate faces: lower distance bound (bounding sphere) within reach of the best upper bound
    # (nearest corner); the exact choice below is made in plain Python over the candidates
    upper = (cdist(fine[todo], coarse, "sqeuclidean")[:, coarse_faces]).min(-1)
    lower = np.maximum(cdist(fine[todo], centre) - radius, 0.0) ** 2
    cands = lower <= upper.min(1, keepdims=True) + _MARGIN
    for row, i in enumerate(todo.tolist()):
        p = tuple(float(c) for c in fine[i])
        best = None
        for f in np.flatnonzero(cands[row]).tolist():
            a, b, c = faces[f]
            d, w = _closest_point_weights(p, pts[a], pts[b], pts[c])
            if best is None or d < best[0]:
                best = (d, faces[f], w)
        assert best is not None
        index[i] = best[1]
        weight[i] = best[2]
    return index, weight


def build_hierarchy(
    vertices: np.ndarray,
    faces: np.ndarray,
    factors: tuple[int, ...] = (2, 2, 2, 2),
    seq_length: int = 9,
    source: str = "",
) -> MeshHierarchy:
    """Decimate a template mesh into an H2ONet mesh hierarchy.

    Args:
        vertices: (V, 3) template vertices (the finest level).
        faces: (F, 3) template triangles.
        factors: per level, how many times fewer vertices (the coarse level keeps ``ceil(V / f)``).
        seq_length: spiral length per vertex.
        source: description stored in the hierarchy.

    Raises:
        AssetError: when the mesh cannot be decimated that far.
    """
    verts = [np.asarray(vertices, dtype=np.float64)]
    fcs = [np.asarray(faces, dtype=np.int64)]
    ups = []
    for f in factors:
        target = -(-len(verts[-1]) // int(f))
        try:
            kept, coarse_faces = decimate(verts[-1], fcs[-1], target)
        except DecimationError as exc:
            raise AssetError(f"cannot build the mesh hierarchy of {source or 'the template'}: {exc}") from None
        ups.append(upsample_weights(verts[-1], kept, coarse_faces))
        verts.append(verts[-1][kept])
        fcs.append(coarse_faces)
    spirals = tuple(extract_spirals(verts[i], fcs[i], seq_length) for i in range(len(factors)))
    arrays = (*verts, *fcs, *spirals, *(a for pair in ups for a in pair))
    for arr in arrays:
        arr.setflags(write=False)  # hierarchies are cached and shared between models
    return MeshHierarchy(tuple(verts), tuple(fcs), tuple(ups), spirals, source)


@functools.lru_cache(maxsize=1)
def openhand_hierarchy() -> MeshHierarchy:
    """The hierarchy of handzoo's open hand (1609 -> 805 -> 403 -> 202 -> 101 vertices), cached."""
    from handzoo.handmodels.openhand import load_openhand

    data = load_openhand("right")
    return build_hierarchy(data.v_template, data.faces, source="openhand (handzoo decimation)")


def openhand_joint_regressor() -> np.ndarray:
    """(21, 1609) regressor in ``handzoo21`` order: the open hand's J_regressor + its tip vertices."""
    from handzoo.handmodels.openhand import load_openhand

    data = load_openhand("right")
    return joint_regressor_from_j16(data.J_regressor, tuple(data.tip_vertex_ids))


def openhand_finger_vertex_ids() -> list[np.ndarray]:
    """Per finger (thumb, index, middle, ring, little), the vertices its joints dominate in skinning."""
    from handzoo.handmodels.openhand import load_openhand

    data = load_openhand("right")
    dominant = np.argmax(data.weights, axis=1)
    return [np.flatnonzero(np.isin(dominant, joints)) for joints in _FINGER_JOINTS]
