"""Reports of a benchmark run: results.json, results.md, results.csv and report.html (+ PNG plots)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from handzoo.bench.report.document import build_document, load_schema, validate_document
from handzoo.bench.report.html import html_report
from handzoo.bench.report.plots import accuracy_latency_plot, pck_plot
from handzoo.bench.report.tables import csv_report, group_results, markdown_report

__all__ = ["write_report", "build_document", "load_schema", "validate_document", "REPORT_FILES"]

REPORT_FILES = {"json": "results.json", "markdown": "results.md", "csv": "results.csv", "html": "report.html"}


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
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
    plot_dir = out / "plots"
    plots: dict[str, Path] = {}
    for (dataset, _split, protocol), results in group_results(doc).items():
        p = pck_plot(dataset, protocol, results, plot_dir)
        if p is not None:
            plots[f"pck:{dataset}:{protocol}"] = p
    lat = accuracy_latency_plot(doc["results"], plot_dir)
    if lat is not None:
        plots["latency"] = lat
    doc["files"] = dict(REPORT_FILES)
    doc["files"]["plots"] = [str(p.relative_to(out)) for p in plots.values()]
    doc["files"]["dir"] = str(out.resolve())
    _write_atomic(out / REPORT_FILES["json"], json.dumps(doc, indent=2, allow_nan=False) + "\n")
    _write_atomic(out / REPORT_FILES["markdown"], markdown_report(doc))
    _write_atomic(out / REPORT_FILES["csv"], csv_report(doc))
    _write_atomic(out / REPORT_FILES["html"], html_report(doc, plots))
    return doc
