"""Running predictors over a (shard of a) dataset: batched, with a DataLoader, timed.

Samples become evaluation rows (one per valid annotated hand, see :mod:`handzoo.bench.records`).
A model is called once per batch with one :class:`~handzoo.query.HandQuery` (:func:`model_query`)
holding the ground-truth boxes of the valid hands, as the official evaluations do (the methods are
crop-based), their sides, K and, when the dataset has them, 2D joints. A plain callable that is not a
:class:`~handzoo.interfaces.Method` gets ``model(images, boxes=..., sides=..., K=..., joints2d=...)``
(only the keywords its signature accepts). Its hands are
matched to the ground-truth hands: in box order when it returned one valid hand per box, by side
and score otherwise. Model time excludes data loading and one warm-up batch.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from handzoo.bench.records import GroundTruth, Predictions, concat_ground_truth, concat_predictions
from handzoo.bench.workers import die_with_parent
from handzoo.errors import DatasetError, HandzooError, InputError
from handzoo.interfaces import Method
from handzoo.query import HandQuery, make_query

__all__ = [
    "Timing",
    "sample_rows",
    "ground_truth_of",
    "model_query",
    "iterate_batches",
    "ModelRun",
    "evaluate_shard",
    "run_model",
]

ProgressFn = Callable[[int], None]


@dataclass
class Timing:
    """Time spent on a shard.

    Attributes:
        images: images given to the predictor (timed ones).
        model_s: seconds inside the predictor (preprocess + network + postprocess).
        data_s: seconds waiting for the DataLoader.
        total_s: wall seconds for the whole shard, warm-up included.
    """

    images: int = 0
    model_s: float = 0.0
    data_s: float = 0.0
    total_s: float = 0.0

    def merged(self, others: Sequence[Timing]) -> Timing:
        """Combine ranks: images and seconds add up except wall time (the slowest rank)."""
        allt = [self, *others]
        return Timing(
            images=sum(t.images for t in allt),
            model_s=sum(t.model_s for t in allt),
            data_s=sum(t.data_s for t in allt),
            total_s=max(t.total_s for t in allt),
        )


@dataclass
class _ReadFailure:
    """A sample that could not be read, carried out of a DataLoader worker without its traceback."""

    index: int
    kind: str
    message: str
    hint: str | None


def _collate(batch: list[Any]) -> list[tuple[int, Any]]:
    return batch


class _Indexed:
    """Dataset view yielding ``(index, sample)`` so rows keep their dataset index.

    A failure becomes a :class:`_ReadFailure` value, re-raised in the main process as a clean
    HandzooError (a DataLoader worker would otherwise wrap it in its own traceback text).
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[int, Any]:
        try:
            return index, self.dataset[index]
        except HandzooError as exc:
            return index, _ReadFailure(index, type(exc).__name__, exc.message, exc.hint)
        except Exception as exc:  # a loader bug: report it with the sample it happened on
            return index, _ReadFailure(index, "", f"{type(exc).__name__}: {exc}", None)


def _raise_failure(f: _ReadFailure) -> None:
    import handzoo.errors as errors

    cls = getattr(errors, f.kind, None) if f.kind else None
    if not (isinstance(cls, type) and issubclass(cls, HandzooError)):
        raise DatasetError(f"reading sample {f.index} failed: {f.message}", hint=f.hint)
    raise cls(f.message, hint=f.hint)


