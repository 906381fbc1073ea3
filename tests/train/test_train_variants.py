"""Every ``*-openhand`` recipe trains through ``handzoo-train`` on CPU and its loss falls.

Each test runs the variant's own config (its network, losses, training transform and stages)
for a few iterations on two tiny synthetic samples, with small networks where the recipe lets
the architecture be overridden, and checks that the loss falls; stage-wise recipes are checked
in every stage.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handzoo.train.cli import main
from handzoo.train.config import load_config


def _curve(work_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (work_dir / "loss_curve.jsonl").read_text().splitlines()]


def _run(variant: str, shards: Path, work_dir: Path, iters: int, *options: str, lr: str | None = None) -> list[dict]:
    args = [
        variant,
        "--work-dir",
        str(work_dir),
        "--max-iters",
        str(iters),
        "--batch-size",
        "2",
        "--workers",
        "0",
        "--no-val",
        "--cfg-options",
        f"train_data.source={{'type': 'shards', 'roots': ['{shards}'], 'limit': 2}}",
        "train_data.transform.augment=False",
        "train_data.shuffle=False",
        f"checkpoint_interval={iters}",
        "log_interval=1",
        "param_scheduler=None",
        *options,
    ]
    if lr is not None:
        args += ["--lr", lr]
    assert main(args) == 0
    curve = _curve(work_dir)
    assert [r["iter"] for r in curve] == list(range(1, iters + 1))
    return curve


def _falls(rows: list[dict]) -> bool:
    """The mean loss of the last two iterations is below the first iteration's."""
    return sum(r["loss"] for r in rows[-2:]) / 2 < rows[0]["loss"]


def _recipe_stage(variant: str, index: int, begin: int) -> dict:
    stage = dict(load_config(variant).stages[index])
    stage["begin"] = begin
    return stage


@pytest.mark.slow
def test_h2onet_sf_openhand_falls_in_both_stages(tiny_shards: Path, tmp_path: Path) -> None:
    # stage 2 with the recipe's own switch (lr 1e-4, new optimiser moments), from iteration 6
    s2 = _recipe_stage("h2onet-sf-openhand", 1, 5)
    assert s2["lr"] == pytest.approx(1e-4) and s2["reset_optimizer"]
    stages = f"stages=[{{'begin': 0, 'loss': 'stage1'}}, {s2!r}]"
    curve = _run("h2onet-sf-openhand", tiny_shards, tmp_path / "w", 10, stages, lr="5e-3")
    stage1, stage2 = curve[:5], curve[5:]
    assert "glob_rot" not in stage1[-1] and "glob_rot" in stage2[0]
    assert _falls(stage1), [r["loss"] for r in curve]
    assert _falls(stage2), [r["loss"] for r in curve]
    assert stage2[0]["lr"] == pytest.approx(1e-4)
