"""Quadric-error mesh decimation by half-edge collapse (the coarse mesh keeps a vertex subset).

Each step removes one vertex ``u`` by moving it onto a neighbour ``v`` (Garland and Heckbert's
quadric error metric, evaluated at ``v``'s position), so every coarse vertex is a vertex of the
fine mesh, as in the mesh hierarchies spiral-convolution decoders are trained on. Collapses that
would make the mesh non-manifold, pinch or shrink its boundary below a triangle, leave a valence-2
vertex or flip a triangle are skipped. Boundary edges carry an extra quadric that keeps the
boundary's shape.

The arithmetic is plain Python floats in a fixed order (no BLAS, no vectorised sums), and ties are
broken by vertex ids, so the result is the same on every machine.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

__all__ = ["decimate", "DecimationError"]

# Quadric as the 10 coefficients of a symmetric 4x4 matrix: xx xy xz xw yy yz yw zz zw ww.
_Quadric = list[float]
_BOUNDARY_WEIGHT = 100.0
_MIN_NORMAL_COS = 0.2


class DecimationError(ValueError):
    """The mesh cannot be reduced to the requested vertex count under the collapse rules."""


def _plane_quadric(a: float, b: float, c: float, d: float, w: float) -> _Quadric:
    return [
        w * a * a,
        w * a * b,
        w * a * c,
        w * a * d,
        w * b * b,
        w * b * c,
        w * b * d,
        w * c * c,
        w * c * d,
        w * d * d,
    ]


def _add(q: _Quadric, r: _Quadric) -> None:
    for i in range(10):
        q[i] += r[i]


def _error(q: _Quadric, p: tuple[float, float, float]) -> float:
    x, y, z = p
    return (
        q[0] * x * x + 2.0 * q[1] * x * y + 2.0 * q[2] * x * z + 2.0 * q[3] * x
        + q[4] * y * y + 2.0 * q[5] * y * z + 2.0 * q[6] * y
        + q[7] * z * z + 2.0 * q[8] * z + q[9]
    )  # fmt: skip


def _sub(p: tuple[float, ...], q: tuple[float, ...]) -> tuple[float, float, float]:
    return (p[0] - q[0], p[1] - q[1], p[2] - q[2])


def _cross(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float]:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _normal(p0: tuple[float, ...], p1: tuple[float, ...], p2: tuple[float, ...]) -> tuple[float, float, float]:
    """Un-normalised face normal (length = twice the area)."""
    return _cross(_sub(p1, p0), _sub(p2, p0))


def _norm(v: tuple[float, float, float]) -> float:
    return math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])


class _Mesh:
    """Mutable triangle mesh with vertex-face incidence, for collapsing."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        self.pos = [tuple(float(c) for c in p) for p in vertices]
        self.faces: list[list[int] | None] = [[int(i) for i in f] for f in faces]
        self.vf: list[set[int]] = [set() for _ in self.pos]
        for fi, f in enumerate(self.faces):
            for v in f:
                self.vf[v].add(fi)
        self.alive = [bool(s) for s in self.vf]

    def face(self, fi: int) -> list[int]:
        f = self.faces[fi]
        assert f is not None
        return f

    def neighbours(self, v: int) -> set[int]:
        out: set[int] = set()
        for fi in self.vf[v]:
            out.update(self.face(fi))
        out.discard(v)
        return out

    def edge_faces(self, a: int, b: int) -> set[int]:
        return self.vf[a] & self.vf[b]

    def is_boundary_edge(self, a: int, b: int) -> bool:
        return len(self.edge_faces(a, b)) == 1

    def is_boundary_vertex(self, v: int) -> bool:
        return any(self.is_boundary_edge(v, w) for w in self.neighbours(v))

    def boundary_loop_length(self, a: int, b: int) -> int:
        """Vertices on the boundary loop through the boundary edge (a, b)."""
        prev, cur, n = a, b, 1
        while cur != a:
            nxt = [w for w in self.neighbours(cur) if w != prev and self.is_boundary_edge(cur, w)]
            if not nxt or n > len(self.pos):
                return n
            prev, cur, n = cur, min(nxt), n + 1
        return n


def _quadrics(mesh: _Mesh) -> list[_Quadric]:
    qs = [[0.0] * 10 for _ in mesh.pos]
    for f in mesh.faces:
        assert f is not None
        p = [mesh.pos[v] for v in f]
        n = _normal(*p)
        length = _norm(n)
        if length == 0.0:
            continue
        a, b, c = n[0] / length, n[1] / length, n[2] / length
        d = -(a * p[0][0] + b * p[0][1] + c * p[0][2])
        q = _plane_quadric(a, b, c, d, 0.5 * length)  # area-weighted
        for v in f:
            _add(qs[v], q)
        for i in range(3):  # boundary edges: a plane through the edge, perpendicular to the face
            u, w = f[i], f[(i + 1) % 3]
            if mesh.is_boundary_edge(u, w):
                e = _sub(mesh.pos[w], mesh.pos[u])
                m = _cross(e, (a, b, c))
                ml = _norm(m)
                if ml == 0.0:
                    continue
                ma, mb, mc = m[0] / ml, m[1] / ml, m[2] / ml
                md = -(ma * mesh.pos[u][0] + mb * mesh.pos[u][1] + mc * mesh.pos[u][2])
                bq = _plane_quadric(ma, mb, mc, md, _BOUNDARY_WEIGHT * (e[0] * e[0] + e[1] * e[1] + e[2] * e[2]))
                _add(qs[u], bq)
                _add(qs[w], bq)
    return qs