def iterate_batches(
    dataset: Any, indices: Sequence[int], batch_size: int, workers: int = 0
) -> Iterator[tuple[list[tuple[int, Any]], float]]:
    """Yield ``(batch of (index, sample), seconds waited for it)`` over ``indices`` in order.

    Raises:
        HandzooError: the dataset's own error for a sample it cannot read (DatasetError for
            anything else), without a worker traceback.
    """
    if batch_size < 1:
        raise InputError(f"--batch-size must be at least 1, got {batch_size}")
    loader = DataLoader(
        Subset(_Indexed(dataset), list(indices)),
        batch_size=batch_size,
        shuffle=False,
        num_workers=max(0, int(workers)),
        collate_fn=_collate,
        worker_init_fn=die_with_parent if workers else None,  # no orphaned workers when the bench is killed
    )
    it = iter(loader)
    while True:
        t0 = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            return
        except Exception as exc:  # the DataLoader itself failed (worker killed, unpicklable dataset)
            raise DatasetError(f"reading samples failed: {type(exc).__name__}: {exc}") from exc
        for _, item in batch:
            if isinstance(item, _ReadFailure):
                _raise_failure(item)
        yield batch, time.perf_counter() - t0


def sample_rows(sample: Any) -> list[int]:
    """Hands of ``sample`` that are evaluated: valid and annotated in 3D."""
    if sample.joints3d is None:
        return []
    valid = np.asarray(sample.hand_valid, dtype=bool).reshape(-1)
    return [int(h) for h in np.flatnonzero(valid)]


def ground_truth_of(batch: Sequence[tuple[int, Any]]) -> GroundTruth:
    """Ground-truth rows of a batch of ``(index, sample)`` pairs."""
    sidx, hidx, side, joints, jvalid, verts, meta = [], [], [], [], [], [], {}
    for index, s in batch:
        rows = sample_rows(s)
        meta[int(index)] = dict(s.meta or {})
        for h in rows:
            sidx.append(index)
            hidx.append(h)
            side.append(int(np.asarray(s.side).reshape(-1)[h]))
            joints.append(np.asarray(s.joints3d[h], dtype=np.float64))
            jv = s.joints_valid[h] if s.joints_valid is not None else np.ones(21, dtype=bool)
            jvalid.append(np.asarray(jv, dtype=bool))
            verts.append(None if s.vertices is None else np.asarray(s.vertices[h], dtype=np.float64))
    m = len(sidx)
    have_verts = m > 0 and all(v is not None for v in verts) and len({v.shape for v in verts}) == 1
    return GroundTruth(
        sample_index=np.asarray(sidx, dtype=np.int64),
        hand_index=np.asarray(hidx, dtype=np.int64),
        side=np.asarray(side, dtype=np.int64),
        joints3d=np.stack(joints) if m else np.zeros((0, 21, 3)),
        joints_valid=np.stack(jvalid) if m else np.zeros((0, 21), dtype=bool),
        vertices=np.stack(verts) if have_verts else None,
        sample_meta=meta,
    )


