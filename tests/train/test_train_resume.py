"""``handzoo-train h2onet-sf-openhand`` on CPU: the loss falls, and ``--resume`` continues the curve."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from handzoo.testing.train import shards_source, short_run_args
from handzoo.train.cli import main
from handzoo.train.hooks import read_loss_curve


def _args(shards: Path, work_dir: Path, iters: int) -> list[str]:
    return short_run_args(
        "h2onet-sf-openhand",
        work_dir,
        iters,
        lr="5e-3",
        cfg_options=[
            shards_source(shards),
            "train_data.transform.augment=False",
            "train_data.shuffle=False",
            "checkpoint_interval=3",
            "log_interval=1",
            "stages=[{'begin': 0, 'loss': 'stage1'}, {'begin': 4, 'loss': 'stage2'}]",
        ],
    )


@pytest.mark.slow
def test_loss_falls_and_resume_continues_the_curve(tiny_shards: Path, tmp_path: Path) -> None:
    full = tmp_path / "full"
    assert main(_args(tiny_shards, full, 6)) == 0
    curve = read_loss_curve(full)
    assert [r["iter"] for r in curve] == [1, 2, 3, 4, 5, 6]
    # stage 1 (iterations 1-4) on the same two samples: the loss falls
    assert curve[3]["loss"] < curve[0]["loss"]
    assert "glob_rot" in curve[5] and "glob_rot" not in curve[0]  # stage 2 from iteration 5

    # a run stopped at iteration 3 and resumed reproduces iterations 4-6
    part = tmp_path / "part"
    part.mkdir()
    shutil.copy(full / "iter_3.pth", part / "iter_3.pth")
    assert main([*_args(tiny_shards, part, 6), "--resume", str(part / "iter_3.pth")]) == 0
    resumed = read_loss_curve(part)
    assert [r["iter"] for r in resumed] == [4, 5, 6]
    for a, b in zip(curve[3:], resumed):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4, abs=1e-6)
