"""The baselines against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
from bench_fakes import TinyDataset, hand_of, tiny_providers

from handzoo.bench.baselines import mean_hand, mean_hand_predictor, zero_predictor
from handzoo.bench.records import GroundTruth
from handzoo.bench.runner import BenchConfig, run_bench


def _gt(valid_b5: bool = True) -> GroundTruth:
    """Hands A (right), B (right), C (left) with simple root-relative offsets."""
    ex, ey = np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
    roots = np.array([[0, 0, 0.5], [0.1, 0, 0.6], [0, 0.1, 0.4]])
    rel = np.zeros((3, 21, 3))
    rel[0, 1:] = 0.02 * ex
    rel[1, 1:] = 0.04 * ey
    rel[2, 1:] = -0.02 * ex  # a left hand: mirrored, the same as A
    joints = roots[:, None] + rel
    valid = np.ones((3, 21), dtype=bool)
    valid[1, 5] = valid_b5
    verts = roots[:, None] + np.stack(
        [np.full((4, 3), 0.01), np.full((4, 3), 0.03), np.full((4, 3), 0.01) * [-1, 1, 1]]
    )
    return GroundTruth(
        sample_index=np.arange(3),
        hand_index=np.zeros(3, dtype=np.int64),
        side=np.array([0, 0, 1]),
        joints3d=joints,
        joints_valid=valid,
        vertices=verts,
    )


def test_mean_hand_by_hand() -> None:
    mj, mv = mean_hand(_gt())
    np.testing.assert_allclose(mj[0], 0.0)
    np.testing.assert_allclose(mj[1:], np.broadcast_to([0.04 / 3, 0.04 / 3, 0.0], (20, 3)), atol=1e-15)
    np.testing.assert_allclose(mv, np.full((4, 3), 0.05 / 3), atol=1e-15)


def test_mean_hand_skips_invalid_joints() -> None:
    mj, _ = mean_hand(_gt(valid_b5=False))
    np.testing.assert_allclose(mj[5], [0.02, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(mj[4], [0.04 / 3, 0.04 / 3, 0.0], atol=1e-15)


def test_mean_hand_prediction_is_placed_at_the_root_and_mirrored_for_left_hands() -> None:
    gt = _gt()
    pred = mean_hand_predictor(gt)
    m = 0.04 / 3
    np.testing.assert_allclose(pred.joints3d[0, 3], gt.joints3d[0, 0] + [m, m, 0], atol=1e-15)
    np.testing.assert_allclose(pred.joints3d[2, 3], gt.joints3d[2, 0] + [-m, m, 0], atol=1e-15)
    np.testing.assert_allclose(pred.joints3d[:, 0], gt.joints3d[:, 0])
    np.testing.assert_allclose(pred.vertices[2, 0], gt.joints3d[2, 0] + [-0.05 / 3, 0.05 / 3, 0.05 / 3], atol=1e-15)
    assert pred.root_from_gt


def test_zero_predictor_keeps_shapes() -> None:
    gt = _gt()
    pred = zero_predictor(gt)
    assert pred.joints3d.shape == gt.joints3d.shape and not pred.joints3d.any()
    assert pred.vertices.shape == gt.vertices.shape and not pred.vertices.any()


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("bench")
    return run_bench(BenchConfig(models="zero,mean-hand", out=out, batch_size=2, progress=False), tiny_providers(n=7))


def test_baseline_errors_equal_hand_computed_ones(baseline_run) -> None:
    """Through the whole harness (loader, shards, gathering) on the tiny dataset."""
    ds = TinyDataset(n=7)
    joints = np.stack([hand_of(i)[0] for i in range(7)]).astype(np.float64)
    verts = np.stack([hand_of(i)[1] for i in range(7)]).astype(np.float64)
    sides = [ds[i].side[0] for i in range(7)]
    by = {r.cell.model: r for r in baseline_run.results}

    zero_mpjpe = np.mean([np.linalg.norm(joints[i, j]) for i in range(7) for j in range(21)]) * 1000
    assert by["zero"].metrics["mpjpe"] == pytest.approx(zero_mpjpe, rel=1e-12)

    # mean hand, one loop at a time: mirror left hands, average, mirror back, place at the root
    total = np.zeros((21, 3))
    for i in range(7):
        rel = joints[i] - joints[i, 0]
        total += rel * ([-1, 1, 1] if sides[i] == 1 else 1)
    mean = total / 7
    errs = []
    for i in range(7):
        pred = joints[i, 0] + mean * ([-1, 1, 1] if sides[i] == 1 else 1)
        errs += [np.linalg.norm(pred[j] - joints[i, j]) for j in range(21)]
    assert by["mean-hand"].metrics["mpjpe"] == pytest.approx(np.mean(errs) * 1000, rel=1e-12)

    vtotal = sum((verts[i] - joints[i, 0]) * ([-1, 1, 1] if sides[i] == 1 else 1) for i in range(7)) / 7
    verrs = [
        np.linalg.norm(joints[i, 0] + vtotal[k] * ([-1, 1, 1] if sides[i] == 1 else 1) - verts[i, k])
        for i in range(7)
        for k in range(8)
    ]
    assert by["mean-hand"].metrics["mpvpe"] == pytest.approx(np.mean(verrs) * 1000, rel=1e-12)


def test_baselines_report_no_throughput(baseline_run) -> None:
    for r in baseline_run.results:
        assert r.cell.kind == "baseline" and r.cell.weights_sha256 is None
        assert r.timings["images_per_s"] is None and r.timings["ms_per_image"] is None
        assert r.num_samples == 7 and r.num_hands == 7  # the invalid second hands are not evaluated


def test_baselines_with_the_freihand_protocol_equal_hand_computed_values(tmp_path) -> None:
    """The real FreiHAND protocol on the tiny dataset: zero and mean-hand against loops by hand."""
    from handzoo.bench.datasets import DatasetSpec
    from handzoo.bench.scoring import check_protocol, protocol_scorer

    prov = tiny_providers(n=6)
    prov.scorer, prov.check_protocol = protocol_scorer, check_protocol
    prov.dataset_specs = {"tiny": DatasetSpec("tiny", "bench", protocols=("freihand",), embedded=True)}
    run = run_bench(BenchConfig(models="zero,mean-hand", out=tmp_path, batch_size=4, progress=False), prov)
    by = {r.cell.model: r for r in run.results}
    joints = [hand_of(i)[0].astype(np.float64) for i in range(6)]
    verts = [hand_of(i)[1].astype(np.float64) for i in range(6)]

    zero = by["zero"].metrics
    assert zero["MPJPE"] == pytest.approx(1000 * np.mean([np.linalg.norm(j, axis=1).mean() for j in joints]), rel=1e-9)
    # zero prediction: Procrustes maps it onto the ground-truth mean, so the error is the spread
    spread = np.mean([np.linalg.norm(j - j.mean(0), axis=1).mean() for j in joints]) * 1000
    assert zero["PA-MPJPE"] == pytest.approx(spread, rel=1e-9)
    vspread = np.mean([np.linalg.norm(v - v.mean(0), axis=1).mean() for v in verts]) * 1000
    assert zero["PA-MPVPE"] == pytest.approx(vspread, rel=1e-9)
    assert zero["F@5-unaligned"] == 0.0

    sides = [TinyDataset(n=6)[i].side[0] for i in range(6)]
    flip = [np.array([-1.0, 1, 1]) if s == 1 else np.ones(3) for s in sides]
    mean = sum((joints[i] - joints[i][0]) * flip[i] for i in range(6)) / 6
    errs = [np.linalg.norm(joints[i][0] + mean * flip[i] - joints[i], axis=1).mean() for i in range(6)]
    assert by["mean-hand"].metrics["MPJPE"] == pytest.approx(1000 * np.mean(errs), rel=1e-9)
    assert set(by["mean-hand"].info["headline"]) >= {"PA-MPJPE", "PA-MPVPE", "F@5", "F@15"}
    assert len(by["mean-hand"].curves["xyz_al"]["values"]) == 100
