"""A session folder of MANO-format stand-ins (never the real MANO) shared by the hand-model tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from handzoo.testing.mano import write_mano_standin


@pytest.fixture(scope="session")
def mano_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only folder with random MANO_RIGHT.pkl / MANO_LEFT.pkl stand-ins (left has the bug)."""
    return write_mano_standin(tmp_path_factory.mktemp("mano"))
