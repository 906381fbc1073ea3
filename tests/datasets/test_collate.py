"""collate_samples: padding over hands for DataLoader batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handzoo.datasets import collate_samples
from handzoo.datasets.base import make_sample
from handzoo.errors import InputError


def _sample(n_hands: int, size: int = 8, with_mano: bool = True):
    rng = np.random.default_rng(n_hands)
    j = rng.normal(0, 0.05, (n_hands, 21, 3)) + [0, 0, 0.5]
    mano = {"betas": np.zeros((n_hands, 10)), "global_orient": np.zeros((n_hands, 3))} if with_mano else None
    return make_sample(
        np.zeros((size, size, 3), np.uint8),
        np.eye(3),
        [0, 1][:n_hands],
        joints3d=j,
        vertices=np.zeros((n_hands, 5, 3)),
        mano=mano,
        mask=np.zeros((size, size), np.uint8),
        meta={"n": n_hands},
    )


def test_padding_and_masks():
    b = collate_samples([_sample(1), _sample(2)])
    assert b["image"].shape == (2, 8, 8, 3) and b["image"].dtype == torch.uint8
    assert b["joints3d"].shape == (2, 2, 21, 3) and b["vertices"].shape == (2, 2, 5, 3)
    assert b["hand_mask"].tolist() == [[True, False], [True, True]]
    assert b["hand_valid"].tolist() == [[True, False], [True, True]]
    assert b["num_hands"].tolist() == [1, 2]
    assert b["side"].tolist() == [[0, 0], [0, 1]]
    assert b["mano"]["betas"].shape == (2, 2, 10)
    assert b["mask"].shape == (2, 8, 8)
    assert [m["n"] for m in b["meta"]] == [1, 2]
    assert torch.equal(b["joints3d"][0, 1], torch.zeros(21, 3))


def test_mixed_content():
    b = collate_samples([_sample(1, size=8), _sample(1, size=6, with_mano=False)], max_hands=3)
    assert isinstance(b["image"], list) and b["mask"] is None and b["mano"] is None
    assert b["joints3d"].shape == (2, 3, 21, 3)
    with pytest.raises(InputError, match="max_hands"):
        collate_samples([_sample(2)], max_hands=1)
    with pytest.raises(InputError):
        collate_samples([])


def test_dataloader_with_synthetic():
    from torch.utils.data import DataLoader

    from handzoo.datasets import SyntheticHands

    ds = SyntheticHands(split="x", n=3, seed=3, image_size=64, two_hand_prob=0.5)
    batches = list(DataLoader(ds, batch_size=2, collate_fn=collate_samples))
    assert [b["image"].shape[0] for b in batches] == [2, 1]
    assert batches[0]["K"].shape == (2, 3, 3)
