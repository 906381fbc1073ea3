import pytest
import torch

from handzoo.types import LEFT, RIGHT, HandOutput, side_code


def _out(b=2, h=1, v=None):
    return HandOutput(
        joints3d=torch.randn(b, h, 21, 3),
        side=torch.full((b, h), RIGHT),
        score=torch.ones(b, h),
        valid=torch.ones(b, h, dtype=torch.bool),
        vertices=torch.randn(b, h, v, 3) if v else None,
        mano={"betas": torch.zeros(b, h, 10)},
        extras={"occ": torch.zeros(b, h, 6)},
    )


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="joints3d"):
        HandOutput(torch.zeros(2, 21, 3), torch.zeros(2, 1), torch.zeros(2, 1), torch.zeros(2, 1))
    with pytest.raises(ValueError, match="score"):
        HandOutput(torch.zeros(2, 1, 21, 3), torch.zeros(2, 1), torch.zeros(2, 2), torch.zeros(2, 1))


def test_indexing_and_cat_pad_hands():
    a, b = _out(2, 1, 5), _out(3, 2, 5)
    c = HandOutput.cat([a, b])
    assert c.joints3d.shape == (5, 2, 21, 3)
    assert c.valid[:2, 1].sum() == 0  # padding is invalid
    assert c.mano["betas"].shape == (5, 2, 10)
    assert c[3].batch_size == 1 and torch.equal(c[3].joints3d, b.joints3d[1:2])


def test_to_keeps_integer_dtypes():
    o = _out().to(torch.float64)
    assert o.joints3d.dtype == torch.float64 and o.side.dtype == torch.long and o.valid.dtype == torch.bool


def test_side_code():
    assert side_code("Right") == RIGHT and side_code("l") == LEFT and side_code(1) == LEFT
    with pytest.raises(ValueError):
        side_code("up")


def test_hand_slots_pad_flat_hands_into_the_batch_layout():
    from handzoo.types import HandSlots

    slots = HandSlots([0, 2, 2], [0, 0, 1], num_images=3, max_hands=2)
    x = torch.tensor([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    out = slots.pad(x, fill=-1.0)
    assert out.shape == (3, 2, 2)
    assert out[0, 0].tolist() == [1, 1] and out[2, 1].tolist() == [3, 3]
    assert (out[1] == -1).all() and (out[0, 1] == -1).all()
    assert slots.pad(torch.ones(3, dtype=torch.bool), False).tolist() == [[True, False], [False, False], [True, True]]
