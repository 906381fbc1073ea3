"""ONNX export of a method's network (``Method.forward``) with an onnxruntime parity check.

The exported graph maps the tensors of ``Method.preprocess`` (e.g. ``img``: normalised crops) to
the tensors of ``Method.forward`` (the raw outputs), for a fixed batch size; pre- and
post-processing (cropping, decoding into the input camera) stay in Python.
"""

from __future__ import annotations

import contextlib
import io
import re
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from handzoo.errors import HandzooError

__all__ = ["ExportError", "example_batch", "export_onnx", "onnx_session"]


class ExportError(HandzooError):
    """A model cannot be exported to ONNX (or onnx/onnxruntime are missing)."""


_OP = re.compile(r"operator '?([A-Za-z_]+::[A-Za-z0-9_.]+)'?")


class _Graph(nn.Module):
    """``Method.forward`` on positional tensors, returning a tuple (what the exporter traces)."""

    def __init__(self, method: nn.Module, inputs: list[str], outputs: list[str]) -> None:
        super().__init__()
        self.method, self.inputs, self.outputs = method, inputs, outputs

    def forward(self, *xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        raw = self.method.forward(dict(zip(self.inputs, xs)))
        return tuple(raw[k] for k in self.outputs)


def example_batch(model: Any, batch_size: int = 1, image_size: int = 256) -> dict[str, torch.Tensor]:
    """The network input for ``batch_size`` hands: ``preprocess`` of a grey image with one centred box."""
    img = np.full((image_size, image_size, 3), 127, np.uint8)
    box = np.array([image_size * 0.2, image_size * 0.2, image_size * 0.8, image_size * 0.8])
    query = model.make_query([img] * batch_size, boxes=[box[None]] * batch_size)
    batch, _ = model.preprocess(query)
    bad = [k for k, v in batch.items() if not torch.is_tensor(v)]
    if bad:
        raise ExportError(
            f"{type(model).__name__}.preprocess returns non-tensor inputs {bad}",
            hint="only tensor inputs can be exported",
        )
    gen = torch.Generator().manual_seed(0)
    # random values of the real shapes: parity is checked away from the grey image's special case
    return {k: (torch.randn(v.shape, generator=gen).to(v) if v.is_floating_point() else v) for k, v in batch.items()}


def _require_onnx() -> Any:
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError:
        raise ExportError("ONNX export needs onnx and onnxruntime", hint="pip install 'handzoo[onnx]'") from None
    return onnxruntime


def onnx_session(path: str | Path, threads: int | None = None) -> Any:
    """An onnxruntime CPU session of an exported file."""
    ort = _require_onnx()
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def export_onnx(
    model: Any, path: str | Path, *, batch_size: int = 1, opset: int = 17, batch: dict[str, torch.Tensor] | None = None
) -> dict[str, Any]:
    """Export ``model.forward`` to ONNX and check onnxruntime against torch.

    Args:
        model: a loaded :class:`~handzoo.interfaces.Method`.
        path: the ``.onnx`` file to write.
        batch_size: the (fixed) number of hands of the exported graph.
        opset: ONNX opset.
        batch: network inputs to trace with (default :func:`example_batch`).

    Returns:
        ``{"path", "inputs", "outputs", "batch_size", "opset", "max_abs_diff", "max_abs_diff_per_output"}``.

    Raises:
        ExportError: naming the operator when the exporter does not support one, or when
            onnxruntime cannot run the exported file.
    """
    ort_mod = _require_onnx()
    model = model.eval()
    name = getattr(getattr(model, "card", None), "name", None) or type(model).__name__
    batch = batch if batch is not None else example_batch(model, batch_size)
    inputs = list(batch)
    with torch.inference_mode():
        ref = model.forward(batch)
    outputs = [k for k, v in ref.items() if torch.is_tensor(v)]
    graph = _Graph(model, inputs, outputs).eval()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    log = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                graph,
                tuple(batch[k] for k in inputs),
                str(p),
                input_names=inputs,
                output_names=outputs,
                opset_version=int(opset),
                dynamo=False,
            )
    except Exception as exc:  # noqa: BLE001 - every exporter failure becomes one ExportError
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        m = _OP.search(str(exc))
        if m:
            raise ExportError(
                f"{name} cannot export to ONNX: operator {m.group(1)} is not supported (opset {opset})",
                hint="try a higher --opset, or run this model with torch",
            ) from None
        raise ExportError(f"{name} cannot export to ONNX: {msg}", hint="run this model with torch") from None
    finally:
        graph.eval()
        model.eval()  # the exporter restores the wrapper's mode on every submodule
    try:
        sess = ort_mod.InferenceSession(str(p), providers=["CPUExecutionProvider"])
        got = sess.run(outputs, {k: batch[k].detach().cpu().numpy() for k in inputs})
    except Exception as exc:  # noqa: BLE001
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(
            f"onnxruntime cannot run the exported {name}: {first}", hint="run this model with torch"
        ) from None
    diffs = {
        k: float(np.abs(g.astype(np.float64) - ref[k].detach().double().cpu().numpy()).max()) if g.size else 0.0
        for k, g in zip(outputs, got)
    }
    return {
        "path": str(p),
        "model": name,
        "inputs": {k: list(batch[k].shape) for k in inputs},
        "outputs": outputs,
        "batch_size": int(next(iter(batch.values())).shape[0]) if batch else 0,
        "opset": int(opset),
        "max_abs_diff": max(diffs.values()) if diffs else 0.0,
        "max_abs_diff_per_output": diffs,
    }


def time_forward(fn: Any, repeats: int = 10, warmup: int = 2) -> float:
    """Median milliseconds of ``fn()`` over ``repeats`` runs."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1e3)
    return float(np.median(ts))
