"""handzoo.geometry reaches its submodules lazily; joint orders stay importable without torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import handzoo.geometry as geometry


def test_lazy_submodules_resolve():
    for name in dir(geometry):
        assert getattr(geometry, name).__name__ == f"handzoo.geometry.{name}"
    with pytest.raises(AttributeError):
        geometry.no_such_function  # noqa: B018


def test_joint_orders_do_not_import_torch():
    code = "import sys, handzoo.geometry.joint_orders; assert 'torch' not in sys.modules"
    root = str(Path(geometry.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
