"""Deterministic stand-ins shared by the H2ONet tests and the golden-output generator.

Nothing here is derived from MANO or from the authors' checkpoint: weights come from a seeded
rule, meshes from random points on a sphere, the joint regressor from a seeded generator. The
same functions produced the golden fixtures (run against the authors' code outside the repo), so
tests can rebuild identical weights without storing them.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

FIXTURES = Path(__file__).parent / "fixtures"


def deterministic_tensor(key: str, shape: tuple[int, ...]) -> torch.Tensor:
    """Fill one authors'-layout state-dict entry by a fixed rule seeded with ``crc32(key)``.

    The scales keep activations in a sensible range through the whole network (BN running
    variances positive, weight std ~ 1/sqrt(fan-in)).
    """
    gen = torch.Generator().manual_seed(zlib.crc32(key.encode()))
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "num_batches_tracked":
        return torch.tensor(0, dtype=torch.long)
    if leaf == "running_var":
        return 0.5 + torch.rand(shape, generator=gen)
    if leaf == "running_mean":
        return 0.1 * torch.randn(shape, generator=gen)
    if leaf == "bias":
        return 0.05 * torch.randn(shape, generator=gen)
    if len(shape) == 1:  # norm-layer scale
        return 1.0 + 0.1 * torch.randn(shape, generator=gen)
    fan_in = int(np.prod(shape[1:]))
    return torch.randn(shape, generator=gen) / float(np.sqrt(fan_in))


def deterministic_state(shapes: Mapping[str, tuple[int, ...]], skip_prefixes: tuple[str, ...] = ()) -> dict:
    """Deterministic values for every key of ``shapes`` except those starting with ``skip_prefixes``."""
    return {k: deterministic_tensor(k, tuple(s)) for k, s in sorted(shapes.items()) if not k.startswith(skip_prefixes)}


def standin_j_regressor(num_verts: int = 778, seed: int = 7) -> np.ndarray:
    """A random (16, V) joint regressor in MANO's layout: sparse non-negative rows summing to one."""
    rng = np.random.default_rng(seed)
    reg = np.zeros((16, num_verts), dtype=np.float64)
    for j in range(16):
        idx = rng.choice(num_verts, size=40, replace=False)
        w = rng.random(40)
        reg[j, idx] = w / w.sum()
    return reg


def standin_finger_vertex_ids(num_verts: int = 778, seed: int = 11) -> dict[str, list[int]]:
    """Random disjoint per-finger vertex sets (thumb, index, middle, ring, little)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(num_verts)
    names = ("thumb", "index", "middle", "ring", "little")
    return {n: sorted(int(i) for i in perm[k * 100 : k * 100 + 90 + 5 * k]) for k, n in enumerate(names)}


def write_standin_mano(folder: Path, j_regressor: np.ndarray, seed: int = 3) -> Path:
    """Write ``MANO_RIGHT.pkl`` with random arrays in MANO's layout (no MANO data)."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    v = j_regressor.shape[1]
    data = {
        "v_template": rng.normal(size=(v, 3)) * 0.05,
        "shapedirs": rng.normal(size=(v, 3, 10)) * 1e-3,
        "posedirs": rng.normal(size=(v, 3, 135)) * 1e-3,
        "J_regressor": sp.csc_matrix(j_regressor),
        "weights": rng.dirichlet(np.ones(16), size=v),
        "kintree_table": np.array([[2**32 - 1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14], list(range(16))]),
        "f": rng.integers(0, v, size=(1538, 3)).astype(np.uint32),
        "hands_components": rng.normal(size=(45, 45)),
        "hands_mean": rng.normal(size=45) * 0.1,
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "MANO_RIGHT.pkl"
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=2)
    return path


def make_standin_template(seed: int = 0, counts: tuple[int, ...] = (778, 389, 195, 98, 49)) -> dict:
    """A random mesh hierarchy in the layout of the authors' ``transform.pkl``.

    Each level is the convex hull of points on a unit sphere (one vertex removed to open a hole,
    like the hand mesh's wrist boundary); each coarser level's points are a subset of the finer
    level's. ``up_transform[i]`` maps level ``i+1`` to level ``i`` by barycentric weights (three
    entries per row); ``down_transform[i]`` selects the kept vertices.
    """
    import scipy.sparse as sp
    from scipy.spatial import ConvexHull

    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(counts[0] + 1, 3))
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    # the point with the largest z is the hole; it is removed from every level.
    hole = int(np.argmax(pts[:, 2]))
    order = [hole] + [i for i in rng.permutation(len(pts)) if i != hole]
    level_sets = [np.array(order[: n + 1]) for n in counts]

    vertices, faces = [], []
    for ids in level_sets:
        p = pts[ids]
        hull = ConvexHull(p)
        f = hull.simplices
        # orient faces outward
        n = np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]])
        flip = (n * p[f].mean(1)).sum(1) < 0
        f[flip] = f[flip][:, ::-1]
        f = f[(f != 0).all(1)] - 1  # drop the hole vertex (local index 0)
        vertices.append(p[1:].astype(np.float64))
        faces.append(f.astype(np.uint32))

    up, down, adj = [], [], []
    for lvl in range(len(counts) - 1):
        fine, coarse = vertices[lvl], vertices[lvl + 1]
        cf = faces[lvl + 1].astype(np.int64)
        rows, cols, vals = [], [], []
        for i, q in enumerate(fine):
            tri = coarse[cf]
            cen = tri.mean(1)
            t = int(np.argmin(((cen - q) ** 2).sum(1)))
            a, b, c = tri[t]
            m = np.stack([b - a, c - a], 1)
            uv, *_ = np.linalg.lstsq(m, q - a, rcond=None)
            w = np.array([1 - uv.sum(), uv[0], uv[1]])
            rows += [i] * 3
            cols += cf[t].tolist()
            vals += w.tolist()
        up.append(sp.csc_matrix((np.array(vals, np.float32), (rows, cols)), shape=(len(fine), len(coarse))))
        sel = np.arange(len(coarse))  # coarse points are the first ones of the finer level
        down.append(sp.csc_matrix((np.ones(len(coarse), np.float32), (sel, sel)), shape=(len(coarse), len(fine))))
    for lvl, f in enumerate(faces):
        n = len(vertices[lvl])
        e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]).astype(np.int64)
        a = sp.csc_matrix((np.ones(len(e), np.float32), (e[:, 0], e[:, 1])), shape=(n, n))
        adj.append(((a + a.T) > 0).astype(np.float32).tocsc())
    return {"vertices": vertices, "face": faces, "adj": adj, "down_transform": down, "up_transform": up}


def golden_authors_state(model) -> dict:
    """The authors'-layout weights of the golden run: deterministic, and the stand-in regressor.

    The golden run built the authors' models from the stand-in MANO arrays, so their
    ``mano_joint_reg`` was the stand-in's J_regressor + fingertip rows.
    """
    import torch
    from handzoo_h2onet.assets import joint_regressor_from_j16
    from handzoo_h2onet.convert import to_authors_state_dict

    shapes = {k: tuple(v.shape) for k, v in to_authors_state_dict(model.state_dict()).items()}
    state = deterministic_state(shapes, skip_prefixes=("mano_joint_reg",))
    state["mano_joint_reg"] = torch.from_numpy(joint_regressor_from_j16(standin_j_regressor()))
    return state


def golden_state(model) -> dict:
    """:func:`golden_authors_state` converted to handzoo names."""
    from handzoo_h2onet.convert import convert_state_dict

    variant = "h2onet-dexycb" if model.multi_frame else "h2onet-sf-dexycb"
    return convert_state_dict(golden_authors_state(model), variant)