def _can_collapse(mesh: _Mesh, u: int, v: int) -> bool:  # noqa: C901 - one rule per branch
    """Whether moving ``u`` onto ``v`` keeps the mesh a manifold of good triangles."""
    shared = mesh.edge_faces(u, v)
    if not shared:
        return False
    opposite = {w for fi in shared for w in mesh.face(fi) if w != u and w != v}
    nu, nv = mesh.neighbours(u), mesh.neighbours(v)
    if nu & nv != opposite:  # link condition
        return False
    boundary_edge = len(shared) == 1
    if mesh.is_boundary_vertex(u) and not boundary_edge:
        return False  # a boundary vertex only slides along the boundary
    if boundary_edge and mesh.boundary_loop_length(u, v) <= 3:
        return False
    for w in opposite:  # no vertex may end with fewer than three neighbours
        if len(mesh.neighbours(w)) <= 3:
            return False
    if len(nu | nv) - 2 < 3:
        return False
    pv = mesh.pos[v]
    for fi in mesh.vf[u] - shared:
        f = mesh.face(fi)
        before = _normal(*(mesh.pos[x] for x in f))
        after = _normal(*(pv if x == u else mesh.pos[x] for x in f))
        nb, na = _norm(before), _norm(after)
        if na == 0.0 or nb == 0.0:
            return False
        if (before[0] * after[0] + before[1] * after[1] + before[2] * after[2]) < _MIN_NORMAL_COS * na * nb:
            return False
    return True


def _collapse(mesh: _Mesh, u: int, v: int) -> None:
    for fi in sorted(mesh.vf[u]):
        f = mesh.face(fi)
        if v in f:
            for x in f:
                mesh.vf[x].discard(fi)
            mesh.faces[fi] = None
        else:
            f[f.index(u)] = v
            mesh.vf[v].add(fi)
    mesh.vf[u] = set()
    mesh.alive[u] = False


def decimate(vertices: np.ndarray, faces: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
    """Collapse edges until ``target`` vertices remain.

    Args:
        vertices: (V, 3) positions.
        faces: (F, 3) triangles of a manifold mesh (possibly with boundary), consistently oriented.
        target: vertex count of the result (``<= V``).

    Returns:
        ``(kept, coarse_faces)``: the ids of the kept vertices in ascending order (the coarse
        mesh's vertex ``i`` is fine vertex ``kept[i]``) and its (F', 3) triangles in coarse ids,
        in the order of the fine faces they come from.

    Raises:
        DecimationError: when no valid collapse is left before reaching ``target``.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    mesh = _Mesh(vertices, faces)
    alive = sum(mesh.alive)
    if not 3 <= target <= alive:
        raise DecimationError(f"target {target} must be between 3 and the {alive} used vertices")
    q = _quadrics(mesh)
    # Heap of (cost, u, v, version of v's quadric): the cost of moving u onto v. Only v's quadric
    # changes in a collapse, so only the entries around v are re-costed; an entry that is invalid
    # when popped is parked and queued again once a collapse touches its neighbourhood.
    version = [0] * len(mesh.pos)
    heap: list[tuple[float, int, int, int, int]] = []
    parked: dict[tuple[int, int], tuple[float, int, int, int, int]] = {}
    parked_at: list[set[tuple[int, int]]] = [set() for _ in mesh.pos]

    def entry(a: int, b: int) -> tuple[float, int, int, int, int]:
        qa = q[a][:]
        _add(qa, q[b])
        return (_error(qa, mesh.pos[b]), a, b, version[a], version[b])

    for x in range(len(mesh.pos)):
        for y in sorted(mesh.neighbours(x)) if mesh.alive[x] else ():
            heapq.heappush(heap, entry(x, y))
    while alive > target:
        if not heap:
            raise DecimationError(f"no valid collapse left at {alive} vertices (target {target})")
        item = heapq.heappop(heap)
        _, u, v, vu, vv = item
        if not (mesh.alive[u] and mesh.alive[v]) or vu != version[u] or vv != version[v]:
            continue
        if not _can_collapse(mesh, u, v):
            parked[(u, v)] = item
            parked_at[u].add((u, v))
            parked_at[v].add((u, v))
            continue
        ring = mesh.neighbours(u) | mesh.neighbours(v)
        _collapse(mesh, u, v)
        _add(q[v], q[u])
        version[v] += 1
        alive -= 1
        for y in sorted(mesh.neighbours(v)):  # v's quadric changed: re-cost its edges
            heapq.heappush(heap, entry(v, y))
            heapq.heappush(heap, entry(y, v))
        # validity may have changed within two rings of the collapse: retry parked entries there
        near = set(ring)
        for x in ring:
            if mesh.alive[x]:
                near |= mesh.neighbours(x)
        keys = sorted(set().union(*(parked_at[x] for x in near | {u})))
        for key in keys:
            old = parked.pop(key)
            parked_at[key[0]].discard(key)
            parked_at[key[1]].discard(key)
            a, b = key
            if mesh.alive[a] and mesh.alive[b] and old[3] == version[a] and old[4] == version[b]:
                heapq.heappush(heap, old)
    kept = np.array([i for i, a in enumerate(mesh.alive) if a], dtype=np.int64)
    index = np.full(len(mesh.pos), -1, dtype=np.int64)
    index[kept] = np.arange(len(kept))
    coarse = np.array([index[f] for f in mesh.faces if f is not None], dtype=np.int64).reshape(-1, 3)
    return kept, coarse
