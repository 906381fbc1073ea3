"""Shared fixtures of the SMHR tests: a MANO stand-in folder, the authors' seeded weights, the
golden outputs and the models built on them (once per session)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import smhr_testutils as tu  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_intra_op_thread():
    """One intra-op thread (restored afterwards): shared, busy cores make OpenMP barriers slow."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def mano_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the seeded MANO_RIGHT/LEFT.pkl stand-ins the fixtures were recorded with."""
    return tu.write_mano_standin(tmp_path_factory.mktemp("smhr_mano"))


@pytest.fixture(scope="session")
def authors_states() -> dict:
    """The authors' seeded state dicts of both released models (multi-hand: with ``handmap``)."""
    return {v: tu.authors_state_dict(tu.read_key_shapes(v)) for v in ("freihand", "multihand")}


def _load(*names: str) -> dict:
    import numpy as np

    out = {}
    for name in names:
        with np.load(tu.FIXTURES / name) as f:
            out.update({k: f[k] for k in f.files})
    return out


@pytest.fixture(scope="session")
def parity() -> dict:
    """Golden outputs of the authors' code (see fixtures/README.md), by variant."""
    return {
        "freihand": _load("parity_freihand.npz"),
        "multihand": _load("parity_multihand_net.npz", "parity_multihand_texture.npz", "parity_multihand_mesh.npz"),
    }


@pytest.fixture(scope="session")
def smhr_models(mano_dir: Path, authors_states: dict) -> dict:
    """SMHR models with the converted seeded weights on the MANO stand-in, by variant (eval, float32)."""
    import warnings

    from handzoo_smhr.convert import convert_state_dict
    from handzoo_smhr.model import SMHR

    models = {}
    for variant, size, k in (("freihand", 224, 1), ("multihand", 384, 4)):
        model = SMHR(heads=list(tu.HEADS[variant]), hand_model="mano", mano_dir=mano_dir, input_size=size, max_hands=k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.load_state_dict(convert_state_dict(authors_states[variant], f"smhr-{variant}"), strict=True)
        models[variant] = model.eval()
    return models
