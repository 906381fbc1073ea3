"""DDP on CPU: two gloo processes with batch B give the loss curve of one process with batch 2B."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from handzoo.testing.train import shards_source, short_run_args
from handzoo.train.cli import main
from handzoo.train.hooks import read_loss_curve


def _curve(work_dir: Path) -> list[float]:
    return [row["loss"] for row in read_loss_curve(work_dir)]


def _args(shards: Path, work_dir: Path, batch: int) -> list[str]:
    # a small compact model (resnet10t at 64 px); normalisation frozen so that the loss does not
    # depend on how the batch is split over processes
    return short_run_args(
        "compact-openhand",
        work_dir,
        3,
        batch_size=batch,
        options=["--ema", "0"],
        cfg_options=[
            shards_source(shards, limit=None),
            "model.kwargs={'backbone': {'type': 'TimmBackbone', 'name': 'resnet10t', 'out_indices': [4]}, 'input_size': 64}",
            "model.freeze_norm=True",
            "train_data.transform.input_size=64",
            "train_data.transform.augment=False",
            "train_data.shuffle=False",
            "checkpoint_interval=100",
            "log_interval=1",
        ],
    )


@pytest.mark.slow
def test_two_gloo_processes_match_one_process_with_the_doubled_batch(tiny_shards: Path, tmp_path: Path) -> None:
    single = tmp_path / "single"
    assert main(_args(tiny_shards, single, 4)) == 0

    ddp = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-port",
        str(29500 + os.getpid() % 1000),
        "-m",
        "handzoo.train",
        *_args(tiny_shards, ddp, 2),
        "--launcher",
        "pytorch",
    ]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    a, b = _curve(single), _curve(ddp)
    assert len(a) == len(b) == 3
    assert b == pytest.approx(a, rel=1e-4)
    assert a[-1] < a[0]  # and it trains
