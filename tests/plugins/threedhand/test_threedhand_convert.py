"""The authors' checkpoints: legacy PyTorch 0.3 / Python 2 files, key map, round trips, refusals."""

from __future__ import annotations

import pickle

import pytest
import torch
from handzoo_3dhand.convert import STEMS, convert_state_dict, read_legacy_checkpoint, to_authors_state_dict
from legacy_format import write_legacy_checkpoint

from handzoo.errors import CheckpointError


def test_weights_only_torch_load_reads_the_legacy_py2_format(tmp_path, authors_state) -> None:
    path = write_legacy_checkpoint(tmp_path / "model-0.pth", authors_state)
    raw = path.read_bytes()
    assert not raw.startswith(b"PK")  # not the zip format
    assert b"_rebuild_tensor\n" in raw and b"U\x06cuda:0" in raw  # 0.3 tensors, Python 2 strings
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    assert len(loaded) == 219 - 36  # 36 BatchNorms, no num_batches_tracked before PyTorch 0.4.1
    assert all(k.startswith("module.") for k in loaded)
    assert torch.equal(loaded["module.fc.weight"], authors_state["fc.weight"])


@pytest.mark.parametrize("variant", ["3dhand-rgb", "3dhand-rgb2d"])
def test_legacy_file_converts_and_loads(tmp_path, authors_state, mano_dir, variant) -> None:
    from handzoo_3dhand.model import ThreeDHand

    path = write_legacy_checkpoint(tmp_path / "model.pth", authors_state)
    state = read_legacy_checkpoint(path)
    with pytest.warns(UserWarning, match="stem"):
        converted = convert_state_dict(state, variant)
    model = ThreeDHand(hand_model="mano", mano_dir=mano_dir, with_heatmaps=variant.endswith("2d"))
    model.load_state_dict(converted, strict=True)
    use = STEMS[variant][0]
    assert torch.equal(model.backbone.conv1.weight, authors_state[f"{use}.weight"])
    assert torch.equal(model.head.fc.bias, authors_state["fc.bias"])


def test_round_trip(authors_state) -> None:
    for variant, (_use, drop) in STEMS.items():
        with pytest.warns(UserWarning):
            ours = convert_state_dict(authors_state, variant)
        back = to_authors_state_dict(ours, variant)
        assert set(back) == set(authors_state) - {f"{drop}.weight"}
        assert all(torch.equal(back[k], authors_state[k]) for k in back)


def test_refusals(authors_state) -> None:
    with pytest.raises(CheckpointError, match="unexpected keys"):
        convert_state_dict({**authors_state, "decoder.weight": torch.zeros(1)}, "3dhand-rgb")
    partial = {k: v for k, v in authors_state.items() if not k.startswith("layer4.2")}
    with pytest.raises(CheckpointError, match="missing"), pytest.warns(UserWarning):
        convert_state_dict(partial, "3dhand-rgb")
    bad = dict(authors_state)
    bad["fc.weight"] = torch.zeros(45, 512)
    with pytest.raises(CheckpointError, match="wrong shapes"), pytest.warns(UserWarning):
        convert_state_dict(bad, "3dhand-rgb")
    with pytest.raises(CheckpointError, match="no 3D-hand key map"):
        convert_state_dict(authors_state, "3dhand-depth")


def test_code_executing_pickle_is_refused(tmp_path) -> None:
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"fc.weight": Evil()}, f, protocol=2)
    with pytest.raises(CheckpointError):
        read_legacy_checkpoint(path)
    with pytest.raises(CheckpointError):
        read_legacy_checkpoint(tmp_path / "absent.pth")


def test_hub_converts_a_legacy_file_then_loads_offline(tmp_path, monkeypatch, authors_state, mano_dir) -> None:
    """``handzoo convert 3dhand-rgb model-0.pth`` then ``handzoo.load`` reproduce the authors' pipeline."""
    import numpy as np
    import tdh_testutils as tu
    from tdh_testutils import load_fixture

    from handzoo.hub.convert import convert_checkpoint
    from handzoo.hub.load import load

    monkeypatch.setenv("HANDZOO_MANO_DIR", str(mano_dir))
    path = write_legacy_checkpoint(tmp_path / "model-0.pth", authors_state)
    with pytest.warns(UserWarning, match="conv11"):
        result = convert_checkpoint("3dhand-rgb", path)
    assert result.key_map_version == "1" and result.num_tensors == 219 - 1
    model = load("3dhand-rgb", hand_model="mano")
    out = model(tu.seeded_image(), joints2d=tu.seeded_joints2d())
    gold = load_fixture("pipeline_option0.npz")
    wrist = gold["x3d_f32"][0, 0]  # the authors' joint 0; handzoo's output is wrist-relative without K
    np.testing.assert_allclose(out.vertices[0, 0].numpy(), gold["x3d_f32"][0, 21:] - wrist, rtol=0, atol=1e-5)
