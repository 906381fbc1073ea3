"""Fixtures of the training tests: a tiny pre-rendered shard folder (rendered once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 synthetic one-hand samples at 96 px in two shards (seed 5, disjoint from bench/val)."""
    from handzoo.train.shards import render_shards

    out = tmp_path_factory.mktemp("shards")
    render_shards(out, n=8, seed=5, shard_size=4, workers=0, image_size=96, supersample=1, progress=False)
    return out
