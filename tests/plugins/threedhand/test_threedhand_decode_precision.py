"""float32 CPU inference poses the hand in float64 and rounds once (``ThreeDHand._float64_hand_model``)."""

from __future__ import annotations

import copy

import tdh_testutils as tu
import torch
from handzoo_3dhand.mesh import decode_hand

KEYS = ("vertices", "joints3d", "joints2d", "vertices2d", "global_orient", "hand_pose", "transl")


def _params(model, x):
    p = model.head(model.backbone(x[:, : model.in_channels]))
    return p, (p["scale"], p["trans"], p["rot"], p["pose_pca"], p["betas"])


def test_inference_decodes_in_float64_and_returns_float32(rgb_model) -> None:
    x = tu.seeded_inputs(2)
    with torch.inference_mode():
        out = rgb_model({"img": x})
        p, parts = _params(rgb_model, x)
        ref = decode_hand(copy.deepcopy(rgb_model.hand_model).double(), *(t.double() for t in parts))
        plain = decode_hand(rgb_model.hand_model, *parts)
    for key in KEYS:
        assert out[key].dtype == torch.float32, key
        assert torch.equal(out[key], ref[key].float()), key
    # the float32 hand model rounds differently somewhere (else this test would prove nothing)
    assert any(not torch.equal(plain[k], out[k]) for k in KEYS)


def test_autograd_keeps_the_float32_hand_model(rgb_model) -> None:
    with torch.enable_grad():
        out = rgb_model({"img": tu.seeded_inputs(1)})
    with torch.no_grad():
        parts = [out[k].detach() for k in ("scale", "trans", "rot", "pose_pca", "betas")]
        ref = decode_hand(rgb_model.hand_model, *parts)
    assert out["vertices"].requires_grad
    for key in KEYS:
        assert torch.equal(out[key].detach(), ref[key]), key


def test_the_float64_copy_follows_changes_of_the_hand_model(mano_dir, authors_state) -> None:
    model = tu.build_model(0, mano_dir, authors_state)
    x = tu.seeded_inputs(1)
    with torch.inference_mode():
        before = model({"img": x})["vertices"]
    with torch.no_grad():
        model.hand_model.v_template += 0.01  # an in-place change: the kept copy is rebuilt
    with torch.inference_mode():
        after = model({"img": x})["vertices"]
        _, parts = _params(model, x)
        ref = decode_hand(copy.deepcopy(model.hand_model).double(), *(t.double() for t in parts))["vertices"]
    assert not torch.allclose(after, before, atol=1e-3)
    assert torch.equal(after, ref.float())
