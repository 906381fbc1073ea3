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
    assert out.is_file() and info["batch_size"] == 2
    assert 0.0 <= info["max_abs_diff"] <= 1e-4
    assert {"joints3d", "vertices", "cam"} <= set(info["outputs"])
    assert not model.training  # the exporter must not leave the model in training mode
    # the file runs on fresh inputs too and agrees with torch
    batch = example_batch(model, 2)
    batch = {k: v * 0.5 for k, v in batch.items()}
    got = onnx_session(out).run(["joints3d"], {k: v.numpy() for k, v in batch.items()})[0]
    with torch.inference_mode():
        ref = model.forward(batch)["joints3d"].numpy()
    assert abs(got - ref).max() <= 1e-4


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
