"""End to end through the hub: convert the authors' checkpoint file, load offline, run."""

from __future__ import annotations

import subprocess
import sys

import h4w_testutils as tu
import numpy as np
import torch
from handzoo_hand4whole.convert import convert_state_dict, to_authors_state_dict


def _write_checkpoint(path, authors_state: dict, layout: str) -> None:
    network = to_authors_state_dict(convert_state_dict(authors_state), layout)
    network = {"module." + k: v for k, v in network.items()}
    network["module.mano_layer.v_template"] = torch.zeros(778, 3)  # MANO arrays some snapshots embed
    torch.save({"epoch": 12, "network": network, "optimizer": {"state": {}, "param_groups": []}}, path)


def test_convert_then_load_offline_with_mano(tmp_path, monkeypatch, mano_dir, authors_state, parity) -> None:
    from handzoo.hub.convert import convert_checkpoint
    from handzoo.hub.load import load

    monkeypatch.setenv("HANDZOO_MANO_DIR", str(mano_dir))
    ckpt = tmp_path / "snapshot_12_hand.pth.tar"
    _write_checkpoint(ckpt, authors_state, "older")
    result = convert_checkpoint("hand4whole-hand", ckpt)
    assert result.key_map_version == "1"
    assert "mano_layer.v_template" in result.dropped_keys
    assert result.num_tensors == 335 and not result.mano_derived_keys

    model = load("hand4whole-hand", hand_model="mano")
    out = model(tu.seeded_image(), boxes=[tu.PIPELINE_BOXES], sides=[list(tu.PIPELINE_SIDES)])
    np.testing.assert_allclose(out.vertices[0].numpy(), parity["pipe_mesh_unflipped"], rtol=0, atol=1e-4)


def test_openhand_untrained_runs_without_mano(monkeypatch, tmp_path) -> None:
    from handzoo.hub.load import load

    monkeypatch.setenv("HANDZOO_MANO_DIR", str(tmp_path / "nothing-here"))
    model = load("hand4whole-hand", hand_model="openhand", pretrained=False)
    out = model(tu.seeded_image(), boxes=[[60, 40, 150, 120]])
    assert out.vertices.shape == (1, 1, 1609, 3)
    assert torch.isfinite(out.joints3d).all()


def test_plugin_entry_point_is_light() -> None:
    code = "import sys, handzoo_hand4whole as p; p.handzoo_model_cards(); p.handzoo_converters(); print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"
