"""``handzoo train`` / ``handzoo-train``: listing, errors, config overrides."""

from __future__ import annotations

import json

from handzoo.cli import main as handzoo_main
from handzoo.train.cli import add_arguments, main, overrides_of
from handzoo.train.config import load_config


def test_list_names_the_trainable_variants(capsys) -> None:
    assert handzoo_main(["train", "--list", "--json"]) == 0
    names = json.loads(capsys.readouterr().out)
    assert {"h2onet-sf-openhand", "compact-openhand"} <= set(names)


def test_unknown_variant_says_what_to_do(capsys) -> None:
    assert main(["no-such-variant", "--max-iters", "1"]) == 2
    err = capsys.readouterr().err
    assert "no training config" in err and "h2onet-sf-openhand" in err


def test_command_line_overrides_reach_the_config() -> None:
    import argparse

    p = argparse.ArgumentParser()
    add_arguments(p)
    args = p.parse_args(
        [
            "h2onet-sf-openhand",
            "--max-iters",
            "7",
            "--batch-size",
            "3",
            "--accumulate",
            "2",
            "--ema",
            "0.01",
            "--no-val",
        ]
    )
    cfg = load_config("h2onet-sf-openhand", overrides_of(args))
    assert cfg.max_iters == 7 and cfg.train_data.batch_size == 3 and cfg.accumulate == 2
    assert cfg.ema.momentum == 0.01 and cfg.val_data is None
    assert [s["loss"] for s in cfg.stages] == ["stage1", "stage2"]
