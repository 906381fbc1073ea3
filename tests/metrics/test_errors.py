"""Mean point errors with masks and alignments."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handzoo.errors import ConfigError, InputError
from handzoo.metrics import (
    align,
    masked_mean,
    mpjpe,
    mpvpe,
    pa_mpjpe,
    pa_mpvpe,
    root_relative_mpjpe,
    scale_translation_mpjpe,
)


def test_mpjpe_by_hand_and_masks() -> None:
    gt = np.zeros((2, 3, 3))
    pred = np.zeros((2, 3, 3))
    pred[0, 0, 0] = 3.0
    pred[1, 2, 2] = 6.0
    assert float(mpjpe(pred, gt)) == pytest.approx(9.0 / 6)
    valid = np.array([[True, False, False], [False, False, True]])
    assert float(mpjpe(pred, gt, valid)) == pytest.approx(4.5)
    assert float(mpvpe(torch.from_numpy(pred), gt, valid)) == pytest.approx(4.5)
    assert np.isnan(float(masked_mean(torch.ones(3), torch.zeros(3, dtype=torch.bool))))


def test_root_relative_and_aligned_errors() -> None:
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(4, 21, 3))
    shifted = gt + rng.normal(size=(4, 1, 3))
    assert float(root_relative_mpjpe(shifted, gt)) == pytest.approx(0.0, abs=1e-12)
    assert float(pa_mpjpe(2.0 * shifted, gt)) == pytest.approx(0.0, abs=1e-7)
    assert float(pa_mpvpe(2.0 * shifted, gt, reflection=False)) == pytest.approx(0.0, abs=1e-9)
    out = align(torch.from_numpy(shifted), torch.from_numpy(gt), "root")
    np.testing.assert_allclose(out.numpy(), gt, atol=1e-12)


def test_scale_translation_error_of_a_scaled_copy_is_zero() -> None:
    rng = np.random.default_rng(1)
    gt = rng.normal(size=(3, 21, 3))
    assert float(scale_translation_mpjpe(gt * 1.7 + 0.3, gt)) == pytest.approx(0.0, abs=1e-12)


def test_errors_on_bad_input() -> None:
    with pytest.raises(InputError):
        mpjpe(np.zeros((2, 21, 2)), np.zeros((2, 21, 2)))
    with pytest.raises(InputError):
        mpjpe(np.zeros((2, 21, 3)), np.zeros((3, 21, 3)))
    with pytest.raises(InputError):
        mpjpe([["a"]], np.zeros((1, 1, 3)))
    with pytest.raises(InputError):
        mpjpe(np.zeros((2, 21, 3)), np.zeros((2, 21, 3)), np.ones((2, 20)))
    with pytest.raises(ConfigError):
        align(torch.zeros(1, 3, 3), torch.zeros(1, 3, 3), "nope")  # type: ignore[arg-type]
