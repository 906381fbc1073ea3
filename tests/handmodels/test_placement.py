"""Placing a record's hand in its camera: each way a record can say where the hand is, in order."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handzoo.geometry.rotations import axis_angle_to_matrix
from handzoo.handmodels import hand_model
from handzoo.handmodels.placement import record_hand_vertices


@pytest.fixture(scope="module")
def model():
    return hand_model("openhand", side="right", flat_hand_mean=False, dtype=torch.float64).eval()


def _record(model, seed: int = 0) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """A one-hand record in the flat convention and the model's own posed vertices/joints (no offset)."""
    rng = np.random.default_rng(seed)
    go, hp, betas = rng.normal(0, 0.4, 3), rng.normal(0, 0.2, 45), rng.normal(0, 0.5, 10)
    with torch.no_grad():
        v, j = model(
            torch.as_tensor(go)[None],
            torch.as_tensor(hp)[None] - model.hand_mean,
            torch.as_tensor(betas)[None, : model.num_betas],
        )
    rec = {"side": 1, "global_orient": go, "hand_pose": hp, "betas": betas, "hand_model": "openhand"}
    return rec, v[0], j[0]


def test_translation_places_the_posed_model(model) -> None:
    rec, v, _ = _record(model)
    rec["transl"] = np.array([0.01, -0.02, 0.5])
    out = record_hand_vertices(model, "openhand", rec)
    np.testing.assert_allclose(
        out.numpy(), (v + torch.tensor([0.01, -0.02, 0.5], dtype=torch.float64)).numpy(), atol=1e-12
    )


def test_wrist_places_the_posed_model_without_translation(model) -> None:
    rec, v, j = _record(model, 1)
    wrist = np.array([0.03, 0.01, 0.6])
    rec["joints3d"] = np.tile(wrist, (21, 1))
    out = record_hand_vertices(model, "openhand", rec)
    np.testing.assert_allclose(out.numpy(), (v - j[0] + torch.as_tensor(wrist)).numpy(), atol=1e-12)
    rec["joints_valid"] = np.r_[0.0, np.ones(20)]
    assert record_hand_vertices(model, "openhand", rec) is None


def test_world_fit_seen_through_the_extrinsics(model) -> None:
    rec, v, j = _record(model, 2)
    R = axis_angle_to_matrix(torch.tensor([[0.1, -0.3, 0.2]], dtype=torch.float64))[0]
    t, tw = torch.tensor([0.0, 0.1, 0.4], dtype=torch.float64), torch.tensor([0.02, 0.0, 0.1], dtype=torch.float64)
    rec.update(has_transl_world=1, transl_world=tw.numpy(), world_to_camera=torch.cat([R, t[:, None]], 1).numpy())
    out = record_hand_vertices(model, "openhand", rec)
    # a rigid offset of the posed mesh that puts its root where the camera sees the world fit's root
    offset = out - v
    np.testing.assert_allclose(offset.numpy(), offset[:1].expand_as(offset).numpy(), atol=1e-12)
    np.testing.assert_allclose((j[0] + offset[0]).numpy(), (R @ (j[0] + tw) + t).numpy(), atol=1e-12)


def test_own_vertices_win_and_other_models_parameters_do_not_pose(model) -> None:
    rec, v, _ = _record(model, 3)
    own = np.random.default_rng(0).normal(size=(int(model.num_vertices), 3))
    rec.update(vertices=own, has_vertices=1, transl=np.zeros(3))
    np.testing.assert_array_equal(record_hand_vertices(model, "openhand", rec).numpy(), own)
    rec.update(vertices=own[:10])  # another model's vertex count: fall back to the parameters
    np.testing.assert_allclose(record_hand_vertices(model, "openhand", rec).numpy(), v.numpy(), atol=1e-12)
    rec["hand_model"] = "mano"
    assert record_hand_vertices(model, "openhand", rec) is None


def test_second_hand_of_a_two_hand_record(model) -> None:
    a, va, _ = _record(model, 4)
    b, vb, _ = _record(model, 5)
    rec = {k: np.stack([np.asarray(a[k]), np.asarray(b[k])]) for k in ("side", "global_orient", "hand_pose", "betas")}
    rec.update(hand_model="openhand", transl=np.array([[0, 0, 0.5], [0.1, 0, 0.5]]), has_transl=np.array([1, 1]))
    out = record_hand_vertices(model, "openhand", rec, 1)
    np.testing.assert_allclose(out.numpy(), (vb + torch.tensor([0.1, 0, 0.5], dtype=torch.float64)).numpy(), atol=1e-12)
