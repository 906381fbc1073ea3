"""Suite-wide test settings: hermetic (no network, no user cache), deterministic, CPU only."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import settings

# CI runs are reproducible: fixed example generation, no example database written to the repo.
settings.register_profile("handzoo", derandomize=True, database=None, print_blob=True)
settings.load_profile(os.environ.get("HANDZOO_HYPOTHESIS_PROFILE", "handzoo"))

# Set before anything imports huggingface_hub or handzoo.
os.environ["HF_HUB_OFFLINE"] = "1"
# Spinning OpenMP threads stall each other on a shared 2-core machine (4-10x slower tests).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# float32 reductions (convolutions, rasterising) depend on the thread count: one intra-op thread
# makes every run of the suite compute the same numbers, whatever the machine's settings.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HANDZOO_TEST", "1")
os.environ["CUDA_VISIBLE_DEVICES"] = ""


@pytest.fixture(autouse=True)
def _hermetic(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every cache at a temp dir and seed the RNGs for each test."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("HANDZOO_CACHE", str(cache / "handzoo"))
    monkeypatch.setenv("HF_HOME", str(cache / "hf"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    random.seed(0)
    try:
        import numpy as np

        np.random.seed(0)
    except ImportError:  # pragma: no cover
        pass
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(0)


@pytest.fixture
def fresh_plugins():
    """Yield a function installing a given PluginManager; restores the default afterwards."""
    from handzoo.plugins import reset_plugin_manager

    yield reset_plugin_manager
    reset_plugin_manager(None)
