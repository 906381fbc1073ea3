"""MRRPE and handedness accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from handzoo.errors import InputError
from handzoo.metrics import hand_type_codes, handedness_accuracy, handedness_correct, mrrpe


def test_mrrpe_by_hand() -> None:
    pred = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    gt = np.array([[0.0, 0.0, 0.0], [0.0, 3.0, 4.0]])
    assert float(mrrpe(pred, gt)) == pytest.approx(3.0)
    assert float(mrrpe(pred, gt, [True, False])) == pytest.approx(1.0)
    assert np.isnan(float(mrrpe(pred, gt, [False, False])))
    with pytest.raises(InputError):
        mrrpe(np.zeros((2, 2)), np.zeros((2, 2)))


def test_handedness_strict_thresholds() -> None:
    prob = np.array([[0.9, 0.1], [0.5, 0.9], [0.2, 0.8], [0.6, 0.7], [0.6, 0.4]])
    types = ["right", "left", "left", "interacting", "interacting"]
    assert handedness_correct(prob, types).tolist() == [True, False, True, True, False]
    assert float(handedness_accuracy(prob, types)) == pytest.approx(3 / 5)
    assert float(handedness_accuracy(prob, [0, 1, 1, 2, 2], [1, 1, 1, 1, 0])) == pytest.approx(3 / 4)


def test_hand_type_codes_errors() -> None:
    assert hand_type_codes(["left", "interacting"]).tolist() == [1, 2]
    with pytest.raises(InputError):
        hand_type_codes(["both"])
    with pytest.raises(InputError):
        hand_type_codes([3])
    with pytest.raises(InputError):
        handedness_correct(np.zeros((2, 3)), [0, 1])
