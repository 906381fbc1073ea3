"""Training through the Method: a small DIGIT built from the registry, losses from the card's config."""

from __future__ import annotations

import torch


def _small_digit():
    from handzoo.registry import build

    stages = [[1, [8, 16]], [1, [8, 16, 32]], [1, [8, 16, 32, 64]]]
    return build(
        "methods",
        {
            "type": "DIGIT",
            "backbone": {"type": "DigitHRNet", "stages": stages, "blocks_per_branch": 1},
            "segm_head": {"type": "DigitSegmHead", "in_channels": 8, "hidden": 16, "num_classes": 33},
            "merge": {"type": "DigitMerge", "image_channels": 8, "num_classes": 33, "segm_channels": 16},
            "joint_head": {"type": "DigitJointHead", "in_channels": 24},
            "root_hand_head": {"type": "DigitRootHandHead", "in_channels": 24},
            "losses": {"type": "DigitLoss"},
        },
    )


def test_training_forward_and_backward() -> None:
    torch.manual_seed(0)
    model = _small_digit().train()
    g = torch.Generator().manual_seed(1)
    img = torch.rand(2, 3, 256, 256, generator=g)
    targets = {
        "joints25d": torch.rand(2, 42, 3, generator=g) * 64,
        "joint_valid": torch.ones(2, 42),
        "rel_root_bin": torch.full((2,), 30.0),
        "root_valid": torch.ones(2),
        "hand_type": torch.tensor([[1.0, 1.0], [1.0, 0.0]]),
        "hand_type_valid": torch.ones(2),
        "segm": torch.randint(0, 33, (2, 128, 128), generator=g),
        "segm_valid": torch.ones(2),
    }
    out = model({"img": img, "targets": targets})
    assert {"loss", "loss_joint", "loss_rel_root_depth", "loss_hand_type", "loss_segm", "loss_bone"} <= set(out)
    assert torch.isfinite(out["loss"])
    out["loss"].backward()
    # every part is trained by the loss (the segmentation head through the part cross-entropy)
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    for part in ("backbone", "segm_head", "merge", "joint_head", "root_hand_head"):
        assert any(p.grad.abs().sum() > 0 for p in getattr(model, part).parameters()), part
    # inference ignores targets and runs the folded plan
    model.eval()
    with torch.inference_mode():
        out = model({"img": img[:1]})
    assert "loss" not in out and out["joints25d"].shape == (1, 42, 3)
