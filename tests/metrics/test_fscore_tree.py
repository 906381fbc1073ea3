"""The fast (float32 matrix product) path of the F-score against a float64 brute force: any input, same decisions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from handzoo.metrics import fscore


def _reference(gt: np.ndarray, pr: np.ndarray, ths: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Brute force, the official formula: per sample, norms of all pairs, strict <."""
    prec = np.zeros((len(gt), len(ths)))
    rec = np.zeros((len(gt), len(ths)))
    for i in range(len(gt)):
        d = np.linalg.norm(gt[i][:, None] - pr[i][None], axis=-1)
        d1, d2 = d.min(1), d.min(0)
        for j, th in enumerate(ths):
            prec[i, j] = float(sum(x < th for x in d1)) / float(len(d1))
            rec[i, j] = float(sum(x < th for x in d2)) / float(len(d2))
    return prec, rec


def _check(gt: np.ndarray, pr: np.ndarray, ths: tuple[float, ...], chunk: int | None = None) -> None:
    res = fscore(gt, pr, ths, chunk_size=chunk)
    prec, rec = _reference(gt, pr, ths)
    assert res.precision.numpy().tolist() == prec.tolist()
    assert res.recall.numpy().tolist() == rec.tolist()


_cases = st.sampled_from(["near", "far", "degenerate", "duplicates", "grid"])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31), _cases, st.integers(1, 40), st.integers(1, 40), st.integers(1, 5))
def test_fast_path_equals_brute_force(seed: int, case: str, ng: int, np_: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    gt = rng.normal(scale=0.03, size=(n, ng, 3)) + rng.uniform(-0.3, 0.3, size=(n, 1, 3))
    ths: tuple[float, ...] = (0.005, 0.015)
    if case == "near":
        pr = gt[:, rng.integers(0, ng, np_)] + rng.normal(scale=0.005, size=(n, np_, 3))
    elif case == "far":  # unaligned: any rotation, scale 0.5-2, 10 cm offsets
        q, _ = np.linalg.qr(rng.normal(size=(n, 3, 3)))
        pr = np.einsum("nij,npj->npi", q, gt[:, rng.integers(0, ng, np_)]) * rng.uniform(0.5, 2, (n, 1, 1))
        pr = pr + rng.normal(scale=0.1, size=(n, 1, 3))
    elif case == "degenerate":  # every predicted point at one place (e.g. an all-zero prediction)
        pr = np.broadcast_to(rng.normal(scale=0.01, size=(n, 1, 3)) * rng.integers(0, 2), (n, np_, 3)).copy()
    elif case == "duplicates":
        pr = np.repeat(gt[:, :1], np_, axis=1) + rng.integers(-2, 3, size=(n, np_, 3)) * 0.005
    else:  # integer grid, thresholds hit exactly: distance == threshold must not count
        gt = rng.integers(-3, 4, size=(n, ng, 3)).astype(float)
        pr = rng.integers(-3, 4, size=(n, np_, 3)).astype(float)
        ths = (0.0, 1.0, float(np.sqrt(2.0)), 2.0, 3.0)
    _check(gt, pr, ths, chunk=int(rng.integers(1, 4)))


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31), st.floats(1e-4, 0.05), st.integers(-4, 4))
def test_ties_at_the_threshold_within_ulps(seed: int, th: float, ulps: int) -> None:
    """Points whose distance is the threshold, or a few ulps either side of it."""
    rng = np.random.default_rng(seed)
    gt = rng.normal(scale=0.05, size=(2, 30, 3)) + [0.1, -0.2, 0.8]
    axis = rng.integers(0, 3, size=(2, 30))
    step = np.zeros((2, 30, 3))
    np.put_along_axis(step, axis[..., None], th + ulps * np.spacing(th), axis=-1)
    _check(gt, gt + step, (th, 2 * th))


def test_far_block_larger_than_the_default_and_huge_coordinates() -> None:
    rng = np.random.default_rng(5)
    gt = rng.normal(scale=0.03, size=(300, 12, 3))
    pr = gt * 3 + 0.2
    _check(gt, pr, (0.005, 0.015))  # two blocks of the default size
    big = np.full((1, 4, 3), 1e120)
    _check(big, big.copy(), (0.005,))  # the exact fallback


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 30), st.integers(1, 4))
def test_several_predictions_share_the_ground_truth_operand(seed: int, nv: int, n: int) -> None:
    """Several predictions against one ground truth (plain + aligned, as FreiHAND scores them) equal brute force.

    Predictions a few mm off, some exactly on a threshold.
    """
    from handzoo.protocols._fscore import fscores_many

    rng = np.random.default_rng(seed)
    gt = rng.normal(scale=0.02, size=(n, nv, 3)) + [0.0, 0.1, 0.7]
    near = gt + rng.normal(scale=0.003, size=gt.shape)
    on_threshold = gt.copy()
    on_threshold[..., 0] += 0.005 * rng.integers(0, 2, size=(n, nv))
    ths = (0.005, 0.015)
    for (f, prec, rec), pr in zip(fscores_many(gt, [near, on_threshold], ths), (near, on_threshold)):
        want_p, want_r = _reference(gt, pr, ths)
        assert prec.tolist() == want_p.tolist() and rec.tolist() == want_r.tolist()
        assert f.shape == (n, 2)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 25), st.integers(1, 25), st.sampled_from([1e-3, 1.0, 30.0, 1e4]))
def test_exact_ties_wide_sets_and_row_chunks(seed: int, ng: int, np_: int, spread: float) -> None:
    """Dyadic grids (every distance exact), sets spread far beyond the thresholds, tiny product chunks.

    The float32 tolerance grows with a point's distance from the centroid: sets metres or
    kilometres wide put many minima inside it (re-done exactly); zero and negative thresholds
    never count; ``PAIRS`` of a few pairs forces the row-chunked product.
    """
    from handzoo.protocols import _fscore

    rng = np.random.default_rng(seed)
    unit = 2.0 ** int(np.round(np.log2(spread) - 3))
    gt = rng.integers(-8, 9, size=(2, ng, 3)) * unit + rng.integers(-4, 5, size=(2, 1, 3)) * spread
    pr = gt[:, rng.integers(0, ng, np_)] + rng.integers(-2, 3, size=(2, np_, 3)) * unit
    ths = (0.0, -unit, unit, float(np.sqrt(2.0)) * unit, 2 * unit, 0.005)
    old = _fscore.PAIRS
    _fscore.PAIRS = int(rng.integers(1, 40))
    try:
        hg, hp = _fscore.hit_masks(gt, pr, np.array(ths))
    finally:
        _fscore.PAIRS = old
    prec, rec = _reference(gt, pr, ths)
    assert (hg.sum(1) / ng).tolist() == prec.tolist()
    assert (hp.sum(1) / np_).tolist() == rec.tolist()


def test_outlier_points_and_the_exact_fallbacks() -> None:
    """A predicted point kilometres away, coordinates beyond the float32 range, a subnormal threshold."""
    rng = np.random.default_rng(3)
    gt = rng.normal(scale=0.03, size=(3, 50, 3)) + [0.0, 0.0, 0.7]
    pr = gt + rng.normal(scale=0.004, size=gt.shape)
    pr[0, 7] = [3e3, -2e3, 1e3]
    pr[1, 3] = [1e20, 0.0, 0.0]  # float32 would overflow: that block is done in float64
    _check(gt, pr, (0.005, 0.015))
    _check(gt, gt + 1e-20, (1e-19, 0.005))  # squared threshold not a normal float32
