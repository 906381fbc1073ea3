"""handzoo's own mesh hierarchy: decimation, up-sampling, spirals, and the open hand's hierarchy."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from h2o_helpers import FIXTURES
from handzoo_h2onet.decimate import DecimationError, decimate
from handzoo_h2onet.hierarchy import (
    build_hierarchy,
    openhand_finger_vertex_ids,
    openhand_hierarchy,
    openhand_joint_regressor,
    upsample_weights,
)
from hypothesis import given, settings
from hypothesis import strategies as st


def _grid(nx: int, ny: int, jitter: float = 0.0, seed: int = 0, bend: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A triangulated (nx x ny) grid, optionally jittered in-plane and bent out of plane."""
    rng = np.random.default_rng(seed)
    x, y = np.meshgrid(np.arange(nx, dtype=float), np.arange(ny, dtype=float), indexing="ij")
    x[1:-1, 1:-1] += jitter * rng.uniform(-0.3, 0.3, size=(nx - 2, ny - 2))
    y[1:-1, 1:-1] += jitter * rng.uniform(-0.3, 0.3, size=(nx - 2, ny - 2))
    v = np.stack([x.ravel(), y.ravel(), bend * np.sin(x.ravel() / 2)], 1)
    idx = np.arange(nx * ny).reshape(nx, ny)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    f = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    return v, f


def _topology(faces: np.ndarray, n: int) -> dict:
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    edges, counts = np.unique(np.sort(directed, 1), axis=0, return_counts=True)
    used = np.unique(faces)
    return {
        "euler": n - len(edges) + len(faces),
        "max_faces_per_edge": int(counts.max()),
        "consistent": len(np.unique(directed, axis=0)) == len(directed),
        "boundary_edges": int((counts == 1).sum()),
        "all_used": len(used) == n,
    }


