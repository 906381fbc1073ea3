"""The public test helpers (handzoo.testing) resolve, import cheaply, and produce loadable stand-ins."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

import handzoo.testing as ht
from handzoo.handmodels.mano_reader import load_mano, read_mano_pickle


def test_every_public_name_resolves():
    for name in ht.__all__:
        assert getattr(ht, name) is not None, name
    assert set(ht.__all__) <= set(dir(ht))


def test_import_is_cheap():
    code = "import sys, handzoo.testing; print(sorted(m for m in ('torch', 'cv2', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_mano_standins_load(tmp_path):
    folder = ht.write_mano_standin(tmp_path / "mano", seed=2)
    right = load_mano("right", folder)
    assert right.num_vertices == 778 and right.parents[0] == -1
    assert np.array_equal(right.v_template, ht.mano_standin_arrays(2, "right")["v_template"])
    own = ht.mano_standin_arrays(5, "right")
    ht.write_mano_standin(tmp_path / "own", arrays=lambda side: own)
    assert np.array_equal(read_mano_pickle(tmp_path / "own" / "MANO_LEFT.pkl")["hands_mean"], own["hands_mean"])
