"""The one input contract: make_query turns every accepted input form into the same HandQuery."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from handzoo.errors import InputError
from handzoo.query import HandQuery, make_query
from handzoo.types import LEFT, RIGHT


def _img(h: int = 12, w: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def test_image_forms_give_the_same_array(tmp_path) -> None:
    from PIL import Image

    img = _img()
    path = tmp_path / "a.png"
    Image.fromarray(img).save(path)
    forms = [
        img,
        Image.fromarray(img),
        path,
        str(path),
        torch.from_numpy(img).permute(2, 0, 1),
        torch.from_numpy(img),
        torch.from_numpy(img).permute(2, 0, 1).float() / 255.0,
    ]
    for form in forms:
        q = make_query(form)
        assert q.num_images == 1 and q.images[0].dtype == np.uint8
        assert q.images[0].flags["C_CONTIGUOUS"]
        np.testing.assert_array_equal(q.images[0], img)
    batched = make_query(np.stack([img, img]))
    assert batched.num_images == 2 and batched.image_sizes == [(12, 16), (12, 16)]


def test_nothing_given_means_one_hand_per_image() -> None:
    q = make_query([_img(), _img(8, 8)])
    assert q.boxes is None and q.sides is None and q.K is None and q.joints2d is None and q.root is None
    assert q.hand_counts == [1, 1] and q.hand_index() == [(0, 0), (1, 0)]
    assert [s.tolist() for s in q.hand_sides()] == [[RIGHT], [RIGHT]]


def test_box_forms_for_one_image() -> None:
    expect = np.array([[1.0, 2.0, 5.0, 6.0]])
    for form in (
        [1, 2, 5, 6],
        [[1, 2, 5, 6]],
        np.array([1, 2, 5, 6]),
        torch.tensor([[1, 2, 5, 6]]),
        [np.array([[1, 2, 5, 6]])],
    ):
        q = make_query(_img(), form)
        assert len(q.boxes) == 1 and q.boxes[0].dtype == np.float64
        np.testing.assert_array_equal(q.boxes[0], expect)
    assert make_query(_img(), np.zeros((0, 4))).hand_counts == [0]


def test_box_forms_for_many_images() -> None:
    imgs = [_img(), _img(), _img()]
    q = make_query(imgs, [[0, 0, 4, 4], np.zeros((0, 4)), np.array([[0, 0, 2, 2], [1, 1, 3, 3]])])
    assert q.hand_counts == [1, 0, 2] and q.hand_index() == [(0, 0), (2, 0), (2, 1)] and q.max_hands == 2
    q = make_query(imgs, np.tile([0.0, 0, 4, 4], (3, 1)))  # (B, 4): one hand each
    assert q.hand_counts == [1, 1, 1]
    q = make_query(imgs, np.zeros((3, 2, 4)))  # (B, N, 4)
    assert q.hand_counts == [2, 2, 2]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"boxes": [[1, 2, 3]]}, r"\(N, 4\)"),
        ({"boxes": [[0, 0, float("nan"), 1]]}, "NaN"),
        ({"boxes": [[5, 5, 1, 1]]}, "x1 < x0"),
        ({"boxes": [[0, 0, 1, 1]], "sides": "up"}, "right"),
        ({"boxes": [[0, 0, 1, 1], [0, 0, 2, 2]], "sides": ["left"] * 3}, "sides"),
        ({"K": np.eye(2)}, "K must be"),
        ({"K": np.zeros((3, 3))}, "focal"),
        ({"joints2d": np.zeros((1, 20, 2))}, "21, 2"),
        ({"root": [[0, 0]]}, "root"),
        ({"boxes": [[0, 0, 1, 1]], "joints2d": np.zeros((2, 21, 2))}, "same hands"),
        ({"side": "left"}, "sides="),
    ],
)
def test_bad_input_says_how_to_fix_it_in_one_line(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match) as exc:
        make_query(_img(), **kwargs)
    assert "\n" not in exc.value.message


def test_bad_groupings_for_many_images() -> None:
    with pytest.raises(InputError, match="2 entries for 3 images"):
        make_query([_img()] * 3, [[0, 0, 1, 1], [0, 0, 1, 1]])
    with pytest.raises(InputError, match="do not fit 3 images"):
        make_query([_img()] * 3, np.zeros((2, 4)))
    with pytest.raises(InputError, match="empty list"):
        make_query([])


def test_sides_forms() -> None:
    boxes = [np.zeros((2, 4)), np.zeros((1, 4))]
    q = make_query([_img(), _img()], boxes, sides="left")
    assert [s.tolist() for s in q.sides] == [[LEFT, LEFT], [LEFT]]
    q = make_query([_img(), _img()], boxes, sides=[["right", "l"], [1]])
    assert [s.tolist() for s in q.sides] == [[RIGHT, LEFT], [LEFT]]
    q = make_query([_img(), _img()], boxes, sides=[0, "left"])  # one value per image, repeated over its hands
    assert [s.tolist() for s in q.sides] == [[RIGHT, RIGHT], [LEFT]]
    q = make_query(_img(), np.zeros((2, 4)), sides=["left", "right"])
    assert q.sides[0].tolist() == [LEFT, RIGHT] and q.sides[0].dtype == np.int64
    q = make_query(_img(), sides=["left", "right"])  # sides alone give the hand count
    assert q.hand_counts == [2]


def test_context_and_extra() -> None:
    K = np.array([[500.0, 0, 8], [0, 500, 6], [0, 0, 1]])
    q = make_query([_img(), _img()], K=K, root=[[0, 0, 0.5], [0.1, 0, 0.6]], focal_prior=3.0)
    assert [k.shape for k in q.K] == [(3, 3), (3, 3)] and q.K[0] is not q.K[1]
    assert [r.shape for r in q.root] == [(1, 3), (1, 3)] and q.extra == {"focal_prior": 3.0}
    assert make_query(q) is q
    with pytest.raises(InputError, match="query alone"):
        make_query(q, boxes=[[0, 0, 1, 1]])


@given(
    counts=st.lists(st.integers(0, 3), min_size=1, max_size=4),
    seed=st.integers(0, 2**16),
    as_tensor=st.booleans(),
)
def test_per_image_boxes_round_trip(counts: list[int], seed: int, as_tensor: bool) -> None:
    """Any per-image (N_i, 4) boxes, sides and 2D joints come back unchanged and aligned."""
    rng = np.random.default_rng(seed)
    imgs = [np.zeros((64, 72, 3), np.uint8) for _ in counts]
    x0 = rng.uniform(0, 50, size=(sum(counts), 2))
    boxes_flat = np.concatenate([x0, x0 + rng.uniform(0, 20, size=x0.shape)], axis=1)
    split = np.split(boxes_flat, np.cumsum(counts)[:-1])
    sides = [rng.integers(0, 2, size=n) for n in counts]
    joints = [rng.uniform(0, 60, size=(n, 21, 2)) for n in counts]
    boxes_in = [torch.from_numpy(b) for b in split] if as_tensor else split
    q = make_query(imgs, boxes_in, sides=sides, joints2d=joints)
    assert isinstance(q, HandQuery) and q.hand_counts == counts
    assert len(q.hand_index()) == sum(counts)
    for i, n in enumerate(counts):
        np.testing.assert_array_equal(q.boxes[i], split[i].reshape(n, 4))
        assert q.sides[i].tolist() == sides[i].tolist()
        np.testing.assert_array_equal(q.joints2d[i], joints[i])


@pytest.mark.parametrize(
    "box",
    [
        [-100, -100, -50, -50],  # entirely at negative coordinates (was cropped as the top-left corner)
        [-30, 2, -1, 8],  # left of the image
        [2, -30, 8, -1],  # above it
        [17, 2, 40, 8],  # right of the 16-wide image
        [2, 13, 8, 40],  # below the 12-high image
        [100, 100, 150, 150],  # past the bottom-right corner
    ],
)
def test_box_entirely_outside_is_rejected_on_every_side(box: list[float]) -> None:
    with pytest.raises(InputError, match=r"box 1 of image 0 .*entirely outside the 16x12 image"):
        make_query(_img(), [[0, 0, 4, 4], box])


@pytest.mark.parametrize(
    "box", [[-5, 2, 4, 8], [2, -5, 8, 4], [10, 2, 30, 8], [2, 6, 8, 30], [-5, -5, 30, 30], [0, 0, 0, 0]]
)
def test_box_partly_outside_is_accepted_as_given_on_every_side(box: list[float]) -> None:
    q = make_query(_img(), [box])
    np.testing.assert_array_equal(q.boxes[0], np.array([box], dtype=np.float64))
