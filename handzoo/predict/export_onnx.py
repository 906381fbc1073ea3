"""ONNX export of a method's network (``Method.forward``) with an onnxruntime parity check.

The exported graph maps the tensors of ``Method.preprocess`` (e.g. ``img``: normalised crops) to
the tensors of ``Method.forward`` (the raw outputs); pre- and post-processing (cropping, decoding
into the input camera) stay in Python. Its first axis is dynamic: every input's axis 0 is
``batch`` (hands, or frame triples of a multi-frame method: inputs ``img_0`` / ``img_1`` /
``img_2`` for frames t, t-short, t-long), and an output's axis 0 is ``batch`` when it has one row
per sample, else its own name (e.g. H2ONet-MF's per-frame outputs with 3 x batch rows).
"""

from __future__ import annotations

import contextlib
import io
import re
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
    """The network input for ``batch_size`` samples: ``preprocess`` of a grey image with one centred box.

    A multi-frame method (``model.multi_frame``, e.g. H2ONet-MF) gets ``batch_size`` triples of
    that frame (t, t-short, t-long), one box per frame. A method that asks for 2D joints (e.g.
    3dhand-rgb2d's heatmap input) gets 21 points spread over the box.
    """
    from handzoo.errors import InputError

    img = np.full((image_size, image_size, 3), 127, np.uint8)
    box = np.array([image_size * 0.2, image_size * 0.2, image_size * 0.8, image_size * 0.8])
    t = np.linspace(0.0, 1.0, 21)[:, None]
    joints = box[:2] + t * (box[2:] - box[:2])  # (21, 2) on the box's diagonal
    multi = getattr(model, "multi_frame", False)

    def query(with_joints: bool) -> Any:
        if multi:
            j = np.tile(joints, (batch_size, 3, 1, 1)) if with_joints else None
            return model.make_query([[img] * 3] * batch_size, boxes=np.tile(box, (batch_size, 3, 1)), joints2d=j)
        j = [joints[None]] * batch_size if with_joints else None
        return model.make_query([img] * batch_size, boxes=[box[None]] * batch_size, joints2d=j)

    try:
        batch, _ = model.preprocess(query(False))
    except InputError as exc:
        if "2D joints" not in str(exc) and "joints2d" not in str(exc):
            raise
        batch, _ = model.preprocess(query(True))
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


def _dynamic_axes(
    batch: dict[str, torch.Tensor], ref: dict[str, torch.Tensor], outputs: list[str]
) -> dict[str, dict[int, str]]:
    """Axis 0 of every input is ``batch``; of an output, ``batch`` when it has one row per sample."""
    b = int(next(iter(batch.values())).shape[0])
    axes: dict[str, dict[int, str]] = {k: {0: "batch"} for k, v in batch.items() if v.dim() >= 1}
    for k in outputs:
        if ref[k].dim() >= 1:
            axes[k] = {0: "batch" if int(ref[k].shape[0]) == b else f"{k}_rows"}
    return axes


def _max_diffs(
    sess: Any, batch: dict[str, torch.Tensor], ref: dict[str, torch.Tensor], outputs: list[str]
) -> dict[str, float]:
    got = sess.run(outputs, {k: v.detach().cpu().numpy() for k, v in batch.items()})
    diffs = {}
    for k, g in zip(outputs, got):
        r = ref[k].detach().double().cpu().numpy()
        if g.shape != r.shape:
            raise ExportError(
                f"the exported graph gives {k} of shape {list(g.shape)}, torch {list(r.shape)}",
                hint="the network has a batch-size dependent shape; export with dynamic=False",
            )
        diffs[k] = float(np.abs(g.astype(np.float64) - r).max()) if g.size else 0.0
    return diffs


def export_onnx(
    model: Any,
    path: str | Path,
    *,
    batch_size: int = 1,
    opset: int = 17,
    batch: dict[str, torch.Tensor] | None = None,
    dynamic: bool = True,
    check_batch_sizes: tuple[int, ...] | list[int] = (),
) -> dict[str, Any]:
    """Export ``model.forward`` to ONNX and check onnxruntime against torch.

    Args:
        model: a loaded :class:`~handzoo.interfaces.Method`.
        path: the ``.onnx`` file to write.
        batch_size: samples of the traced (and first checked) batch.
        opset: ONNX opset.
        batch: network inputs to trace with (default :func:`example_batch`).
        dynamic: a dynamic batch axis (else the graph only takes the traced batch size).
        check_batch_sizes: further batch sizes (fresh :func:`example_batch` inputs) whose
            onnxruntime outputs are compared with torch (needs ``dynamic``).

    Returns:
        ``{"path", "inputs", "outputs", "batch_size", "dynamic_batch", "opset", "max_abs_diff",
        "max_abs_diff_per_output", "max_abs_diff_per_batch_size"}``; ``max_abs_diff`` is the
        largest over every output and checked batch size.

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
    axes = _dynamic_axes(batch, ref, outputs) if dynamic else None
    graph = _Graph(model, inputs, outputs).eval()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    log = io.StringIO()
    try:
        # traced with autograd on: methods with a CPU inference plan (folded BatchNorm, oneDNN
        # calls, used only without autograd) export their plain modules, standard ONNX operators
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(log),
            contextlib.redirect_stderr(log),
            torch.inference_mode(False),
            torch.enable_grad(),
        ):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                graph,
                tuple(batch[k].clone() for k in inputs),  # ordinary tensors, even if made in inference mode
                str(p),
                input_names=inputs,
                output_names=outputs,
                opset_version=int(opset),
                dynamic_axes=axes,
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
    b0 = int(next(iter(batch.values())).shape[0]) if batch else 0
    try:
        sess = ort_mod.InferenceSession(str(p), providers=["CPUExecutionProvider"])
        diffs = _max_diffs(sess, batch, ref, outputs)
        per_batch = {str(b0): max(diffs.values()) if diffs else 0.0}
        for n in check_batch_sizes if dynamic else ():
            if int(n) == b0:
                continue
            more = example_batch(model, int(n))
            with torch.inference_mode():
                ref_n = model.forward(more)
            d = _max_diffs(sess, more, ref_n, outputs)
            per_batch[str(int(n))] = max(d.values()) if d else 0.0
            diffs = {k: max(diffs[k], d[k]) for k in outputs}
    except ExportError:
        raise
    except Exception as exc:  # noqa: BLE001
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(
            f"onnxruntime cannot run the exported {name}: {first}", hint="run this model with torch"
        ) from None
    return {
        "path": str(p),
        "model": name,
        "inputs": {k: list(batch[k].shape) for k in inputs},
        "outputs": outputs,
        "batch_size": b0,
        "dynamic_batch": bool(dynamic),
        "opset": int(opset),
        "max_abs_diff": max(diffs.values()) if diffs else 0.0,
        "max_abs_diff_per_output": diffs,
        "max_abs_diff_per_batch_size": per_batch,
    }