def _accepted_kwargs(fn: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return kwargs
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return kwargs
    names = {p.name for p in params}
    return {k: v for k, v in kwargs.items() if k in names}


def _to_numpy(t: torch.Tensor | None) -> np.ndarray | None:
    return None if t is None else t.detach().to("cpu", torch.float64).numpy()


def _match(out_side: np.ndarray, out_valid: np.ndarray, out_score: np.ndarray, gt_sides: list[int]) -> list[int]:
    """Output hand index for each ground-truth hand of one image (-1 when none)."""
    n = len(gt_sides)
    if len(out_valid) >= n and out_valid[:n].all() and [int(x) for x in out_side[:n]] == list(gt_sides):
        return list(range(n))  # one hand per given box, in box order
    taken: set[int] = set()
    picks = []
    for side in gt_sides:
        cands = [h for h in range(len(out_valid)) if out_valid[h] and out_side[h] == side and h not in taken]
        if not cands:
            picks.append(-1)
            continue
        best = max(cands, key=lambda h: out_score[h])
        taken.add(best)
        picks.append(best)
    return picks


def model_query(batch: Sequence[tuple[int, Any]]) -> HandQuery | None:
    """The one query of a model call over the samples of ``batch`` that have hands (None if none).

    Per image: the evaluated hands' ground-truth boxes ``xyxy`` (N_i, 4), their ``sides`` and the
    camera ``K``; ``joints2d`` (ground truth, when every image of the batch has them) is what some
    methods build their crop from, as their authors' evaluation.
    """
    images, boxes, ks, sides, j2d, roots = [], [], [], [], [], []
    for _, s in batch:
        rows = sample_rows(s)
        if not rows:
            continue
        images.append(s.image)
        # float32 as the datasets store them (the numbers the methods saw before the query existed)
        boxes.append(np.asarray(s.bbox, dtype=np.float32).reshape(-1, 4)[rows])
        ks.append(np.asarray(s.K, dtype=np.float32))
        sides.append(np.asarray(s.side, dtype=np.int64).reshape(-1)[rows])
        j2d.append(None if s.joints2d is None else np.asarray(s.joints2d, dtype=np.float32)[rows])
        # datasets whose official evaluation supplies the absolute root depth (InterHand2.6M's
        # 'abs_depth', InterNet's trans_test='gt') give the ground-truth wrists as `root`
        has_root = isinstance((s.meta or {}).get("abs_depth"), dict)
        roots.append(np.asarray(s.joints3d, dtype=np.float64)[rows, 0] if has_root else None)
    if not images:
        return None
    have_j2d = all(j is not None for j in j2d)
    have_root = all(r is not None for r in roots)
    return make_query(
        images, boxes, sides=sides, K=ks, joints2d=j2d if have_j2d else None, root=roots if have_root else None
    )


def _predict_batch(model: Any, batch: Sequence[tuple[int, Any]], device: torch.device) -> Any:
    query = model_query(batch)
    if query is None:
        return None
    with torch.inference_mode():
        if isinstance(model, Method):
            out = model(query)
        else:  # a plain predictor callable (baselines, adapters): the query's fields as keywords
            ctx = {"sides": query.sides, "K": query.K, "joints2d": query.joints2d}
            ctx = {k: v for k, v in ctx.items() if v is not None}
            out = model(query.images, boxes=query.boxes, **_accepted_kwargs(model, ctx))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return out


def _rows_of_output(out: Any, batch: Sequence[tuple[int, Any]], gt: GroundTruth) -> Predictions:
    """Prediction rows aligned with ``gt`` (the rows of ``batch``) from one model output."""
    m = gt.num_hands
    if out is None or m == 0:
        return Predictions(joints3d=np.zeros((m, 21, 3)), found=np.zeros(m, dtype=bool))
    j3d = _to_numpy(out.joints3d)
    verts = _to_numpy(out.vertices)
    side = out.side.detach().cpu().numpy()
    valid = out.valid.detach().cpu().numpy().astype(bool)
    score = out.score.detach().to("cpu", torch.float64).numpy()
    pj = np.zeros((m, 21, 3))
    pv = None if verts is None else np.zeros((m, verts.shape[2], 3))
    found = np.zeros(m, dtype=bool)
    row, b = 0, 0
    for _, s in batch:
        rows = sample_rows(s)
        if not rows:
            continue  # images without evaluated hands were not given to the model
        sides = [int(x) for x in np.asarray(s.side).reshape(-1)[rows]]
        for h in _match(side[b], valid[b], score[b], sides):
            if h >= 0:
                pj[row] = j3d[b, h]
                if pv is not None:
                    pv[row] = verts[b, h]
                found[row] = True
            row += 1
        b += 1
    root_from_gt = bool(getattr(out, "root_relative", False))
    if root_from_gt:
        # root-relative methods are evaluated at the ground-truth root (the mesh papers' protocol)
        shift = gt.joints3d[:, :1] - pj[:, :1]
        shift[~found] = 0.0
        pj = pj + shift
        if pv is not None:
            pv = pv + shift
    return Predictions(joints3d=pj, vertices=pv, found=found, root_from_gt=root_from_gt)


@dataclass
class ModelRun:
    """One model's share of a pass over a shard.

    Attributes:
        predictions: prediction rows, aligned with the pass's ground truth (empty after an error).
        timing: model time and images (data time belongs to the pass).
        error: ``(message, what to do)`` when the model failed; it is not called again after that.
    """

    predictions: list[Predictions] = field(default_factory=list)
    timing: Timing = field(default_factory=Timing)
    error: tuple[str, str] | None = None

    def merged(self) -> Predictions:
        """All prediction rows of the pass."""
        return concat_predictions(self.predictions)


def _call_model(
    name: str, model: Any, batch: Sequence[tuple[int, Any]], device: torch.device, run: ModelRun, warm: bool
) -> Any:
    try:
        if not warm:
            _predict_batch(model, batch, device)
        t0 = time.perf_counter()
        out = _predict_batch(model, batch, device)
        run.timing.model_s += time.perf_counter() - t0
        return out
    except HandzooError as exc:
        run.error = (exc.message, exc.hint or "")
    except Exception as exc:  # a broken plugin must not stop the other models
        run.error = (
            f"{type(exc).__name__}: {exc} (on samples from index {batch[0][0]})",
            f"report this to the maintainers of {name}",
        )
    return None


def evaluate_shard(
    models: dict[str, Any],
    dataset: Any,
    indices: Sequence[int],
    batch_size: int,
    device: torch.device | str = "cpu",
    workers: int = 0,
    progress: ProgressFn | None = None,
    warmup: bool = True,
) -> tuple[GroundTruth, dict[str, ModelRun], Timing]:
    """One pass over ``indices``: ground truth, and every model's predictions on the same batches.

    Images are read (or rendered) once for all models. Rows stay in pass order (sort them with
    ``GroundTruth.order()``); each model's first batch is run once untimed (warm-up).

    Returns:
        ``(ground truth, name -> ModelRun, pass timing)``; the pass timing has the data time,
        the number of images and the wall time.

    Raises:
        HandzooError: when the dataset fails (a model's failure is recorded in its ModelRun).
    """
    device = torch.device(device)
    runs = {name: ModelRun() for name in models}
    gts: list[GroundTruth] = []
    timing, t_start = Timing(), time.perf_counter()
    first = True
    for batch, waited in iterate_batches(dataset, indices, batch_size, workers):
        timing.data_s += waited
        timing.images += len(batch)
        gt = ground_truth_of(batch)
        gts.append(gt)
        for name, model in models.items():
            run = runs[name]
            if run.error is not None:
                continue
            out = _call_model(name, model, batch, device, run, warm=not (first and warmup))
            if run.error is None:
                run.timing.images += len(batch)
                preds = _rows_of_output(out, batch, gt)
                if gt.vertices is None:
                    preds.vertices = None  # nothing to score them against
                run.predictions.append(preds)
        first = False
        if progress:
            progress(len(batch))
    timing.total_s = time.perf_counter() - t_start
    for run in runs.values():
        run.timing.data_s, run.timing.total_s = timing.data_s, timing.total_s
        if run.error is not None:
            run.predictions = []
    return concat_ground_truth(gts, sort=False), runs, timing


def run_model(
    model: Any,
    dataset: Any,
    indices: Sequence[int],
    batch_size: int,
    device: torch.device | str = "cpu",
    workers: int = 0,
    progress: ProgressFn | None = None,
    warmup: bool = True,
) -> tuple[GroundTruth, Predictions, Timing]:
    """Run one model over ``indices`` of ``dataset``; rows sorted by (sample, hand).

    Raises:
        HandzooError: from the dataset, or the model's failure as an InputError (or its own
            HandzooError) naming what went wrong.
    """
    gt, runs, _ = evaluate_shard({"model": model}, dataset, indices, batch_size, device, workers, progress, warmup)
    run = runs["model"]
    if run.error is not None:
        exc = InputError(f"the model failed: {run.error[0]}", hint=run.error[1] or None)
        raise exc
    order = gt.order()
    return gt.take(order), run.merged().take(order), run.timing
