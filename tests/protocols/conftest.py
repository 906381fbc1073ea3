"""Make ``protocol_golden`` importable and share the fixture inputs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from protocol_golden import load_inputs  # noqa: E402


@pytest.fixture(scope="session")
def fh_inputs() -> dict[str, np.ndarray]:
    return load_inputs("fh")


@pytest.fixture(scope="session")
def dexycb_inputs() -> dict[str, np.ndarray]:
    return load_inputs("dexycb")


@pytest.fixture(scope="session")
def interhand_inputs() -> dict[str, np.ndarray]:
    return load_inputs("interhand")
