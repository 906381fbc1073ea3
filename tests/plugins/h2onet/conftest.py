"""Shared fixtures of the H2ONet plugin tests: stand-in template, golden weights, built models."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from h2o_helpers import FIXTURES, golden_state, standin_j_regressor  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_intra_op_thread():
    """Run these tests on one intra-op thread, restoring the setting afterwards.

    The networks run hundreds of small ops; with two OpenMP threads each op ends in a barrier,
    and when other processes share the cores (the full suite, parallel jobs) a descheduled
    thread stalls every barrier: the same tests took 10x longer. One thread has no barriers.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def template_dir() -> Path:
    """The stand-in mesh hierarchy (random sphere meshes in the layout of the authors' transform.pkl)."""
    return FIXTURES / "template"


@pytest.fixture(scope="session")
def joint_regressor():
    """The authors' 21 x 778 regressor built from a random stand-in MANO J_regressor."""
    from handzoo_h2onet.assets import joint_regressor_from_j16

    return joint_regressor_from_j16(standin_j_regressor())


@pytest.fixture(scope="session")
def mano_dir(tmp_path_factory):
    """MANO-format stand-in files (random arrays) for the hand model H2ONet's regressor lives on."""
    from handzoo.testing import write_mano_standin

    return write_mano_standin(tmp_path_factory.mktemp("mano"))


def _build(cls, template_dir, joint_regressor, mano_dir):
    # the authors' regressor is the hand-model option joint_regressor=
    hand = {"type": "mano", "mano_dir": mano_dir, "joint_regressor": joint_regressor}
    model = cls(template_dir=template_dir, hand_model=hand)
    model.load_state_dict(golden_state(model))
    return model.eval()


@pytest.fixture(scope="session")
def sf_model(template_dir, joint_regressor, mano_dir):
    """Single-frame H2ONet with the golden weights."""
    from handzoo_h2onet.model import H2ONetSF

    return _build(H2ONetSF, template_dir, joint_regressor, mano_dir)


@pytest.fixture(scope="session")
def mf_model(template_dir, joint_regressor, mano_dir):
    """Multi-frame H2ONet with the golden weights."""
    from handzoo_h2onet.model import H2ONetMF

    return _build(H2ONetMF, template_dir, joint_regressor, mano_dir)
