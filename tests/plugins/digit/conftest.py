"""Shared fixtures of the DIGIT tests: the seeded authors' weights, the model, the golden outputs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import digit_testutils as tu  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _two_intra_op_threads():
    """At most two intra-op threads (restored afterwards): this network is the heaviest of the zoo."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(min(2, before))
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def authors_state() -> dict:
    """The authors' state dict (``pose_reg.*``) under the deterministic weights rule."""
    return tu.authors_state_dict()


@pytest.fixture(scope="session")
def golden() -> dict:
    """The authors' outputs (``fixtures/parity.npz``, see the fixtures README)."""
    with np.load(tu.FIXTURES / "parity.npz") as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope="session")
def digit_model(authors_state: dict):
    """DIGIT built from the registry with the converted seeded weights (float32, eval)."""
    from handzoo_digit.convert import convert_state_dict

    from handzoo.registry import build

    model = build("methods", {"type": "DIGIT"})
    model.load_state_dict(convert_state_dict(authors_state), strict=True)
    return model.eval()
