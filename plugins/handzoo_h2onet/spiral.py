"""Spiral neighbourhood sequences of a triangle mesh, in OpenMesh's traversal order.

The H2ONet weights were trained with spiral indices produced by OpenMesh's half-edge structure
(``om.TriMesh(points, faces)`` then vertex-vertex circulation). A spiral convolution's weight
rows are tied to the position of each neighbour in the sequence, so the order must be exactly
OpenMesh's. This module rebuilds OpenMesh's connectivity in pure Python: faces are added one by
one with the same half-edge linking rules (including each vertex's outgoing half-edge choice and
the boundary adjustment), and neighbours are circulated clockwise from that half-edge. It needs
neither OpenMesh nor psbody.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HalfEdgeMesh", "extract_spirals"]


class HalfEdgeMesh:
    """Minimal half-edge connectivity built like OpenMesh's ``PolyConnectivity::add_face``.

    Half-edge ``h`` and ``h ^ 1`` are the two halves of one edge. Faces that would make the mesh
    non-manifold are skipped, as OpenMesh does.

    Args:
        num_vertices: number of vertices.
        faces: (F, 3) vertex indices, added in order.
    """

    def __init__(self, num_vertices: int, faces: np.ndarray) -> None:
        self.to_vertex: list[int] = []
        self.next: list[int] = []
        self.prev: list[int] = []
        self.face: list[int] = []
        self.vertex_he = [-1] * int(num_vertices)
        self.num_faces = 0
        for f in np.asarray(faces, dtype=np.int64):
            self.add_face([int(v) for v in f])

    # -- basic queries -------------------------------------------------------------------------
    def _is_boundary_he(self, h: int) -> bool:
        return self.face[h] == -1

    def _is_boundary_vertex(self, v: int) -> bool:
        h = self.vertex_he[v]
        return h == -1 or self._is_boundary_he(h)

    def _cw(self, h: int) -> int:
        return self.next[h ^ 1]

    def outgoing(self, v: int) -> list[int]:
        """Outgoing half-edges of ``v``, clockwise from the vertex's own half-edge."""
        h0 = self.vertex_he[v]
        if h0 == -1:
            return []
        out, h = [], h0
        while True:
            out.append(h)
            h = self._cw(h)
            if h == h0 or h == -1 or len(out) > len(self.to_vertex):
                return out

    def neighbours(self, v: int) -> list[int]:
        """One-ring of ``v`` in OpenMesh's vertex-vertex circulation order."""
        return [self.to_vertex[h] for h in self.outgoing(v)]

    def _find_halfedge(self, a: int, b: int) -> int:
        for h in self.outgoing(a):
            if self.to_vertex[h] == b:
                return h
        return -1

    def _new_edge(self, a: int, b: int) -> int:
        h = len(self.to_vertex)
        self.to_vertex += [b, a]
        self.next += [-1, -1]
        self.prev += [-1, -1]
        self.face += [-1, -1]
        return h

    def _set_next(self, h: int, n: int) -> None:
        self.next[h] = n
        self.prev[n] = h

    def _adjust_outgoing(self, v: int) -> None:
        for h in self.outgoing(v):
            if self._is_boundary_he(h):
                self.vertex_he[v] = h
                return

    # -- face insertion ------------------------------------------------------------------------
    def add_face(self, vh: list[int]) -> int:  # noqa: C901 - mirrors one algorithm
        """Add one face; return its index, or -1 if it would break manifoldness."""
        n = len(vh)
        he = [-1] * n
        is_new = [False] * n
        for i in range(n):
            ii = (i + 1) % n
            if not self._is_boundary_vertex(vh[i]):
                return -1
            he[i] = self._find_halfedge(vh[i], vh[ii])
            is_new[i] = he[i] == -1
            if not is_new[i] and not self._is_boundary_he(he[i]):
                return -1
        next_cache: list[tuple[int, int]] = []
        # re-link patches if necessary
        for i in range(n):
            ii = (i + 1) % n
            if not is_new[i] and not is_new[ii]:
                inner_prev, inner_next = he[i], he[ii]
                if self.next[inner_prev] != inner_next:
                    outer_prev = inner_next ^ 1
                    boundary_prev = outer_prev
                    while True:
                        boundary_prev = self.next[boundary_prev] ^ 1
                        if self._is_boundary_he(boundary_prev) and boundary_prev != inner_prev:
                            break
                    boundary_next = self.next[boundary_prev]
                    if boundary_next == inner_next:
                        return -1
                    patch_start = self.next[inner_prev]
                    patch_end = self.prev[inner_next]
                    next_cache += [(boundary_prev, patch_start), (patch_end, boundary_next), (inner_prev, inner_next)]
        for i in range(n):
            if is_new[i]:
                he[i] = self._new_edge(vh[i], vh[(i + 1) % n])
        fh = self.num_faces
        self.num_faces += 1
        needs_adjust = [False] * n
        for i in range(n):
            ii = (i + 1) % n
            v = vh[ii]
            inner_prev, inner_next = he[i], he[ii]
            kind = (1 if is_new[i] else 0) | (2 if is_new[ii] else 0)
            if kind:
                outer_prev, outer_next = inner_next ^ 1, inner_prev ^ 1
                if kind == 1:
                    boundary_prev = self.prev[inner_next]
                    next_cache.append((boundary_prev, outer_next))
                    self.vertex_he[v] = outer_next
                elif kind == 2:
                    boundary_next = self.next[inner_prev]
                    next_cache.append((outer_prev, boundary_next))
                    self.vertex_he[v] = boundary_next
                else:
                    if self.vertex_he[v] == -1:
                        self.vertex_he[v] = outer_next
                        next_cache.append((outer_prev, outer_next))
                    else:
                        boundary_next = self.vertex_he[v]
                        boundary_prev = self.prev[boundary_next]
                        next_cache += [(boundary_prev, outer_next), (outer_prev, boundary_next)]
                next_cache.append((inner_prev, inner_next))
            else:
                needs_adjust[ii] = self.vertex_he[v] == inner_next
            self.face[he[i]] = fh
        for h, nxt in next_cache:
            self._set_next(h, nxt)
        for i in range(n):
            if needs_adjust[i]:
                self._adjust_outgoing(vh[i])
        return fh