@settings(max_examples=15, deadline=None)
@given(
    nx=st.integers(4, 9), ny=st.integers(4, 9), jitter=st.floats(0, 1), bend=st.floats(0, 1), seed=st.integers(0, 99)
)
def test_decimation_keeps_a_manifold_disc(nx, ny, jitter, bend, seed):
    v, f = _grid(nx, ny, jitter, seed, bend)
    target = -(-len(v) // 2)
    kept, coarse = decimate(v, f, target)
    assert len(kept) == target and np.all(np.diff(kept) > 0)
    top = _topology(coarse, target)
    assert top == {
        "euler": 1,
        "max_faces_per_edge": 2,
        "consistent": True,
        "boundary_edges": top["boundary_edges"],
        "all_used": True,
    }
    assert top["boundary_edges"] >= 3
    # coarse faces keep the orientation of the fine mesh (all normals +z on the flat grid)
    if bend == 0:
        p = v[kept]
        n = np.cross(p[coarse[:, 1]] - p[coarse[:, 0]], p[coarse[:, 2]] - p[coarse[:, 0]])
        assert (n[:, 2] > 0).all()


@settings(max_examples=10, deadline=None)
@given(nx=st.integers(4, 9), ny=st.integers(4, 9), jitter=st.floats(0, 1), seed=st.integers(0, 99))
def test_upsampling_is_barycentric_and_exact_on_a_plane(nx, ny, jitter, seed):
    v, f = _grid(nx, ny, jitter, seed)
    kept, coarse = decimate(v, f, -(-len(v) // 2))
    index, weight = upsample_weights(v, kept, coarse)
    assert index.shape == weight.shape == (len(v), 3)
    assert (weight >= 0).all() and np.allclose(weight.sum(1), 1, atol=1e-6)
    np.testing.assert_array_equal(index[kept, 0], np.arange(len(kept)))
    np.testing.assert_array_equal(weight[kept], np.tile([1.0, 0.0, 0.0], (len(kept), 1)))
    rebuilt = (weight[..., None] * v[kept][index]).sum(1)
    inside = _inside_coarse(v, kept, coarse)
    np.testing.assert_allclose(rebuilt[inside], v[inside], atol=1e-5)  # flat: every point lies on the coarse mesh


def _inside_coarse(v: np.ndarray, kept: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """Fine vertices covered by the coarse (flat) triangles; boundary corners may be cut off."""
    p = v[kept][coarse][..., :2]
    q = v[:, None, :2]
    a, b, c = p[None, :, 0], p[None, :, 1], p[None, :, 2]

    def cross(o, s, t):
        return (s[..., 0] - o[..., 0]) * (t[..., 1] - o[..., 1]) - (s[..., 1] - o[..., 1]) * (t[..., 0] - o[..., 0])

    d1, d2, d3 = cross(a, b, q), cross(b, c, q), cross(c, a, q)
    return ((d1 >= -1e-9) & (d2 >= -1e-9) & (d3 >= -1e-9)).any(1)


def test_decimation_errors():
    v, f = _grid(3, 3)
    with pytest.raises(DecimationError, match="between 3"):
        decimate(v, f, 2)
    with pytest.raises(DecimationError, match="no valid collapse"):
        decimate(v, f, 3)  # a 3x3 grid cannot lose 6 vertices and stay a manifold disc


def _fingerprint(h) -> str:
    sha = hashlib.sha256()
    for arr in (*h.vertices, *h.faces, *(a for pair in h.up for a in pair), *h.spirals):
        sha.update(np.ascontiguousarray(arr).tobytes())
    return sha.hexdigest()


def test_openhand_hierarchy_is_the_recorded_one():
    """Weights trained on the open-hand variants depend on this exact hierarchy."""
    h = openhand_hierarchy()
    record = json.loads((FIXTURES / "openhand_hierarchy.json").read_text())
    assert list(h.num_vertices) == record["num_vertices"] == [1609, 805, 403, 202, 101]
    assert [len(f) for f in h.faces] == record["num_faces"]
    assert [s.shape for s in h.spirals] == [(n, 9) for n in record["num_vertices"][:-1]]
    for lvl, f in enumerate(h.faces):
        assert _topology(f, len(h.vertices[lvl]))["euler"] == 1
    assert _fingerprint(h) == record["sha256"], (
        "the open-hand hierarchy changed (decimation code or the open hand asset): weights trained on the old one "
        "no longer fit. If intended, update tests/plugins/h2onet/fixtures/openhand_hierarchy.json"
    )


def test_hierarchy_build_is_deterministic():
    from handzoo.handmodels.openhand import load_openhand

    data = load_openhand("right")
    again = build_hierarchy(data.v_template, data.faces, factors=(2,))
    h = openhand_hierarchy()
    np.testing.assert_array_equal(again.faces[1], h.faces[1])
    np.testing.assert_array_equal(again.up[0][0], h.up[0][0])
    np.testing.assert_array_equal(again.up[0][1], h.up[0][1])
    np.testing.assert_array_equal(again.spirals[0], h.spirals[0])
    assert not again.faces[1].flags.writeable


def test_openhand_regressor_and_fingers():
    from handzoo.handmodels.openhand import OPENHAND_TIP_IDS

    reg = openhand_joint_regressor()
    assert reg.shape == (21, 1609)
    np.testing.assert_allclose(reg.sum(1), 1.0, atol=1e-5)
    tips = [4, 8, 12, 16, 20]  # handzoo21 thumb, index, middle, ring, pinky tips
    for row, vid in zip(tips, OPENHAND_TIP_IDS):
        assert reg[row, vid] == 1.0 and np.count_nonzero(reg[row]) == 1
    fingers = openhand_finger_vertex_ids()
    assert len(fingers) == 5 and all(len(f) > 100 for f in fingers)
    assert len(np.unique(np.concatenate(fingers))) == sum(len(f) for f in fingers)  # disjoint
    for ids, tip in zip(fingers, OPENHAND_TIP_IDS):
        assert tip in ids
