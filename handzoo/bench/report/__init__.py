"""Reports of a benchmark run: results.json, results.md, results.csv and report.html (+ PNG plots)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from handzoo.bench.report.document import build_document, load_schema, validate_document
from handzoo.bench.report.html import html_report
from handzoo.bench.report.pictures import per_joint_plot, sample_grid
from handzoo.bench.report.plots import accuracy_latency_plot, pck_plot
from handzoo.bench.report.tables import csv_report, group_results, markdown_report
from handzoo.errors import ConfigError

__all__ = ["write_report", "build_document", "check_cells", "load_schema", "validate_document", "REPORT_FILES"]

REPORT_FILES = {"json": "results.json", "markdown": "results.md", "csv": "results.csv", "html": "report.html"}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # as open() would create it (mkstemp makes it owner-only)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(run: Any, out: str | Path) -> dict[str, Any]:
    """Write every report file of ``run`` into ``out`` and return the results document.

    The document's ``files`` lists the written files relative to ``out`` (plus ``dir``, the
    absolute folder).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    doc = build_document(run)
    check_cells(doc)  # every cell valid before any file is touched
    plot_dir = out / "plots"
    plots: dict[str, Path] = {}
    datasets = getattr(run, "datasets", None) or {}
    for (dataset, _split, protocol), results in group_results(doc).items():
        p = pck_plot(dataset, protocol, results, plot_dir)
        if p is not None:
            plots[f"pck:{dataset}:{protocol}"] = p
        p = per_joint_plot(dataset, protocol, results, plot_dir)
        if p is not None:
            plots[f"joints:{dataset}:{protocol}"] = p
        for r in results:
            p = sample_grid(r, datasets.get(dataset), plot_dir)
            if p is not None:
                plots[f"samples:{r['model']}:{dataset}:{protocol}"] = p
    lat = accuracy_latency_plot(doc["results"], plot_dir)
    if lat is not None:
        plots["latency"] = lat
    doc["files"] = dict(REPORT_FILES)
    doc["files"]["plots"] = [str(p.relative_to(out)) for p in plots.values()]
    doc["files"]["dir"] = str(out.resolve())
    # render every report in memory first: a failure leaves all four files as they were
    try:
        texts = {
            "json": json.dumps(doc, indent=2, allow_nan=False) + "\n",
            "markdown": markdown_report(doc),
            "csv": csv_report(doc),
            "html": html_report(doc, plots),
        }
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"the results cannot be written as reports: {exc}", hint="re-run with --no-resume") from None
    for kind, text in texts.items():
        _write_atomic(out / REPORT_FILES[kind], text)
    return doc


def check_cells(doc: dict[str, Any]) -> None:
    """Check every ``results[]`` entry of a document against the results schema.

    Raises:
        ConfigError: naming the first bad cell (model, dataset, field).
    """
    import jsonschema

    schema = load_schema()
    validator = jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/result"})
    for entry in doc.get("results", []):
        errors = sorted(validator.iter_errors(entry), key=lambda e: [str(p) for p in e.path])
        if errors:
            e = errors[0]
            where = "/".join(str(p) for p in e.path) or "<root>"
            raise ConfigError(
                f"result of {entry.get('model')!s:.80} on {entry.get('dataset')!s:.80} is invalid at {where}: "
                f"{e.message[:160]}",
                hint="delete that cell under --out/cells or re-run with --no-resume",
            )
