"""Write a protocol result to disk: ``scores.txt`` (official keys/format), ``scores.json``, ``pck.png``."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from handzoo.errors import ConfigError
from handzoo.protocols.base import Protocol, ProtocolResult

__all__ = ["write_outputs", "plot_curves", "result_payload"]


def result_payload(result: ProtocolResult, protocol: Protocol, inputs: dict[str, str] | None = None) -> dict[str, Any]:
    """The ``scores.json`` content: the result, the protocol statement and the inputs."""
    from handzoo._version import __version__

    body = result.to_dict()
    body.pop("protocol")  # replaced by the full statement
    return {"handzoo_version": __version__, "protocol": protocol.describe(), "inputs": inputs or {}, **body}


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def plot_curves(curves: dict[str, dict[str, list[float]]], path: Path, title: str) -> None:
    """Draw the PCK curves (PCK vs threshold in mm) into a PNG with matplotlib's Agg backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    for name, c in curves.items():
        if all(v < 0 for v in c["values"]):
            continue  # the official placeholder of a curve that was not computed (non-MANO mesh)
        ax.plot(c["thresholds_mm"], c["values"], label=name)
    ax.set_xlabel("threshold (mm)")
    ax.set_ylabel("PCK (fraction of points within the threshold)")
    ax.set_ylim(0.0, 1.0)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    fig.savefig(path, format="png")


def write_outputs(
    result: ProtocolResult,
    protocol: Protocol,
    out_dir: str | Path,
    inputs: dict[str, str] | None = None,
    plot: bool = True,
) -> dict[str, Path]:
    """Write ``scores.txt``, ``scores.json`` and (when there are curves) ``pck.png`` into ``out_dir``.

    Returns:
        name -> written path.

    Raises:
        ConfigError: when ``out_dir`` cannot be created or written.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = {"scores.txt": out / "scores.txt", "scores.json": out / "scores.json"}
        _atomic_write(written["scores.txt"], result.scores_txt().encode())
        payload = result_payload(result, protocol, inputs)
        text = json.dumps(payload, indent=2, allow_nan=False, default=_json_default)
        _atomic_write(written["scores.json"], (text + "\n").encode())
        if plot and result.curves:
            written["pck.png"] = out / "pck.png"
            plot_curves(result.curves, written["pck.png"], f"{protocol.title}: PCK curves")
    except OSError as exc:
        raise ConfigError(f"cannot write the scores to {out}: {exc}", hint="pass a writable --out directory") from None
    return written


def _json_default(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if hasattr(x, "tolist"):
        return x.tolist()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")
