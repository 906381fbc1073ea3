"""Named 21-joint orders and the index maps between them.

The canonical order ``handzoo21`` is FreiHAND's / OpenPose's: wrist; thumb 1-4; index 1-4;
middle 1-4; ring 1-4; pinky 1-4 (base to tip). Every other order is described by
``TO_HANDZOO21[name]``: the index, in that order, of each ``handzoo21`` joint, so that
``joints_h21 = joints_other[..., TO_HANDZOO21[name], :]``.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = [
    "HANDZOO21_NAMES",
    "HANDZOO21_BONES",
    "TO_HANDZOO21",
    "FROM_HANDZOO21",
    "JOINT_ORDERS",
    "convert_joints",
    "order_map",
    "INTERHAND_RIGHT_ROOT",
    "INTERHAND_LEFT_ROOT",
]

_FINGERS = ("thumb", "index", "middle", "ring", "pinky")
HANDZOO21_NAMES: tuple[str, ...] = ("wrist",) + tuple(f"{f}{i}" for f in _FINGERS for i in range(1, 5))
# The handzoo21 skeleton, 20 bones (parent, child): per finger (thumb .. pinky) wrist -> base, then
# along the finger to the tip. The finger of bone (p, c) is (c - 1) // 4.
HANDZOO21_BONES: tuple[tuple[int, int], ...] = tuple(
    (0 if j == 0 else 1 + 4 * f + j - 1, 1 + 4 * f + j) for f in range(5) for j in range(4)
)

# index in the source order of each handzoo21 joint
TO_HANDZOO21: dict[str, tuple[int, ...]] = {
    "handzoo21": tuple(range(21)),
    # FreiHAND and DexYCB use the canonical order.
    "freihand": tuple(range(21)),
    "dexycb": tuple(range(21)),
    # MANO's 16 kinematic joints (wrist, index, middle, pinky, ring, thumb; 3 each) then the tips
    # thumb, index, middle, ring, pinky. HO-3D annotations use exactly this order.
    "mano21": (0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20),
    "ho3d": (0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20),
    # InterHand2.6M, one hand: thumb4..thumb1, index4..1, middle4..1, ring4..1, pinky4..1, wrist.
    "interhand": (20, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 19, 18, 17, 16),
    # RHD, one hand: wrist, then per finger tip..base (thumb, index, middle, ring, pinky).
    "rhd": (0, 4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13, 20, 19, 18, 17),
}


def _invert(perm: tuple[int, ...]) -> tuple[int, ...]:
    inv = [0] * len(perm)
    for dst, src in enumerate(perm):
        inv[src] = dst
    return tuple(inv)


# index in handzoo21 of each joint of the named order
FROM_HANDZOO21: dict[str, tuple[int, ...]] = {k: _invert(v) for k, v in TO_HANDZOO21.items()}
JOINT_ORDERS: tuple[str, ...] = tuple(TO_HANDZOO21)

# InterHand2.6M's 42-joint layout: right hand 0-20 then left hand 21-41; wrists are the roots.
INTERHAND_RIGHT_ROOT = 20
INTERHAND_LEFT_ROOT = 41

T = TypeVar("T")


def order_map(src: str, dst: str) -> tuple[int, ...]:
    """Return indices ``idx`` such that ``joints_dst = joints_src[..., idx, :]``.

    Raises:
        ValueError: for an unknown order name.
    """
    for name in (src, dst):
        if name not in TO_HANDZOO21:
            raise ValueError(f"unknown joint order {name!r}; known: {', '.join(JOINT_ORDERS)}")
    to_h = TO_HANDZOO21[src]
    from_h = FROM_HANDZOO21[dst]
    # dst joint d is handzoo21 joint from_h[d], which is src joint to_h[from_h[d]]
    return tuple(to_h[h] for h in from_h)


def convert_joints(joints: T, src: str, dst: str = "handzoo21") -> T:
    """Reorder the joint axis (second to last) of an array or tensor from ``src`` to ``dst``.

    Works on numpy arrays and torch tensors of shape (..., 21, D).
    """
    idx = list(order_map(src, dst))
    if joints.shape[-2] != 21:  # type: ignore[attr-defined]
        raise ValueError(f"expected 21 joints on axis -2, got shape {tuple(joints.shape)}")  # type: ignore[attr-defined]
    return joints[..., idx, :]  # type: ignore[index]
