"""Two CPU processes on gloo give the numbers of one process."""

from __future__ import annotations

import json
from pathlib import Path

import torch.distributed as dist
import torch.multiprocessing as mp
from bench_fakes import TinyModel, tiny_providers

from handzoo.bench.distributed import DistContext, shard_indices
from handzoo.bench.runner import BenchConfig, run_bench


def _summary(run) -> list[dict]:
    return [
        {
            "cell": r.cell.label,
            "key": r.key,
            "metrics": r.metrics,
            "curves": r.curves,
            "num_samples": r.num_samples,
            "num_hands": r.num_hands,
            "images": r.timings["images"],
        }
        for r in run.results
    ]


def _worker(rank: int, world: int, init_file: str, out: str, dump: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    ctx = DistContext(rank, world, owns_group=True)
    try:
        # root-relative predictions also exercise the ground-truth root placement per shard
        prov = tiny_providers(n=9, model=TinyModel(root_relative=True))
        run = run_bench(BenchConfig(out=Path(out), batch_size=2, progress=False), prov, ctx)
        if rank == 0:
            Path(dump).write_text(json.dumps({"world": run.environment["world_size"], "results": _summary(run)}))
    finally:
        ctx.close()


def test_two_processes_equal_one(tmp_path: Path) -> None:
    dump = tmp_path / "two.json"
    mp.start_processes(
        _worker,
        args=(2, str(tmp_path / "init"), str(tmp_path / "out2"), str(dump)),
        nprocs=2,
        join=True,
        start_method="spawn",
    )
    payload = json.loads(dump.read_text())
    assert payload["world"] == 2
    two = payload["results"]
    prov = tiny_providers(n=9, model=TinyModel(root_relative=True))
    one = json.loads(
        json.dumps(_summary(run_bench(BenchConfig(out=tmp_path / "out1", batch_size=2, progress=False), prov)))
    )
    assert len(one) == 3
    assert two == one


def test_shards_are_strided_and_cover_everything() -> None:
    idx = list(range(7))
    shards = [shard_indices(idx, DistContext(r, 3)) for r in range(3)]
    assert shards == [[0, 3, 6], [1, 4], [2, 5]]
    assert sorted(sum(shards, [])) == idx
