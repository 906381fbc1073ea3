"""Two-hand metrics of InterHand2.6M: MRRPE and hand-type (handedness) accuracy.

* MRRPE (mean relative-root position error): for samples with both hands (and both roots
  valid), ``| (pred_left_root - pred_right_root) - (gt_left_root - gt_right_root) |``, averaged.
* Handedness accuracy: the network gives two probabilities (right present, left present); a
  sample counts as correct when they match its type with a 0.5 threshold, strictly on both sides:
  right = (p_r > 0.5 and p_l < 0.5), left = (p_r < 0.5 and p_l > 0.5), interacting =
  (p_r > 0.5 and p_l > 0.5). Only samples whose hand type is annotated as valid count.
"""

from __future__ import annotations

from typing import Any

import torch

from handzoo.errors import InputError
from handzoo.metrics._checks import as_float64, as_mask
from handzoo.metrics.errors import masked_mean

__all__ = ["HAND_TYPES", "hand_type_codes", "mrrpe_per_sample", "mrrpe", "handedness_correct", "handedness_accuracy"]

HAND_TYPES: tuple[str, ...] = ("right", "left", "interacting")


def hand_type_codes(types: Any) -> torch.Tensor:
    """Map hand types (``'right'``/``'left'``/``'interacting'`` strings or 0/1/2 codes) to int64 codes.

    Raises:
        InputError: for an unknown type.
    """
    if isinstance(types, torch.Tensor):
        codes = types.to(torch.int64)
    else:
        seq = list(types)
        if seq and isinstance(seq[0], str):
            try:
                codes = torch.tensor([HAND_TYPES.index(str(t)) for t in seq], dtype=torch.int64)
            except ValueError:
                bad = next(t for t in seq if t not in HAND_TYPES)
                raise InputError(f"unknown hand type {bad!r}", hint=f"use one of {', '.join(HAND_TYPES)}") from None
        else:
            codes = torch.as_tensor(seq, dtype=torch.int64).reshape(-1)
    if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) > 2):
        raise InputError("hand type codes must be 0 (right), 1 (left) or 2 (interacting)")
    return codes


def mrrpe_per_sample(pred_rel_root: Any, gt_rel_root: Any) -> torch.Tensor:
    """Per-sample relative-root error ``|pred_rel - gt_rel|`` for (N, 3) left-minus-right root vectors."""
    p, g = as_float64(pred_rel_root, "pred_rel_root"), as_float64(gt_rel_root, "gt_rel_root")
    if p.shape != g.shape or p.dim() != 2 or p.shape[-1] != 3:
        raise InputError(f"relative roots must both have shape (N, 3), got {tuple(p.shape)} and {tuple(g.shape)}")
    d = p - g
    sq = d * d
    return torch.sqrt((sq[:, 0] + sq[:, 1]) + sq[:, 2])


def mrrpe(pred_rel_root: Any, gt_rel_root: Any, valid: Any = None) -> torch.Tensor:
    """Mean relative-root position error over the valid samples (NaN when none), in the input unit.

    Args:
        pred_rel_root: (N, 3) predicted left root minus predicted right root.
        gt_rel_root: (N, 3) the same for the ground truth.
        valid: optional (N,) mask: interacting samples whose two roots are annotated.
    """
    err = mrrpe_per_sample(pred_rel_root, gt_rel_root)
    m = as_mask(valid, tuple(err.shape), "valid", err.device)
    return masked_mean(err, m)


def handedness_correct(pred_prob: Any, hand_type: Any) -> torch.Tensor:
    """(N,) bool: does the (right, left) probability pair match the sample's hand type."""
    p = as_float64(pred_prob, "pred_prob")
    if p.dim() != 2 or p.shape[1] != 2:
        raise InputError(f"pred_prob must have shape (N, 2) = (p_right, p_left), got {tuple(p.shape)}")
    t = hand_type_codes(hand_type).to(p.device)
    if t.shape[0] != p.shape[0]:
        raise InputError(f"{p.shape[0]} probability pairs for {t.shape[0]} hand types")
    r, l_ = p[:, 0], p[:, 1]
    ok_right = (t == 0) & (r > 0.5) & (l_ < 0.5)
    ok_left = (t == 1) & (r < 0.5) & (l_ > 0.5)
    ok_both = (t == 2) & (r > 0.5) & (l_ > 0.5)
    return ok_right | ok_left | ok_both


def handedness_accuracy(pred_prob: Any, hand_type: Any, valid: Any = None) -> torch.Tensor:
    """Fraction of valid samples whose hand type is predicted correctly (NaN when none is valid)."""
    ok = handedness_correct(pred_prob, hand_type)
    m = as_mask(valid, tuple(ok.shape), "valid", ok.device)
    return masked_mean(ok.to(torch.float64), m)
