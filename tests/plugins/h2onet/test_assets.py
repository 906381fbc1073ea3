"""Template, finger-set and MANO asset readers: safe unpickling and clear errors."""

from __future__ import annotations

import json
import os
import pickle
import shutil

import numpy as np
import pytest
from h2o_helpers import standin_finger_vertex_ids, standin_j_regressor, write_standin_mano
from handzoo_h2onet import assets

from handzoo.errors import AssetError
from handzoo.io.safe_pickle import safe_load


def test_missing_template_names_env_and_file(tmp_path, monkeypatch):
    monkeypatch.delenv(assets.TEMPLATE_ENV, raising=False)
    with pytest.raises(AssetError) as err:
        assets.find_template_dir()
    assert assets.TEMPLATE_ENV in str(err.value) and "transform.pkl" in str(err.value)
    with pytest.raises(AssetError, match="transform.pkl not found"):
        assets.find_template_dir(tmp_path)


def test_env_var_and_repo_root(tmp_path, template_dir, monkeypatch):
    sub = tmp_path / "model" / "modules" / "template"
    shutil.copytree(template_dir, sub)
    monkeypatch.setenv(assets.TEMPLATE_ENV, str(tmp_path))
    assert assets.find_template_dir() == sub


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_refuses_code_in_pickles(tmp_path):
    p = tmp_path / "transform.pkl"
    p.write_bytes(pickle.dumps({"vertices": _Evil()}))
    with pytest.raises(AssetError, match="refusing"):
        safe_load(p, "template")
    (tmp_path / "bad.pkl").write_bytes(b"not a pickle")
    with pytest.raises(AssetError):
        safe_load(tmp_path / "bad.pkl", "template")


def test_malformed_template(tmp_path):
    with open(tmp_path / "transform.pkl", "wb") as f:
        pickle.dump({"vertices": [np.zeros((3, 3))]}, f)
    with pytest.raises(AssetError, match="lacks the keys"):
        assets.load_mesh_hierarchy(tmp_path)


def test_finger_ids_from_seg_py(tmp_path, template_dir):
    root = tmp_path / "H2ONet_Pytorch"
    tpl = root / "model" / "modules" / "template"
    tpl.mkdir(parents=True)
    shutil.copy(template_dir / "transform.pkl", tpl)
    ids = standin_finger_vertex_ids()
    seg = root / "occ_label_preparation" / "seg.py"
    seg.parent.mkdir()
    body = "import os\nos.system('echo never run')\n" + "".join(f"{k}_verts_idx = {v}\n" for k, v in ids.items())
    seg.write_text(body)
    got = assets.load_finger_vertex_ids(tpl)
    assert [g.tolist() for g in got] == [ids[k] for k in assets.FINGERS]
    (tpl / "finger_vertex_ids.json").write_text(json.dumps({**ids, "ring": [9999]}))
    with pytest.raises(AssetError, match="ring"):
        assets.load_finger_vertex_ids(tpl)


def test_missing_finger_ids(tmp_path, template_dir):
    shutil.copy(template_dir / "transform.pkl", tmp_path)
    with pytest.raises(AssetError, match="seg.py"):
        assets.load_finger_vertex_ids(tmp_path)


def test_joint_regressor_from_standin_mano(tmp_path, monkeypatch, joint_regressor):
    write_standin_mano(tmp_path, standin_j_regressor())
    monkeypatch.setenv("HANDZOO_MANO_DIR", str(tmp_path))
    np.testing.assert_allclose(assets.mano_joint_regressor(), joint_regressor, atol=1e-7)
    monkeypatch.delenv("HANDZOO_MANO_DIR")
    with pytest.raises(AssetError, match="HANDZOO_MANO_DIR"):
        assets.mano_joint_regressor()
