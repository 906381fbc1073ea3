"""``handzoo export NAME --format onnx``: onnxruntime parity, and a clear error naming the operator."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import handzoo
from handzoo import cli
from handzoo.interfaces import Method
from handzoo.predict.export_onnx import ExportError, example_batch, export_onnx, onnx_session


@pytest.fixture(scope="module")
def model():
    return handzoo.load("compact-openhand").eval()


def test_export_cli_parity(tmp_path, monkeypatch, capsys, model) -> None:
    monkeypatch.setattr(handzoo, "load", lambda name, **kw: model)
    out = tmp_path / "m.onnx"
    assert (
        cli.main(["export", "compact-openhand", "--format", "onnx", "--out", str(out), "--batch-size", "2", "--json"])
        == 0
    )
    info = json.loads(capsys.readouterr().out)
    assert out.is_file() and info["batch_size"] == 2 and info["dynamic_batch"]
    assert 0.0 <= info["max_abs_diff"] <= 1e-4
    assert set(info["max_abs_diff_per_batch_size"]) == {"1", "2", "3"}
    assert {"joints3d", "vertices", "cam"} <= set(info["outputs"])
    assert not model.training  # the exporter must not leave the model in training mode
    # the file runs on fresh inputs of other batch sizes too (dynamic batch axis) and agrees with torch
    sess = onnx_session(out)
    assert sess.get_inputs()[0].shape[0] == "batch"
    for b in (1, 3):
        batch = {k: v * 0.5 for k, v in example_batch(model, b).items()}
        got = sess.run(["joints3d"], {k: v.numpy() for k, v in batch.items()})[0]
        with torch.inference_mode():
            ref = model.forward(batch)["joints3d"].numpy()
        assert got.shape[0] == b and abs(got - ref).max() <= 1e-4


def test_fixed_batch_graph(tmp_path, model) -> None:
    with torch.inference_mode():  # a caller in inference mode (the exporter traces with autograd on)
        info = export_onnx(model, tmp_path / "f.onnx", batch_size=2, dynamic=False, check_batch_sizes=(3,))
    assert not info["dynamic_batch"] and set(info["max_abs_diff_per_batch_size"]) == {"2"}
    assert onnx_session(tmp_path / "f.onnx").get_inputs()[0].shape[0] == 2


class _Eigh(Method):
    """A method whose network uses an operator the ONNX exporter lacks."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def preprocess(self, query):  # pragma: no cover - export is given its batch
        raise NotImplementedError

    def forward(self, batch):
        x = self.lin(batch["x"])
        return {"ev": torch.linalg.eigh(x @ x.transpose(-1, -2))[0]}

    def postprocess(self, raw, meta):  # pragma: no cover
        raise NotImplementedError


def test_unexportable_model_names_the_operator(tmp_path) -> None:
    with pytest.raises(ExportError, match=r"operator aten::linalg_eigh is not supported"):
        export_onnx(_Eigh(), tmp_path / "e.onnx", batch={"x": torch.randn(1, 3, 3)})
