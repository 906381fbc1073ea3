"""FreiHAND's block-by-block evaluation equals the whole-array definitions; file reading on two threads.

``evaluate_fh_style`` aligns, measures and F-scores the vertices 64 samples at a time on the
F-score threads; every number must be the one the whole-array functions (and a float64 brute-force
F-score) give, whatever the thread count or the size of the last block.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from protocol_golden import write_fh_files

from handzoo.errors import DatasetNotFoundError, SubmissionError
from handzoo.protocols import _np, get_protocol
from handzoo.protocols._fh_core import FH_FSCORE_THRESHOLDS, evaluate_fh_style


def _brute_fscore(gt: np.ndarray, pr: np.ndarray) -> np.ndarray:
    """(T,) mean F-score over samples, every pair in float64 with the official formula."""
    th = np.asarray(FH_FSCORE_THRESHOLDS)
    if pr.shape[1] == 0:
        return np.zeros(th.size)
    d = gt[:, :, None, :] - pr[:, None, :, :]
    sq = d * d
    dist = np.sqrt((sq[..., 0] + sq[..., 1]) + sq[..., 2])
    prec = (dist.min(2)[..., None] < th).sum(1) / gt.shape[1]
    rec = (dist.min(1)[..., None] < th).sum(1) / pr.shape[1]
    denom = rec + prec  # the official 2 * recall * precision / (recall + precision)
    return np.where(denom > 0, 2 * rec * prec / np.where(denom > 0, denom, 1.0), 0.0).mean(0)


def _inputs(n: int, nv: int, npv: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    centre = rng.uniform(-0.1, 0.1, size=(n, 1, 3)) + [0.0, 0.0, 0.7]
    gx = centre + rng.normal(scale=0.04, size=(n, 21, 3))
    gv = centre + rng.normal(scale=0.03, size=(n, nv, 3))
    px = gx + rng.normal(scale=0.01, size=gx.shape)
    pv = centre + rng.normal(scale=0.03, size=(n, npv, 3)) if npv != nv else gv + rng.normal(scale=0.006, size=gv.shape)
    pv[: n // 3] = pv[: n // 3] * 1.5 + 0.05  # some far, unaligned samples
    return gx, px, gv, pv


@pytest.mark.parametrize(("n", "nv", "npv", "threads"), [(150, 30, 30, "2"), (70, 25, 25, "1"), (90, 20, 33, "2")])
def test_blocks_equal_whole_array_definitions(monkeypatch, n: int, nv: int, npv: int, threads: str) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", threads)
    gx, px, gv, pv = _inputs(n, nv, npv, seed=n + nv)
    out = evaluate_fh_style(gx, px, gv, pv)
    if nv == npv:
        al = _np.align_w_scale(gv, pv)
        for got, err in ((out.mesh, _np.point_errors(pv, gv)), (out.mesh_al, _np.point_errors(al, gv))):
            want = _np.summarize(err, 0.0, 0.05, 100)
            assert (got.mean, got.auc) == (want.mean, want.auc)
            assert np.array_equal(got.pck, want.pck)
    else:
        assert out.mesh is None and out.mesh_al is None and not out.shape_is_mano
        al = _np.align_by_trafo(pv, _np.procrustes_trafo(gx, px))
    assert out.f_plain.tolist() == _brute_fscore(gv, pv).tolist()
    assert out.f_aligned.tolist() == _brute_fscore(gv, al).tolist()


def test_joints_only_submission_scores_zero_fscores() -> None:
    gx, px, gv, _ = _inputs(70, 20, 20, seed=3)
    out = evaluate_fh_style(gx, px, gv, np.zeros((70, 0, 3)))
    assert out.f_plain.tolist() == [0.0, 0.0] and out.f_aligned.tolist() == [0.0, 0.0]
    assert out.mesh is None and not out.shape_is_mano


def test_ground_truth_read_beside_the_prediction(tmp_path: Path, monkeypatch) -> None:
    """Same result as the tensor path; a ground-truth error is reported before a prediction error."""
    monkeypatch.setenv("HANDZOO_SCORE_CACHE", "off")
    gx, px, gv, pv = _inputs(12, 15, 15, seed=5)
    pred = write_fh_files(tmp_path / "ok", gx, gv, px, pv)
    proto = get_protocol("freihand")
    res = proto.score_files(tmp_path / "ok", pred)
    want = evaluate_fh_style(gx, px, gv, pv)
    assert res.scores["f_al_score_5"] == float(want.f_aligned[0])
    assert res.scores["mesh_al_mean3d"] == want.mesh_al.mean * 100

    short = write_fh_files(tmp_path / "short", gx[:5], gv[:5], px, pv)  # ground truth of 5 samples
    with pytest.raises(SubmissionError, match="5 samples"):
        proto.score_files(tmp_path / "short", pred)
    (tmp_path / "short" / "evaluation_verts.json").unlink()
    broken = tmp_path / "broken.json"
    broken.write_text("[[1, 2")
    with pytest.raises(DatasetNotFoundError):  # the missing ground truth first, not the broken pred.json
        proto.score_files(tmp_path / "short", broken)
    assert short.is_file()
