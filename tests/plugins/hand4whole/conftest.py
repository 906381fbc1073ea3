"""Shared fixtures of the Hand4Whole tests: a MANO stand-in folder and the model on it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import h4w_testutils as tu  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_intra_op_thread():
    """One intra-op thread for these tests (restored afterwards): with two OpenMP threads on
    shared, busy cores every op's barrier waits for a descheduled thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def mano_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with random MANO_RIGHT/LEFT.pkl stand-ins (seeded, identical to the fixtures')."""
    return tu.write_mano_standin(tmp_path_factory.mktemp("mano"))


@pytest.fixture(scope="session")
def authors_state() -> dict:
    """The authors' state dict (current layout) with the deterministic weights rule."""
    return tu.authors_state_dict(tu.read_key_shapes())


@pytest.fixture(scope="session")
def h4w_model(mano_dir: Path, authors_state: dict):
    """Hand4WholeHand on the MANO stand-in, with the converted deterministic weights, eval mode."""
    from handzoo_hand4whole.convert import convert_state_dict
    from handzoo_hand4whole.model import Hand4WholeHand

    model = Hand4WholeHand(hand_model="mano", mano_dir=mano_dir)
    model.load_state_dict(convert_state_dict(authors_state), strict=True)
    return model.eval()


@pytest.fixture(scope="session")
def parity() -> dict:
    """Golden outputs recorded from the authors' code (see fixtures/README.md)."""
    import numpy as np

    with np.load(tu.FIXTURES / "parity.npz") as f:
        return {k: f[k] for k in f.files}
