"""Spiral indices: OpenMesh's order, reproduced without OpenMesh."""

from __future__ import annotations

import numpy as np
from h2o_helpers import FIXTURES
from handzoo_h2onet.assets import load_mesh_hierarchy
from handzoo_h2onet.spiral import HalfEdgeMesh, extract_spirals


def test_spirals_equal_openmesh(template_dir):
    """The golden run stored the spirals OpenMesh computed for each stand-in level."""
    golden = np.load(FIXTURES / "golden_sf.npz")
    mesh = load_mesh_hierarchy(template_dir)
    assert mesh.num_vertices == (778, 389, 195, 98, 49)
    for lvl, spiral in enumerate(mesh.spirals):
        np.testing.assert_array_equal(spiral, golden[f"spiral_{lvl}"].astype(np.int64))


def test_spiral_structure():
    # a square fan: centre 0 with a ring 1..6 (closed), then an outer ring
    ang = np.linspace(0, 2 * np.pi, 7)[:-1]
    verts = np.concatenate([[[0, 0, 0]], np.c_[np.cos(ang), np.sin(ang), 0 * ang]])
    faces = np.array([[0, i, i % 6 + 1] for i in range(1, 7)])
    sp = extract_spirals(verts, faces, seq_length=7)
    assert sp.shape == (7, 7)
    assert (sp[:, 0] == np.arange(7)).all()
    assert sorted(sp[0, 1:]) == [1, 2, 3, 4, 5, 6]


def test_non_manifold_face_is_skipped():
    mesh = HalfEdgeMesh(5, np.array([[0, 1, 2], [0, 2, 3], [0, 2, 4]]))  # edge 0-2 used three times
    assert mesh.num_faces == 2
