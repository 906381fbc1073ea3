"""DIGIT's losses (registered terms and weights) and the rendered part labels for training."""

from __future__ import annotations

import pytest
import torch
from handzoo_digit.losses import INTERHAND_BONES, DigitBoneLoss, DigitLoss
from handzoo_digit.parts import render_part_labels, vertex_parts

from handzoo.errors import ConfigError


def _batch(b: int = 3, seed: int = 0) -> tuple[dict, dict]:
    g = torch.Generator().manual_seed(seed)
    out = {
        "joints25d": torch.rand(b, 42, 3, generator=g) * 64,
        "rel_root_bin": torch.rand(b, generator=g) * 64,
        "hand_logits": torch.randn(b, 2, generator=g),
        "segm_logits": torch.randn(b, 33, 16, 16, generator=g),
    }
    tgt = {
        "joints25d": torch.rand(b, 42, 3, generator=g) * 64,
        "joint_valid": (torch.rand(b, 42, generator=g) > 0.2).float(),
        "rel_root_bin": torch.rand(b, generator=g) * 64,
        "root_valid": torch.tensor([1.0, 0.0, 1.0])[:b],
        "hand_type": torch.tensor([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])[:b],
        "hand_type_valid": torch.ones(b),
        "segm": torch.randint(0, 33, (b, 32, 32), generator=g),
        "segm_valid": torch.tensor([1.0, 1.0, 0.0])[:b],
    }
    return out, tgt


def test_terms_match_their_definitions() -> None:
    out, tgt = _batch()
    res = DigitLoss()(out, tgt)
    v = tgt["joint_valid"]
    joint = ((out["joints25d"] - tgt["joints25d"]).abs() * v[..., None]).mean()
    torch.testing.assert_close(res["loss_joint"], joint)
    root = ((out["rel_root_bin"] - tgt["rel_root_bin"]).abs() * tgt["root_valid"]).mean()
    torch.testing.assert_close(res["loss_rel_root_depth"], root)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(out["hand_logits"], tgt["hand_type"], reduction="none")
    torch.testing.assert_close(res["loss_hand_type"], bce.mean(1).mean())
    # the target is nearest-down-sampled to the logits' 16x16 (the authors: 256 -> 128)
    seg_t = tgt["segm"][:, ::2, ::2]
    ce = torch.nn.functional.cross_entropy(out["segm_logits"], seg_t, reduction="none")
    torch.testing.assert_close(res["loss_segm"], (ce * tgt["segm_valid"][:, None, None]).mean())
    total = (
        res["loss_joint"]
        + res["loss_rel_root_depth"]
        + res["loss_hand_type"]
        + 10 * res["loss_segm"]
        + 0.1 * res["loss_bone"]
    )
    torch.testing.assert_close(res["loss"], total)


def test_bone_prior() -> None:
    assert len(INTERHAND_BONES) == 20
    # every InterHand joint but the wrist (20) is a child exactly once
    assert sorted(c for c, _ in INTERHAND_BONES) == list(range(20))
    out, tgt = _batch()
    # bones equal (a translated copy): no loss
    same = {"joints25d": tgt["joints25d"] + 3.0}
    assert DigitBoneLoss()(same, tgt)["loss_bone"].item() == pytest.approx(0.0, abs=1e-10)
    assert DigitBoneLoss()(out, tgt)["loss_bone"].item() > 0


def test_perfect_prediction_has_no_pose_loss_and_gradients_flow() -> None:
    out, tgt = _batch()
    perfect = {
        **out,
        "joints25d": tgt["joints25d"].clone().requires_grad_(),
        "rel_root_bin": tgt["rel_root_bin"].clone(),
    }
    res = DigitLoss()(perfect, tgt)
    assert res["loss_joint"].item() == 0 and res["loss_rel_root_depth"].item() == 0 and res["loss_bone"].item() == 0
    out["segm_logits"].requires_grad_()
    DigitLoss()(out, tgt)["loss"].backward()
    assert out["segm_logits"].grad is not None and torch.isfinite(out["segm_logits"].grad).all()


def test_part_labels_from_the_open_hand() -> None:
    from handzoo.registry import build

    right = build("hand_models", {"type": "openhand", "side": "right", "flat_hand_mean": True})
    left = build("hand_models", {"type": "openhand", "side": "left", "flat_hand_mean": True})
    zeros = torch.zeros(1, 3), torch.zeros(1, 45)
    vr, _ = right(*zeros, None, torch.tensor([[0.05, 0.0, 0.5]]))
    vl, _ = left(*zeros, None, torch.tensor([[-0.05, 0.0, 0.5]]))
    pr, pl = vertex_parts(right), vertex_parts(left)
    assert pr.shape == (right.num_vertices,) and int(pr.max()) == 15
    K = torch.tensor([[300.0, 0, 64], [0, 300.0, 64], [0, 0, 1]])
    labels = render_part_labels(vr[0], vl[0], right.faces, left.faces, pr, pl, K, (128, 128))
    assert labels.shape == (128, 128) and labels.dtype == torch.long
    present = set(labels.unique().tolist())
    assert 0 in present and any(1 <= p <= 16 for p in present) and any(17 <= p <= 32 for p in present)
    only_right = render_part_labels(vr[0], None, right.faces, left.faces, pr, pl, K, (128, 128))
    assert int(only_right.max()) <= 16
    # where the right hand is visible with both hands, it is what the right hand alone shows
    seen = (labels >= 1) & (labels <= 16)
    assert seen.any()
    torch.testing.assert_close(labels[seen], only_right[seen])
    with pytest.raises(ConfigError, match="lbs_weights"):
        vertex_parts(torch.nn.Linear(2, 2))


def test_losses_match_the_authors() -> None:
    """The authors' loss classes and bone prior (``fixtures/losses.npz``) on the same float64 inputs."""
    import digit_testutils as tu
    import numpy as np

    golden = np.load(tu.FIXTURES / "losses.npz")
    out, tgt = tu.seeded_loss_inputs()
    res = DigitLoss()(out, tgt)
    scale = {"loss_segm": 10.0, "loss_bone": 0.1}  # the authors report these terms weighted
    for key in ("loss_joint", "loss_rel_root_depth", "loss_hand_type", "loss_segm", "loss_bone"):
        assert scale.get(key, 1.0) * res[key].item() == pytest.approx(float(golden[key]), rel=1e-12, abs=1e-12), key
    assert res["loss"].item() == pytest.approx(float(golden["total_loss"]), rel=1e-12)
