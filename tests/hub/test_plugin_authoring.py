"""A third-party method, as a newcomer writes it from CONTRIBUTING.md: train, convert, load, bench, push.

On the open hand the plugin's own hand-model arrays (``hand.v_template``, ``hand.shapedirs``,
``hand.J_regressor``, ``hand.lbs_weights``) are ordinary weights: kept by ``handzoo convert``,
never flagged as MANO-derived, publishable. The same method built on MANO (stand-in files) has
those entries filled from the user's MANO file: ``handzoo push`` refuses them and
``handzoo convert`` asks for non-persistent buffers.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from palm_plugin import PalmNet
from safetensors.torch import load_file, save_file

import handzoo
from handzoo.errors import CheckpointError, WeightsError
from handzoo.hub.convert import convert_checkpoint
from handzoo.hub.mano_keys import mano_provenance
from handzoo.hub.push import push_weights
from handzoo.plugins import PluginManager
from handzoo.query import make_query

HAND_ARRAYS = ["hand.v_template", "hand.shapedirs", "hand.J_regressor", "hand.lbs_weights"]


@pytest.fixture
def palm(fresh_plugins) -> PluginManager:
    pm = PluginManager(autoload=False, extra=["palm_plugin"], entry_points=[])
    fresh_plugins(pm)
    return pm


@pytest.fixture
def mano_env(tmp_path, monkeypatch):
    from handzoo.testing import write_mano_standin

    folder = write_mano_standin(tmp_path / "mano")
    monkeypatch.setenv("HANDZOO_MANO_DIR", str(folder))
    return folder


def _train(model: PalmNet, steps: int = 3) -> PalmNet:
    """A few optimiser steps on synthetic open-hand renders, as an author's training loop would."""
    from handzoo.datasets import load_dataset

    ds = load_dataset("synthetic", split="val", n=4, image_size=64)
    samples = [ds[i] for i in range(len(ds))]
    batch, _ = model.preprocess(make_query([s.image for s in samples], [s.bbox for s in samples]))
    target = torch.as_tensor(np.stack([s.joints3d[0] - s.joints3d[0, :1] for s in samples]), dtype=torch.float32)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = (model(batch)["joints3d"] - target).square().mean()
        loss.backward()
        opt.step()
    return model.eval()


def test_open_hand_method_trains_converts_loads_benches_and_pushes(palm, tmp_path, standin_hub, capsys):
    from handzoo.bench import cli

    torch.manual_seed(0)
    model = _train(handzoo.load("palm-openhand", pretrained=False))
    assert set(HAND_ARRAYS) <= set(model.state_dict())
    assert mano_provenance(model).keys == []  # the open hand's arrays come from handzoo's own asset
    ckpt = tmp_path / "palm_epoch3.pth"
    torch.save({"epoch": 3, "state_dict": model.state_dict()}, ckpt)

    res = convert_checkpoint("palm-openhand", ckpt, out=tmp_path / "palm.safetensors")
    assert res.dropped_keys == [] and res.mano_derived_keys == [] and res.key_map_version == "palm-1"
    stored = load_file(str(res.out))
    for key in HAND_ARRAYS:
        assert torch.equal(stored[key], model.state_dict()[key]), key
    assert json.loads((tmp_path / "palm.json").read_text())["mano_derived_keys"] == []

    loaded = handzoo.load("palm-openhand")
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    img = np.zeros((48, 40, 3), np.uint8)
    out = loaded(img, boxes=[4, 4, 36, 44])
    assert out.joints3d.shape == (1, 1, 21, 3) and out.vertices.shape[-2:] == (1609, 3)

    args = ["--weights", f"palm-openhand={res.out}", "--datasets", "synthetic", "--limit", "2"]
    args += ["--workers", "0", "--batch-size", "2", "--json", "--no-progress", "--out", str(tmp_path / "bench")]
    assert cli.main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    (row,) = [r for r in doc["results"] if r["model"] == "palm-openhand"]
    assert row["weights_status"] == "local" and row["num_samples"] == 2
    assert row["weights_sha256"] == hashlib.sha256(res.out.read_bytes()).hexdigest()
    assert row["metrics"]["PA-MPJPE"] > 0

    pushed = push_weights("palm-openhand", "someone/palm", token="hf_test")  # the open hand's arrays may go
    assert standin_hub.files("someone/palm")["model.safetensors"] == res.path.read_bytes()
    assert pushed.sha256 == res.sha256


def test_mano_built_model_has_its_mano_arrays_refused(palm, mano_env, tmp_path, standin_hub):
    torch.manual_seed(0)
    model = handzoo.load("palm-mano", pretrained=False)
    prov = mano_provenance(model)
    assert set(HAND_ARRAYS) <= set(prov.from_file) and not prov.declared
    assert "params.weight" not in prov.keys

    trained = tmp_path / "palm-mano.safetensors"  # what a training run saves
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(trained))
    with pytest.raises(WeightsError, match="hold MANO-derived data") as exc:
        push_weights("palm-mano", "someone/palm-mano", weights=trained, token="hf_test")
    n = len([k for k in model.state_dict() if k.startswith("hand.")])
    assert f"{n} tensor(s)" in str(exc.value) and "hand.J_regressor" in str(exc.value)
    assert "params.weight" not in str(exc.value)
    assert standin_hub.requests == []

    ckpt = tmp_path / "palm-mano.pth"
    torch.save({"state_dict": model.state_dict()}, ckpt)
    with pytest.raises(CheckpointError, match="missing: hand") as exc:
        convert_checkpoint("palm-mano", ckpt)
    assert "persistent=False" in str(exc.value)


def test_mano_arrays_kept_out_of_the_weights_convert_load_and_push(palm, mano_env, tmp_path, standin_hub):
    torch.manual_seed(0)
    model = handzoo.load("palm-mano-lean", pretrained=False)
    assert not set(HAND_ARRAYS) & set(model.state_dict())
    ckpt = tmp_path / "lean.pth"
    torch.save({"state_dict": model.state_dict()}, ckpt)
    res = convert_checkpoint("palm-mano-lean", ckpt)
    assert res.mano_derived_keys == [] and res.dropped_keys == []
    loaded = handzoo.load("palm-mano-lean")
    assert torch.equal(loaded.hand.v_template, model.hand.v_template)  # rebuilt from the user's file
    push_weights("palm-mano-lean", "someone/lean", token="hf_test")
    assert "model.safetensors" in standin_hub.files("someone/lean")


def test_a_copy_of_a_mano_array_under_another_name_is_refused(palm, mano_env, tmp_path, standin_hub):
    model = handzoo.load("palm-mano-lean", pretrained=False)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    state["my_regressor"] = model.hand.J_regressor.clone()  # not a key of the model: found by value
    path = tmp_path / "copy.safetensors"
    save_file(state, str(path))
    with pytest.raises(WeightsError, match=r"MANO-derived data \(my_regressor\)"):
        push_weights("palm-mano-lean", "someone/copy", weights=path, token="hf_test")
    assert standin_hub.requests == []
