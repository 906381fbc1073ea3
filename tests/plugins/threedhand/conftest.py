"""Shared fixtures of the 3D-hand tests: a MANO stand-in folder, the models on it, the goldens."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import tdh_testutils as tu  # noqa: E402

VARIANTS = {0: "3dhand-rgb", 1: "3dhand-rgb2d"}


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


def build_model(option: int, mano_dir: Path, authors_state: dict, dtype=None):
    """ThreeDHand for model-``option`` on the MANO stand-in with the converted weights (eval)."""
    import torch
    from handzoo_3dhand.convert import convert_state_dict
    from handzoo_3dhand.model import ThreeDHand

    hm = {"type": "mano", "dtype": dtype or torch.float32}
    model = ThreeDHand(hand_model=hm, mano_dir=mano_dir, with_heatmaps=bool(option))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.load_state_dict(convert_state_dict(authors_state, VARIANTS[option]), strict=True)
    return model.eval()


@pytest.fixture(scope="session")
def rgb_model(mano_dir: Path, authors_state: dict):
    """model-0 (RGB) on the MANO stand-in, float32."""
    return build_model(0, mano_dir, authors_state)


def load_fixture(name: str) -> dict:
    import numpy as np

    with np.load(tu.FIXTURES / name) as f:
        return {k: f[k] for k in f.files}
