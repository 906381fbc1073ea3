"""The harness: plan the model x dataset cells, run the missing ones, score them, collect results.

One call of :func:`run_bench` does the whole job on every rank of a ``torchrun`` group (or in one
process): rank 0 decides which cells are already cached, every rank evaluates its shard of each
dataset, rank 0 gathers the rows, scores them with the dataset's protocol, stores the cell and
finally holds the :class:`BenchRun` the reports are written from.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from handzoo.bench.baselines import BASELINE_VERSION, BASELINES
from handzoo.bench.cache import CellCache, cell_key, check_out_folder
from handzoo.bench.datasets import DatasetSlot, DatasetSpec, dataset_fingerprint, resolve_datasets
from handzoo.bench.distributed import DistContext, shard_indices, single_process
from handzoo.bench.environment import environment, resolve_device
from handzoo.bench.inference import Timing, evaluate_shard
from handzoo.bench.models import UNTRAINED_SEED, ModelEntry, applies_to, resolve_models
from handzoo.bench.progress import Progress
from handzoo.bench.records import (
    Cell,
    CellResult,
    GroundTruth,
    Predictions,
    SkippedCell,
    concat_ground_truth,
    concat_predictions,
)
from handzoo.bench.samples import sample_info
from handzoo.bench.scoring import Scorer, ScoreResult, check_protocol, protocol_scorer
from handzoo.errors import ConfigError, HandzooError

__all__ = ["BenchConfig", "Providers", "BenchRun", "run_bench"]


@dataclass
class BenchConfig:
    """What to evaluate and how (the ``handzoo-bench`` options).

    Attributes:
        models: model wildcards (``--models``); None = every model.
        datasets: dataset names (``--datasets``); None = every known dataset.
        data_roots: ``--data-root`` values (``DIR`` or ``NAME=DIR``).
        split: override of the datasets' default evaluation split.
        batch_size: images per model call.
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto``.
        limit: evaluate only the first N samples of each split.
        out: report folder; finished cells are cached in ``<out>/cells``.
        workers: DataLoader worker processes.
        progress: show progress bars (rank 0, on stderr).
        resume: reuse cached cells.
        weights: variant -> local safetensors file to evaluate instead of its weights (``--weights``).
        untrained: evaluate the other variants randomly initialised, for smoke runs (``--untrained``).
    """

    models: str | list[str] | None = None
    datasets: list[str] | None = None
    data_roots: list[str] = field(default_factory=list)
    split: str | None = None
    batch_size: int = 16
    device: str = "cpu"
    limit: int | None = None
    out: Path = Path("bench-report")
    workers: int = 0
    progress: bool = True
    resume: bool = True
    weights: dict[str, str] = field(default_factory=dict)
    untrained: bool = False

    def validate(self) -> None:
        """Raise a ConfigError for out-of-range options."""
        if self.batch_size < 1:
            raise ConfigError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"--limit must be at least 1, got {self.limit}")
        if self.workers < 0:
            raise ConfigError(f"--workers must be 0 or more, got {self.workers}")


def _default_load_model(name: str, **kwargs: Any) -> Any:
    import handzoo

    return handzoo.load(name, **kwargs)


@dataclass
class Providers:
    """Where the harness gets its models, data and scores (swapped for stand-ins in tests).

    Attributes:
        load_dataset: ``(name, root=..., split=...) -> dataset`` (default ``handzoo.datasets``).
        cards: variant name -> card (default: the installed plugins' cards).
        weights_status: card -> ``(status, sha256, raw)`` (default ``handzoo.hub.weights_status``).
        load_model: ``(variant name, **handzoo.load keyword arguments) -> model`` callable as
            ``model(images, boxes=...)``; called with ``weights=FILE`` for ``--weights`` and
            ``pretrained=False`` (under a fixed torch seed) for ``--untrained``, else with the name only.
        scorer: ``(protocol, gt, pred) -> ScoreResult`` (default ``handzoo.protocols``).
        check_protocol: raises a HandzooError for an unknown protocol name.
        baselines: baseline name -> predictor.
        dataset_specs: the dataset table (default :data:`handzoo.bench.datasets.DATASET_SPECS`).
    """

    load_dataset: Callable[..., Any] | None = None
    cards: dict[str, Any] | None = None
    weights_status: Callable[[Any], tuple[str, str | None, Any]] | None = None
    load_model: Callable[..., Any] = _default_load_model
    scorer: Scorer = protocol_scorer
    check_protocol: Callable[[str], None] = check_protocol
    baselines: dict[str, Callable[[GroundTruth], Predictions]] = field(default_factory=lambda: dict(BASELINES))
    dataset_specs: dict[str, DatasetSpec] | None = None


@dataclass
class BenchRun:
    """Everything one run produced (complete on rank 0 only).

    Attributes:
        results: evaluated or cached cells.
        skipped: cells not run, with reasons and commands.
        environment: the environment of this run.
        config: the configuration.
        models: the models considered (for the report's model list and cards).
        wall_s: seconds the run took.
        datasets: dataset name -> the dataset object read (the report re-reads the images of the
            few samples its grids show; nothing is loaded until then).
    """

    results: list[CellResult]
    skipped: list[SkippedCell]
    environment: dict[str, Any]
    config: BenchConfig
    models: list[ModelEntry]
    wall_s: float = 0.0
    datasets: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """Why something could not run: a message and what to do about it."""

    message: str
    hint: str = ""


@dataclass
class ModelShard:
    """One model's pass over one rank's shard.

    Attributes:
        error: why the model failed (it was not called again), or None.
        predictions: its prediction rows, aligned with the shard's ground truth (None after an error).
        timing: the model's timing on the shard.
    """

    error: Problem | None
    predictions: Predictions | None
    timing: Timing


@dataclass
class ShardResult:
    """What one rank sends rank 0 after a pass over its shard of a dataset (picklable).

    Attributes:
        failure: why reading the dataset failed (then nothing else is set), or None.
        load_errors: model name -> why it could not be loaded on this rank.
        ground_truth: the shard's ground-truth rows.
        models: model name -> its pass over the shard.
        timing: the pass's data and wall time.
    """

    failure: Problem | None = None
    load_errors: dict[str, Problem] = field(default_factory=dict)
    ground_truth: GroundTruth | None = None
    models: dict[str, ModelShard] = field(default_factory=dict)
    timing: Timing | None = None


def _fingerprint(slot: DatasetSlot) -> str:
    return dataset_fingerprint(slot.dataset, slot.name, slot.split, slot.root)


def _timings(t: Timing, world_size: int, measured: bool = True) -> dict[str, float | None]:
    """Timing fields of a cell; baselines process no images, so they get no throughput."""
    per_img = (t.model_s / t.images) if t.images and measured else None
    return {
        "images": float(t.images),
        "images_per_s": (t.images / t.model_s) if t.model_s > 0 and measured else None,
        "ms_per_image": per_img * 1000.0 if per_img is not None else None,
        "model_s": t.model_s,
        "data_s": t.data_s,
        "wall_s": t.total_s,
        "world_size": float(world_size),
    }


class _Harness:
    def __init__(self, cfg: BenchConfig, prov: Providers, ctx: DistContext) -> None:
        self.cfg, self.prov, self.ctx = cfg, prov, ctx
        self.device = resolve_device(cfg.device)
        self.env = environment(self.device, ctx.world_size)
        self.cache = CellCache(Path(cfg.out) / "cells")
        self.results: list[CellResult] = []
        self.skipped: list[SkippedCell] = []
        self.entries: list[ModelEntry] = []
        self.datasets: dict[str, Any] = {}
        self.progress = Progress(enabled=cfg.progress and ctx.is_main)

    # planning --------------------------------------------------------------------------------
    def plan_dataset(self, slot: DatasetSlot, models: list[ModelEntry]) -> list[Cell]:
        cells: list[Cell] = []
        for proto in slot.protocols:
            try:
                self.prov.check_protocol(proto)
            except HandzooError as exc:
                self.skipped.append(SkippedCell("*", slot.name, f"protocol {proto!r}: {exc.message}", exc.hint or ""))
                continue
            for m in models:
                why = applies_to(m, slot.name)
                if why is not None:
                    self.skipped.append(SkippedCell(m.name, slot.name, *why))
                    continue
                cells.append(Cell(m.name, m.kind, slot.name, slot.split, proto, m.weights_sha256))
        return cells

    def key_of(self, cell: Cell, fingerprint: str) -> str:
        salt = f"baseline-v{BASELINE_VERSION}" if cell.kind == "baseline" else ""
        return cell_key(cell, fingerprint, self.env["handzoo_version"], self.cfg.limit, salt)

    # running ---------------------------------------------------------------------------------
    def run(self) -> None:
        models = self._models()
        slots = self._datasets()
        for slot in slots:
            if not slot.available:
                self.skipped.append(SkippedCell("*", slot.name, slot.reason or "not available", slot.command))
                continue
            self.datasets[slot.name] = slot.dataset
            self.run_dataset(slot, models)

    def _models(self) -> list[ModelEntry]:
        entries = resolve_models(
            self.cfg.models,
            self.prov.cards,
            self.prov.weights_status,
            list(self.prov.baselines),
            weights=self.cfg.weights,
            untrained=self.cfg.untrained,
        )
        self.entries = entries
        runnable = []
        for e in entries:
            if e.runnable:
                runnable.append(e)
            else:
                self.skipped.append(SkippedCell(e.name, "*", e.reason or "", e.command))
        return runnable

    def _datasets(self) -> list[DatasetSlot]:
        return resolve_datasets(
            self.cfg.datasets, self.cfg.data_roots, self.cfg.split, self.prov.load_dataset, self.prov.dataset_specs
        )

    @staticmethod
    def _fingerprint_or_error(slot: DatasetSlot) -> str | tuple[str, str]:
        try:
            return _fingerprint(slot)
        except HandzooError as exc:
            return f"cannot read the dataset: {exc.message}", exc.hint or ""

    def run_dataset(self, slot: DatasetSlot, models: list[ModelEntry]) -> None:
        cells = self.plan_dataset(slot, models)
        if not cells:
            return
        n = len(slot.dataset)
        indices = list(range(min(n, self.cfg.limit) if self.cfg.limit else n))
        fingerprint = self.ctx.broadcast(self._fingerprint_or_error(slot) if self.ctx.is_main else None)
        if isinstance(fingerprint, tuple):
            self.skipped.append(SkippedCell("*", slot.name, *fingerprint))
            return
        keys = {c: self.key_of(c, fingerprint) for c in cells}
        cached: dict[Cell, CellResult] = {}
        if self.ctx.is_main and self.cfg.resume:
            for c in cells:
                hit = self.cache.load(c, keys[c])
                if hit is not None:
                    cached[c] = hit
        done = self.ctx.broadcast(set(cached) if self.ctx.is_main else None)
        self.results.extend(cached[c] for c in cells if c in cached)
        pending = [c for c in cells if c not in done]
        if not pending:
            return
        self._run_pass(slot, pending, shard_indices(indices, self.ctx), keys, fingerprint)

    def _load_models(self, cells: list[Cell]) -> tuple[dict[str, Any], dict[str, Problem]]:
        models: dict[str, Any] = {}
        errors: dict[str, Problem] = {}
        for c in cells:
            try:
                model = self._load_model(c.model)
                if isinstance(model, torch.nn.Module):
                    model = model.to(self.device).eval()
                models[c.model] = model
            except HandzooError as exc:
                errors[c.model] = Problem(exc.message, exc.hint or "")
            except Exception as exc:  # a broken plugin must not stop the other cells (or hang the group)
                errors[c.model] = Problem(
                    f"{type(exc).__name__}: {exc}", f"report this to the maintainers of {c.model}"
                )
        return models, errors

    def _load_model(self, name: str) -> Any:
        """The model of a variant, with the weights its entry says (its own, a local file, untrained)."""
        entry = next((e for e in self.entries if e.name == name), None)
        kwargs = entry.load_kwargs() if entry is not None else {}
        if not kwargs.get("pretrained", True):
            with torch.random.fork_rng(devices=[]):  # the same random weights on every rank and run
                torch.manual_seed(UNTRAINED_SEED)
                return self.prov.load_model(name, **kwargs)
        return self.prov.load_model(name, **kwargs)

    def _run_pass(self, slot: DatasetSlot, cells: list[Cell], shard: list[int], keys: dict[Cell, str], fp: str) -> None:
        """One pass over this rank's shard for every pending cell of a dataset; rank 0 scores."""
        model_cells = [c for c in cells if c.kind == "model"]
        models, load_errors = self._load_models(model_cells)
        mine = ShardResult(load_errors=load_errors)
        what = f"{len(models)} model(s)" if models else "ground truth"
        try:
            with self.progress.task(f"{slot.name}: {what}", len(shard)) as advance:
                gt, runs, timing = evaluate_shard(
                    models, slot.dataset, shard, self.cfg.batch_size, self.device, self.cfg.workers, advance
                )
            mine.ground_truth, mine.timing = gt, timing
            mine.models = {
                n: ModelShard(
                    Problem(*r.error) if r.error is not None else None,
                    r.merged() if r.error is None else None,
                    r.timing,
                )
                for n, r in runs.items()
            }
        except HandzooError as exc:
            mine.failure = Problem(exc.message, exc.hint or "")
        del models
        shards: list[ShardResult] | None = self.ctx.gather(mine)
        if not self.ctx.is_main or shards is None:
            return
        failed = next((s.failure for s in shards if s.failure is not None), None)
        if failed is not None:
            for c in cells:
                reason = f"reading the dataset failed: {failed.message}"
                self.skipped.append(SkippedCell(c.model, slot.name, reason, failed.hint))
            return
        gt_all = concat_ground_truth([s.ground_truth for s in shards], sort=False)
        order = gt_all.order()
        gt_sorted = gt_all.take(order)
        pass_timing = shards[0].timing.merged([s.timing for s in shards[1:]])
        for c in cells:
            if c.kind == "baseline":
                t0 = time.perf_counter()
                pred = self.prov.baselines[c.model](gt_sorted)
                t = Timing(gt_sorted.num_samples, time.perf_counter() - t0, pass_timing.data_s, pass_timing.total_s)
                self._finish(c, keys[c], fp, gt_sorted, pred, t)
                continue
            errors = [s.load_errors[c.model] for s in shards if c.model in s.load_errors]
            errors += [s.models[c.model].error for s in shards if c.model in s.models and s.models[c.model].error]
            if errors:
                self.skipped.append(SkippedCell(c.model, slot.name, f"failed: {errors[0].message}", errors[0].hint))
                continue
            runs = [s.models[c.model] for s in shards]
            pred = concat_predictions([r.predictions for r in runs]).take(order)
            self._finish(c, keys[c], fp, gt_sorted, pred, runs[0].timing.merged([r.timing for r in runs[1:]]))

    def _finish(self, cell: Cell, key: str, fp: str, gt: GroundTruth, pred: Predictions, timing: Timing) -> None:
        t0 = time.perf_counter()
        try:
            score: ScoreResult = self.prov.scorer(cell.protocol, gt, pred)
        except HandzooError as exc:
            self.skipped.append(SkippedCell(cell.model, cell.dataset, f"scoring failed: {exc.message}", exc.hint or ""))
            return
        found = pred.found if pred.found is not None else None
        info = {
            "limit": self.cfg.limit,
            "root_from_gt": bool(pred.root_from_gt),
            "missing_hands": int((~found).sum()) if found is not None else 0,
            "has_vertices": pred.vertices is not None and gt.vertices is not None,
            "headline": list(score.headline),
            "batch_size": self.cfg.batch_size,
        }
        # the report's pictures: per-joint errors, and a few hands (best/median/worst) of a model
        info.update(sample_info(gt, pred, per_rank=3 if cell.kind == "model" else 0))
        if key in self.cache.notes:
            info["cache_note"] = self.cache.notes[key]
        result = CellResult(
            cell=cell,
            key=key,
            dataset_fingerprint=fp,
            num_samples=gt.num_samples,
            num_hands=gt.num_hands,
            metrics=dict(score.metrics),
            units=dict(score.units),
            curves=dict(score.curves),
            timings={
                **_timings(timing, self.ctx.world_size, measured=cell.kind == "model"),
                "score_s": time.perf_counter() - t0,
            },
            info=info,
            environment=dict(self.env),
        )
        self.cache.store(result)
        self.results.append(result)


def run_bench(cfg: BenchConfig, providers: Providers | None = None, ctx: DistContext | None = None) -> BenchRun:
    """Evaluate every planned cell (cached ones are reused) and return what the reports need.

    Args:
        cfg: what to run.
        providers: sources of models, data and scores (defaults: handzoo's own).
        ctx: the distributed context (default: one process).

    Raises:
        ConfigError: for bad options or model patterns that match nothing.
    """
    cfg.validate()
    ctx = ctx or single_process()
    from handzoo.bench.report import REPORT_FILES

    check_out_folder(cfg.out, REPORT_FILES.values())  # before any cell is computed
    t0 = time.perf_counter()
    h = _Harness(cfg, providers or Providers(), ctx)
    with h.progress:
        h.run()
    ctx.barrier()
    order = {name: i for i, name in enumerate(e.name for e in h.entries)}
    h.results.sort(key=lambda r: (r.cell.dataset, r.cell.protocol, order.get(r.cell.model, 1 << 30)))
    return BenchRun(h.results, h.skipped, h.env, cfg, h.entries, time.perf_counter() - t0, h.datasets)
