"""Stage switches: the lr and the optimiser reset happen once, and a resumed run neither repeats
nor misses them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from handzoo.testing.train import shards_source, short_run_args
from handzoo.train.cli import main
from handzoo.train.hooks import read_loss_curve


def _args(shards: Path, work_dir: Path) -> list[str]:
    return short_run_args(
        "compact-openhand",
        work_dir,
        6,
        lr="1e-3",
        options=["--ema", "0"],
        cfg_options=[
            shards_source(shards),
            "model.kwargs={'backbone': {'type': 'TimmBackbone', 'name': 'resnet10t', 'out_indices': [4]}, 'input_size': 64}",
            "train_data.transform.input_size=64",
            "train_data.transform.augment=False",
            "train_data.shuffle=False",
            "param_scheduler=None",
            "checkpoint_interval=1",
            "max_keep_ckpts=10",
            "log_interval=1",
            "stages=[{'begin': 0, 'loss': 'default'}, "
            "{'begin': 2, 'loss': 'default', 'lr': 2e-4, 'reset_optimizer': True}]",
        ],
    )


@pytest.mark.slow
@pytest.mark.parametrize("resume_at", [1, 4])  # before and after the switch
def test_stage_switch_sets_lr_once_and_survives_resume(tiny_shards: Path, tmp_path: Path, resume_at: int) -> None:
    full = tmp_path / "full"
    assert main(_args(tiny_shards, full)) == 0
    curve = read_loss_curve(full)
    assert [r["lr"] for r in curve] == pytest.approx([1e-3, 1e-3, 2e-4, 2e-4, 2e-4, 2e-4])

    part = tmp_path / "part"
    part.mkdir()
    shutil.copy(full / f"iter_{resume_at}.pth", part / f"iter_{resume_at}.pth")
    assert main([*_args(tiny_shards, part), "--resume", str(part / f"iter_{resume_at}.pth")]) == 0
    resumed = read_loss_curve(part)
    assert [r["iter"] for r in resumed] == list(range(resume_at + 1, 7))
    for a, b in zip(curve[resume_at:], resumed):
        assert b["lr"] == pytest.approx(a["lr"])
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4, abs=1e-6)
