"""What the model is given, and how its hands are matched to the ground-truth hands."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from bench_fakes import TinyDataset, TinyModel

from handzoo.bench.inference import model_query, run_model
from handzoo.types import HandOutput, Sample


def _sample(n_valid: int, n: int = 2, j2d: bool = True) -> Sample:
    return Sample(
        image=np.zeros((4, 4, 3), np.uint8),
        K=np.eye(3, dtype=np.float32),
        side=np.array([0, 1][:n]),
        bbox=np.array([[0, 0, 2, 2], [1, 1, 3, 3]][:n], dtype=np.float32),
        hand_valid=np.array([True, n_valid > 1][:n]),
        joints3d=np.zeros((n, 21, 3), np.float32),
        joints2d=np.ones((n, 21, 2), np.float32) if j2d else None,
    )


def test_one_query_per_batch_with_sides_only() -> None:
    q = model_query([(0, _sample(1)), (1, _sample(1, j2d=False))])
    assert q.num_images == 2 and [b.shape for b in q.boxes] == [(1, 4), (1, 4)]
    assert [s.tolist() for s in q.sides] == [[0], [0]] and "side" not in q.extra
    assert [k.shape for k in q.K] == [(3, 3), (3, 3)] and q.joints2d is None  # one sample lacks 2D joints


def test_multi_hand_batches_and_handless_images_are_left_out() -> None:
    empty = _sample(1)
    empty.hand_valid[:] = False
    q = model_query([(0, _sample(2)), (1, empty), (2, _sample(1))])
    assert q.num_images == 2 and [b.shape for b in q.boxes] == [(2, 4), (1, 4)]
    assert [s.tolist() for s in q.sides] == [[0, 1], [0]]
    assert [j.shape for j in q.joints2d] == [(2, 21, 2), (1, 21, 2)]
    assert model_query([(1, empty)]) is None


class _SideSwapModel:
    """Returns the two hands of each image in reverse order, and no hand for image index 1."""

    def __call__(self, images, boxes=None, **ctx):
        b = len(images)
        j = torch.zeros(b, 2, 21, 3)
        j[:, 0] = 2.0  # the left hand's prediction
        j[:, 1] = 1.0  # the right hand's prediction
        valid = torch.ones(b, 2, dtype=torch.bool)
        valid[1] = False
        return HandOutput(joints3d=j, side=torch.tensor([[1, 0]] * b), score=torch.ones(b, 2), valid=valid)


class _TwoHands:
    def __len__(self) -> int:
        return 3

    def __getitem__(self, i: int) -> Sample:
        return _sample(2)


def test_hands_are_matched_by_side_when_the_order_differs() -> None:
    gt, pred, timing = run_model(_SideSwapModel(), _TwoHands(), [0, 1, 2], batch_size=3, warmup=False)
    assert gt.num_hands == 6 and timing.images == 3
    assert pred.found.tolist() == [True, True, False, False, True, True]
    assert pred.joints3d[gt.side == 0][:, 0, 0].tolist() == [1.0, 0.0, 1.0]
    assert pred.joints3d[gt.side == 1][:, 0, 0].tolist() == [2.0, 0.0, 2.0]


def test_root_relative_outputs_are_placed_at_the_ground_truth_root() -> None:
    ds = TinyDataset(n=5)
    gt, pred, _ = run_model(TinyModel(root_relative=True), ds, range(5), batch_size=2)
    assert pred.root_from_gt
    np.testing.assert_allclose(pred.joints3d[:, 0], gt.joints3d[:, 0])
    # the rest is the ground truth shifted by 1 mm * (index % 4), relative to the root: equal
    np.testing.assert_allclose(pred.joints3d - pred.joints3d[:, :1], gt.joints3d - gt.joints3d[:, :1], atol=1e-6)


def test_one_pass_serves_every_model_and_a_failing_model_does_not_stop_the_others(tmp_path) -> None:
    from bench_fakes import SHA_A, TinyCard, tiny_providers

    from handzoo.bench.runner import BenchConfig, run_bench

    reads = []

    class Counting(TinyDataset):
        def __getitem__(self, index: int):
            reads.append(index)
            return super().__getitem__(index)

    class FailsLater(TinyModel):
        def __call__(self, images, boxes=None, **ctx):
            if self.calls >= 2:
                raise RuntimeError("out of memory")
            return super().__call__(images, boxes, **ctx)

    models = {"a": TinyModel(), "b": FailsLater(), "c": TinyModel(root_relative=True)}
    cards = {n: TinyCard(n, hub={"sha256": SHA_A}) for n in models}
    prov = tiny_providers(n=7, cards=cards)
    prov.load_model = models.__getitem__
    prov.load_dataset = lambda name, root=None, split=None: Counting(n=7)
    prov.dataset_specs = {"tiny": prov.dataset_specs["tiny"]}
    run = run_bench(BenchConfig(out=tmp_path, batch_size=3, progress=False), prov)
    assert sorted(reads[2:]) == list(range(7))  # fingerprint reads samples 0 and 6, then one pass
    assert {r.cell.model for r in run.results} == {"mean-hand", "zero", "a", "c"}
    [skip] = [s for s in run.skipped if s.model == "b"]
    assert "out of memory" in skip.reason and "index 3" in skip.reason
    by = {r.cell.model: r for r in run.results}
    assert by["a"].metrics["mpjpe"] == pytest.approx(9 / 7) and not by["a"].info["root_from_gt"]
    # root-relative: the x shift is undone by placing the hand at the ground-truth root
    assert by["c"].metrics["mpjpe"] == pytest.approx(0.0, abs=1e-4) and by["c"].info["root_from_gt"]
    assert by["a"].timings["images"] == 7 and by["a"].timings["ms_per_image"] > 0