def _next_ring(mesh: HalfEdgeMesh, last_ring: list[int], taken: list[int]) -> list[int]:
    """Vertices adjacent to ``last_ring`` that are new, walked in circulation order."""
    last, seen = set(last_ring), set(taken)
    out: list[int] = []
    out_set: set[int] = set()

    def add(v: int) -> None:
        if v not in last and v not in seen and v not in out_set:
            out.append(v)
            out_set.add(v)

    for v1 in last_ring:
        ring = mesh.neighbours(v1)
        after = False
        for v2 in ring:  # first pass: what follows the first last-ring neighbour
            if after:
                add(v2)
            if v2 in last:
                after = True
        for v2 in ring:  # second pass: what precedes it
            if v2 in last:
                break
            add(v2)
    return out


def extract_spirals(vertices: np.ndarray, faces: np.ndarray, seq_length: int, dilation: int = 1) -> np.ndarray:
    """Spiral sequences of every vertex (centre, its one-ring, then further rings), cut to length.

    Vertices whose rings run out before ``seq_length * dilation`` entries fall back to their
    nearest vertices by Euclidean distance.

    Args:
        vertices: (V, 3) positions (only used by the nearest-neighbour fallback).
        faces: (F, 3) triangles.
        seq_length: entries per spiral.
        dilation: keep every ``dilation``-th entry.

    Returns:
        (V, seq_length) int64 vertex indices.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    mesh = HalfEdgeMesh(len(vertices), faces)
    need = seq_length * dilation
    tree = None
    spirals = []
    for v0 in range(len(vertices)):
        spiral = [v0]
        last_ring = mesh.neighbours(v0)
        next_ring = _next_ring(mesh, last_ring, spiral)
        spiral.extend(last_ring)
        while len(spiral) + len(next_ring) < need:
            if not next_ring:
                break
            last_ring = next_ring
            next_ring = _next_ring(mesh, last_ring, spiral)
            spiral.extend(last_ring)
        if next_ring:
            spiral.extend(next_ring)
        else:
            if tree is None:
                from scipy.spatial import cKDTree

                tree = cKDTree(vertices)
            _, idx = tree.query(vertices[v0][None], k=need)
            spiral = [int(i) for i in np.atleast_2d(idx)[0]]
        spirals.append(spiral[:need][::dilation])
    return np.asarray(spirals, dtype=np.int64)
