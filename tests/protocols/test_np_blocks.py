"""Block-wise, threaded numpy scoring gives the numbers of whole-array, one-sample-at-a-time code."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handzoo.protocols import _np


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 300),
    n_points=st.integers(1, 800),
    block_points=st.integers(1, 5000),
    threads=st.integers(1, 4),
)
def test_blocks_cover_every_sample_once_in_order(n: int, n_points: int, block_points: int, threads: int) -> None:
    blocks = _np.sample_blocks(n, n_points, block_points)
    covered = [i for s in blocks for i in range(s.start, s.stop)]
    assert covered == list(range(n))
    assert all(s.stop > s.start for s in blocks)
    got = _np.map_blocks(lambda s: (s.start, s.stop), n, n_points, threads)
    assert got == [(s.start, s.stop) for s in _np.sample_blocks(n, n_points)]


def test_a_failing_block_raises_in_the_caller() -> None:
    def fn(s: slice) -> int:
        if s.start > 0:
            raise ValueError("block failed")
        return 0

    with pytest.raises(ValueError, match="block failed"):
        _np.map_blocks(fn, 10, 1 << 16, threads=3)


@settings(max_examples=40, deadline=None)
@given(
    n_samples=st.sampled_from([1, 7, 82, 400]),
    n_points=st.one_of(st.integers(1, 130), st.sampled_from([778, 1000, 2048])),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
)
def test_mean_points_is_numpys_per_sample_mean_bit_for_bit(
    n_samples: int, n_points: int, seed: int, scale: float
) -> None:
    x = np.random.default_rng(seed).normal(size=(n_samples, n_points, 3)) * scale + scale
    want = np.stack([s.mean(0) for s in x])[:, None, :]
    got = _np.mean_points(x)
    assert got.shape == (n_samples, 1, 3)
    assert np.array_equal(got, want)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), reflect=st.booleans())
def test_rigid_align_does_not_depend_on_the_batch(seed: int, n: int, reflect: bool) -> None:
    """Each sample aligned alone equals the batched result bit for bit (so blocks and threads cannot matter)."""
    rng = np.random.default_rng(seed)
    gt = rng.normal(size=(n, 21, 3)) * 0.05 + rng.normal(size=(n, 1, 3))
    pred = gt + rng.normal(size=gt.shape) * 0.01
    if reflect:
        pred[::2, :, 0] *= -1.0  # det(V U^T) < 0: the reflection fix
    batched = _np.rigid_align(pred, gt)
    alone = np.concatenate([_np.rigid_align(pred[i : i + 1], gt[i : i + 1]) for i in range(n)])
    assert np.array_equal(batched, alone)


def test_rigid_align_recovers_a_similarity() -> None:
    rng = np.random.default_rng(3)
    gt = rng.normal(size=(50, 21, 3))
    q, _ = np.linalg.qr(rng.normal(size=(50, 3, 3)))
    q *= np.sign(np.linalg.det(q))[:, None, None]  # rotations
    pred = 0.7 * gt @ q + rng.normal(size=(50, 1, 3))
    np.testing.assert_allclose(_np.rigid_align(pred, gt), gt, atol=1e-9)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_handoccnet_scores_do_not_depend_on_threads(threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from handzoo.protocols.dexycb_mesh import H2ONetDexYCBProtocol, HandOccNetDexYCBProtocol

    rng = np.random.default_rng(0)
    gt = rng.normal(size=(700, 21, 3)) * 50.0
    pred = gt + rng.normal(size=gt.shape) * 5.0
    gv = rng.normal(size=(700, 60, 3)) * 0.05
    pv = gv + rng.normal(size=gv.shape) * 0.005
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(_np, "BLOCK_POINTS", 1 << 30)  # one block: the whole-array computation
    ref = HandOccNetDexYCBProtocol()._score_native(gt, pred, [], divide=1000.0).scores
    ref_h = H2ONetDexYCBProtocol()._score_native(gt / 1e3, pred / 1e3, gv, pv, [], paper_metrics=False).scores
    monkeypatch.setenv("OMP_NUM_THREADS", str(threads))
    monkeypatch.setattr(_np, "BLOCK_POINTS", 997)  # many uneven blocks
    assert HandOccNetDexYCBProtocol()._score_native(gt, pred, [], divide=1000.0).scores == ref
    got_h = H2ONetDexYCBProtocol()._score_native(gt / 1e3, pred / 1e3, gv, pv, [], paper_metrics=False).scores
    assert got_h == ref_h


def test_background_returns_the_result_or_raises_the_error() -> None:
    assert _np.background(lambda: 41 + 1)() == 42

    def boom() -> int:
        raise KeyError("ground truth")

    result = _np.background(boom)
    with pytest.raises(KeyError, match="ground truth"):
        result()


def test_h2onet_reports_a_ground_truth_error_before_a_submission_error(tmp_path) -> None:
    """The ground truth is read on a thread beside the submission; its error still comes first."""
    from handzoo.errors import DatasetNotFoundError
    from handzoo.protocols.dexycb_mesh import H2ONetDexYCBProtocol

    (tmp_path / "gt").mkdir()
    (tmp_path / "pred.json").write_text('[[["x"]], []]')
    with pytest.raises(DatasetNotFoundError):
        H2ONetDexYCBProtocol().score_files(tmp_path / "gt", tmp_path / "pred.json")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_points=st.integers(1, 800), scale=st.sampled_from([1e-3, 0.1, 10.0]))
def test_mean_point_errors_mm_is_the_plain_formula_bit_for_bit(seed: int, n_points: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    pred = rng.normal(size=(5, n_points, 3)) * scale
    gt = pred + rng.normal(size=pred.shape) * scale * 0.1
    want = _np.point_errors(pred * 1000.0, gt * 1000.0).mean(-1)
    assert np.array_equal(_np.mean_point_errors_mm(pred, gt * 1000.0), want)
