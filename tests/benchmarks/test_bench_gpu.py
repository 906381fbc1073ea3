"""``benchmarks/bench_gpu.py`` does not rot: without CUDA it exits 2 writing nothing; its CPU smoke
mode runs every code path (query, preprocess, timed forward, end to end, JSON) on a small method;
every method's synthetic inputs validate as a query."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gpu.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_gpu_under_test", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA exit")
def test_without_cuda_exits_2_and_writes_nothing(bench, tmp_path, capsys):
    out = tmp_path / "gpu.json"
    assert bench.main(["--out", str(out)]) == 2
    assert not out.exists()
    assert "no CUDA device" in capsys.readouterr().err


def test_cpu_smoke_run_writes_rows(bench, tmp_path):
    out = tmp_path / "gpu.json"
    args = ["--device", "cpu", "--batches", "1", "2", "--repeats", "1", "--warmup", "0", "--methods", "compact"]
    assert bench.main([*args, "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["device"] == "cpu"
    rows = doc["rows"]
    assert [(r["dtype"], r["batch"]) for r in rows] == [("fp32", 1), ("fp32", 2), ("bf16", 1), ("bf16", 2)]
    for r in rows:
        assert r["input_shape"]["img"] == [r["batch"], 3, 128, 128]
        assert r["network_ms"]["median_ms"] > 0 and r["end_to_end_ms"]["median_ms"] > 0 and r["images_per_s"] > 0


@pytest.mark.parametrize("name", ["H2ONet-SF", "Hand4Whole", "SMHR-multihand", "DIGIT", "3DHand-RGB", "3DHand-RGB2D"])
def test_every_method_gets_a_valid_query(bench, name):
    from handzoo.query import make_query

    images, boxes, ctx = bench._inputs(name, 2)
    q = make_query(images, boxes, **ctx)
    assert q.num_images == 2 and (boxes is None) == (q.boxes is None)
    assert (q.joints2d is not None) == (name == "3DHand-RGB2D")


def test_methods_are_catalogue_variants(bench):
    from handzoo.variants import model_info

    for variant, _ in bench.METHODS.values():
        model_info(variant)
