"""`handzoo convert h2onet-dexycb <authors' checkpoint>` then `handzoo.load` works offline."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from h2o_helpers import FIXTURES, golden_authors_state, standin_j_regressor, write_standin_mano

from handzoo.errors import WeightsError


def test_convert_then_load(tmp_path, monkeypatch, template_dir, mf_model):
    from handzoo.hub.convert import convert_checkpoint
    from handzoo.hub.load import load  # handzoo.load once the core re-exports it
    from handzoo.hub.push import push_weights

    mano = write_standin_mano(tmp_path / "mano", standin_j_regressor()).parent
    monkeypatch.setenv("HANDZOO_MANO_DIR", str(mano))
    monkeypatch.setenv("HANDZOO_H2ONET_TEMPLATE_DIR", str(template_dir))
    # a checkpoint in the authors' layout: DataParallel prefix, manopth buffers, trainer state
    authors = golden_authors_state(mf_model)
    authors["mano_layer.th_shapedirs"] = torch.rand(778, 3, 10)
    ckpt = tmp_path / "dexycb_h2onet_mf.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in authors.items()}, "epoch": 25, "step": 1}, ckpt)

    with warnings.catch_warnings():
        # while the hub drops mano_joint_reg before the converter, it is rebuilt (same values here)
        warnings.filterwarnings("ignore", "the H2ONet checkpoint has no mano_joint_reg", UserWarning)
        result = convert_checkpoint("h2onet-dexycb", ckpt)
    assert result.path.is_file()
    assert "joint_regressor" in result.mano_derived_keys and "mano_layer.th_shapedirs" in result.dropped_keys
    with pytest.raises(WeightsError, match="MANO-derived"):
        push_weights("h2onet-dexycb", "someone/h2onet-dexycb")

    model = load("h2onet-dexycb")
    torch.testing.assert_close(model.joint_regressor.detach(), authors["mano_joint_reg"], rtol=0, atol=0)
    golden = np.load(FIXTURES / "golden_mf.npz")
    # the first sample only: its three frames are rows 0, 2, 4 of the golden (frames stacked)
    batch = {n: torch.from_numpy(golden[f"in_{n}"][:1].astype(np.float32)) / 255.0 for n in ("img_0", "img_1", "img_2")}
    with torch.inference_mode():
        out = model(batch)
    np.testing.assert_allclose(out["pred_verts3d_w_gr"].numpy(), golden["out_pred_verts3d_w_gr"][::2], atol=1e-4)
