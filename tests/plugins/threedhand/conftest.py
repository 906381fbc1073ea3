"""Shared fixtures of the 3D-hand tests: a MANO stand-in folder, the models on it, the goldens."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import tdh_testutils as tu  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_intra_op_thread():
    """One intra-op thread for these tests (restored afterwards): shared, busy cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def mano_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with random MANO_RIGHT/LEFT.pkl stand-ins (seeded, identical to the fixtures')."""
    return tu.write_mano_standin(tmp_path_factory.mktemp("mano_standin"))


@pytest.fixture(scope="session")
def authors_state() -> dict:
    """The authors' state dict with the deterministic weights rule (no ``module.`` prefix)."""
    return tu.authors_state_dict()


@pytest.fixture(scope="session")
def rgb_model(mano_dir: Path, authors_state: dict):
    """model-0 (RGB) on the MANO stand-in, float32."""
    return tu.build_model(0, mano_dir, authors_state)
