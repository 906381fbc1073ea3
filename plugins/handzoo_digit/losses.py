"""DIGIT's training losses (the authors' ``Model.forward`` terms and weights).

All terms live in DIGIT's heatmap space: joints (B, 42, 3) with x, y in 64-pixel units and z in
depth bins; the relative root depth in root bins. Targets (``batch['targets']``):

* ``joints25d`` (B, 42, 3), ``joint_valid`` (B, 42);
* ``rel_root_bin`` (B,), ``root_valid`` (B,);
* ``hand_type`` (B, 2) (right, left) in {0, 1}, ``hand_type_valid`` (B,);
* ``segm`` (B, 128, 128) int64 part labels (0 background, 1-16 right, 17-32 left; see
  :mod:`handzoo_digit.parts`), ``segm_valid`` (B,).

Terms (weights as the authors'): L1 on the 2.5D joints (mean over all entries, invalid joints
zeroed), L1 on the relative root depth, handedness BCE (mean over the two outputs), per-pixel
part cross-entropy x10, and a bone-vector L2 prior x0.1 (20 bones per hand, both hands).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from handzoo.geometry.joint_orders import HANDZOO21_BONES, TO_HANDZOO21
from handzoo.interfaces import Loss

__all__ = [
    "INTERHAND_BONES",
    "DigitJointLoss",
    "DigitRootDepthLoss",
    "DigitHandednessLoss",
    "DigitSegmentationLoss",
    "DigitBoneLoss",
    "DigitLoss",
]

_IH = TO_HANDZOO21["interhand"]
# (joint, parent) in one hand's InterHand2.6M order
INTERHAND_BONES: tuple[tuple[int, int], ...] = tuple((_IH[c], _IH[p]) for p, c in HANDZOO21_BONES)


def _f(x: Any, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(x, dtype=like.dtype, device=like.device)


class DigitJointLoss(Loss):
    """L1 between predicted and target 2.5D joints, invalid joints zeroed, mean over everything."""

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = float(weight)

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Return ``{'loss', 'loss_joint'}``."""
        p = output["joints25d"]
        v = _f(batch["joint_valid"], p)
        term = ((p - _f(batch["joints25d"], p)).abs() * v[..., None]).mean()
        return {"loss": self.weight * term, "loss_joint": term}


class DigitRootDepthLoss(Loss):
    """L1 on the relative root depth (in bins), masked by ``root_valid``."""

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = float(weight)

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Return ``{'loss', 'loss_rel_root_depth'}``."""
        p = output["rel_root_bin"].reshape(-1)
        t = _f(batch["rel_root_bin"], p).reshape(-1)
        term = ((p - t).abs() * _f(batch["root_valid"], p).reshape(-1)).mean()
        return {"loss": self.weight * term, "loss_rel_root_depth": term}


class DigitHandednessLoss(Loss):
    """Binary cross-entropy on the (right, left) logits, masked by ``hand_type_valid``."""

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = float(weight)

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Return ``{'loss', 'loss_hand_type'}``."""
        p = output["hand_logits"]
        bce = F.binary_cross_entropy_with_logits(p, _f(batch["hand_type"], p), reduction="none").mean(1)
        term = (bce * _f(batch["hand_type_valid"], p).reshape(-1)).mean()
        return {"loss": self.weight * term, "loss_hand_type": term}


class DigitSegmentationLoss(Loss):
    """Per-pixel cross-entropy of the part logits, masked per sample by ``segm_valid`` (x10)."""

    def __init__(self, weight: float = 10.0) -> None:
        super().__init__()
        self.weight = float(weight)

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Return ``{'loss', 'loss_segm'}`` (``loss_segm`` unweighted)."""
        logits = output["segm_logits"]
        target = torch.as_tensor(batch["segm"], device=logits.device).long()
        if target.shape[-2:] != logits.shape[-2:]:
            target = F.interpolate(target[:, None].float(), size=logits.shape[-2:], mode="nearest")[:, 0].long()
        ce = F.cross_entropy(logits, target, reduction="none")
        term = (ce * _f(batch["segm_valid"], logits).reshape(-1, 1, 1)).mean()
        return {"loss": self.weight * term, "loss_segm": term}


class DigitBoneLoss(Loss):
    """Squared error of bone vectors (joint minus parent, 2.5D space), valid bones only (x0.1).

    Each hand's term is the mean over (B, 20, 3); the loss is their sum.
    """

    def __init__(self, weight: float = 0.1) -> None:
        super().__init__()
        self.weight = float(weight)
        child = [c for c, _ in INTERHAND_BONES]
        parent = [p for _, p in INTERHAND_BONES]
        self.register_buffer("child", torch.tensor(child + [c + 21 for c in child]), persistent=False)
        self.register_buffer("parent", torch.tensor(parent + [p + 21 for p in parent]), persistent=False)

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Return ``{'loss', 'loss_bone'}`` (``loss_bone`` unweighted)."""
        p = output["joints25d"]
        t = _f(batch["joints25d"], p)
        v = _f(batch["joint_valid"], p)
        c, q = self.child.to(p.device), self.parent.to(p.device)
        err = ((p[:, c] - p[:, q]) - (t[:, c] - t[:, q])) ** 2 * (v[:, c] * v[:, q])[..., None]
        n = len(INTERHAND_BONES)
        term = err[:, :n].mean() + err[:, n:].mean()
        return {"loss": self.weight * term, "loss_bone": term}


class DigitLoss(Loss):
    """The sum of DIGIT's five terms with the authors' weights (each weight configurable).

    Args:
        joint, root_depth, handedness, segmentation, bone: term weights (1, 1, 1, 10, 0.1).
    """

    def __init__(
        self,
        joint: float = 1.0,
        root_depth: float = 1.0,
        handedness: float = 1.0,
        segmentation: float = 10.0,
        bone: float = 0.1,
    ) -> None:
        super().__init__()
        self.terms = torch.nn.ModuleList(
            [
                DigitJointLoss(joint),
                DigitRootDepthLoss(root_depth),
                DigitHandednessLoss(handedness),
                DigitSegmentationLoss(segmentation),
                DigitBoneLoss(bone),
            ]
        )

    def forward(self, output: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Return ``{'loss': weighted sum, 'loss_joint', 'loss_rel_root_depth', 'loss_hand_type',
        'loss_segm', 'loss_bone'}`` (terms unweighted)."""
        out: dict[str, torch.Tensor] = {}
        total = None
        for term in self.terms:
            r = term(output, batch)
            total = r["loss"] if total is None else total + r["loss"]
            out.update({k: v for k, v in r.items() if k != "loss"})
        out["loss"] = total
        return out
