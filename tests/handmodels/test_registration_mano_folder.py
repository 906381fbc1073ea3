"""A folder called ``mano`` in the working directory must not hide the ``mano`` hand model."""

from __future__ import annotations

import subprocess
import sys


def test_mano_folder_in_the_working_directory(tmp_path) -> None:
    (tmp_path / "mano" / "models").mkdir(parents=True)  # where many users keep MANO_RIGHT.pkl
    code = "from handzoo.registry import get_registry; print(sorted(get_registry('hand_models').module_dict))"
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "'mano'" in res.stdout and "'openhand'" in res.stdout
