"""Human tables of a run: Markdown (``results.md``) and CSV (``results.csv``).

Both are made from the ``results.json`` document, so every report shows the same numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections import OrderedDict
from typing import Any

__all__ = ["group_results", "headline", "format_value", "format_metric_cell", "markdown_report", "csv_report"]


def group_results(doc: dict[str, Any]) -> OrderedDict[tuple[str, str, str], list[dict[str, Any]]]:
    """Results grouped by (dataset, split, protocol), in document order."""
    groups: OrderedDict[tuple[str, str, str], list[dict[str, Any]]] = OrderedDict()
    for r in doc["results"]:
        groups.setdefault((r["dataset"], r["split"], r["protocol"]), []).append(r)
    return groups


# besides each protocol's headline, the main table shows the unaligned joint and vertex errors and
# the joint AUCs (normalised names: lower case, letters only)
_EXTRA_COLUMNS = ("mpjpe", "mpvpe", "paaucj", "aucj", "paauc", "auc")


def _normalised(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def headline(results: list[dict[str, Any]]) -> list[str]:
    """Metric columns for a group: the union of the cells' headline metrics, in order, then MPJPE,
    MPVPE and the joint AUCs when the cells have them and the headline does not."""
    cols: list[str] = []
    for r in results:
        for m in r["info"].get("headline") or list(r["metrics"]):
            if m not in cols:
                cols.append(m)
    for extra in _EXTRA_COLUMNS:
        for r in results:
            for m in r["metrics"]:
                if m not in cols and _normalised(m) == extra:
                    cols.append(m)
    return cols


def format_value(value: float | None, unit: str = "") -> str:
    """``12.3456, 'mm'`` -> ``'12.35'``; fractions with 3 decimals; None -> ``'-'``."""
    if value is None:
        return "-"
    if unit == "mm" or abs(value) >= 10:
        return f"{value:.2f}"
    return f"{value:.3f}"


def format_metric_cell(r: dict[str, Any], metric: str) -> str:
    """Our value, and the paper's with the delta when the card has one."""
    unit = r["units"].get(metric, "")
    ours = format_value(r["metrics"].get(metric), unit)
    paper = next((p for p in r.get("paper", []) if p["metric"] == metric and p["paper"] is not None), None)
    if paper is None:
        return ours
    delta = paper["delta"]
    d = "-" if delta is None else (f"{delta:+.2f}" if unit == "mm" else f"{delta:+.3f}")
    return f"{ours} (paper {format_value(paper['paper'], unit)}, Δ {d})"


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_report(doc: dict[str, Any]) -> str:
    """The ``results.md`` text."""
    env = doc["environment"]
    lines = [
        "# handzoo-bench results",
        "",
        f"handzoo {doc['handzoo_version']} · torch {env['torch_version']} · device {env['device']} "
        f"({env['device_name']}) · {env['machine']['cpu_count']} CPU cores · world size {env['world_size']} · "
        f"{doc['created']}",
        "",
        "Errors in mm (lower is better), AUC and F-scores as fractions (higher is better). Beside each number: "
        "the paper's value from the model card and the difference (ours − paper). Timings: model only "
        "(preprocess + network + postprocess), one warm-up batch excluded. Baselines need no weights.",
        "",
    ]
    s = doc["summary"]
    if not s["models_with_weights"] and not any(r["weights_status"] == "untrained" for r in doc["results"]):
        lines += [
            "> No model variant has weights available on this machine: only the baselines "
            f"({', '.join(s['baselines'])}) were evaluated. See *Skipped* for how to add models.",
            "",
        ]
    for (dataset, split, protocol), results in group_results(doc).items():
        cols = headline(results)
        units = {m: next((r["units"].get(m) for r in results if m in r["units"]), "") for m in cols}
        lines += [f"## {dataset} · split `{split}` · protocol `{protocol}`", ""]
        header = ["model", "kind", "samples"] + [f"{m} ({units[m]})" if units[m] else m for m in cols]
        header += ["images/s", "ms/image", "weights sha256"]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for r in results:
            t = r["timings"]
            row = [r["model"], r["kind"], str(r["num_samples"])]
            row += [format_metric_cell(r, m) for m in cols]
            row += [
                format_value(t["images_per_s"]) if t["images_per_s"] is not None else "-",
                f"{t['ms_per_image']:.3f}" if t["ms_per_image"] is not None else "-",
                "untrained" if r["weights_status"] == "untrained" else (r["weights_sha256"] or "—")[:12],
            ]
            lines.append("| " + " | ".join(_md_escape(c) for c in row) + " |")
        notes = [r["model"] for r in results if r["info"].get("root_from_gt") and r["kind"] == "model"]
        if notes:
            lines += ["", f"Root-relative models placed at the ground-truth root: {', '.join(notes)}."]
        untrained = [r["model"] for r in results if r["weights_status"] == "untrained"]
        if untrained:
            lines += ["", f"Untrained (random weights, a smoke run, not a result): {', '.join(untrained)}."]
        lines.append("")
    if doc["skipped"]:
        lines += ["## Skipped", "", "| model | dataset | reason | to enable |", "|---|---|---|---|"]
        for k in doc["skipped"]:
            cmd = f"`{k['command']}`" if k["command"] else ""
            lines.append(
                f"| {_md_escape(k['model'])} | {_md_escape(k['dataset'])} | {_md_escape(k['reason'])} | {_md_escape(cmd)} |"
            )
        lines.append("")
    lines += [
        f"Cells evaluated: {s['cells_evaluated']}, reused from cache: {s['cells_cached']}, skipped: "
        f"{s['cells_skipped']}; wall time {s['wall_s']:.1f} s.",
        "",
    ]
    return "\n".join(lines)


CSV_COLUMNS = (
    "model",
    "kind",
    "dataset",
    "split",
    "protocol",
    "metric",
    "value",
    "unit",
    "paper",
    "delta",
    "num_samples",
    "images_per_s",
    "ms_per_image",
    "weights_sha256",
    "handzoo_version",
    "device",
)


def csv_report(doc: dict[str, Any]) -> str:
    """The ``results.csv`` text: one row per (cell, metric)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in doc["results"]:
        papers = {p["metric"]: p for p in r.get("paper", [])}
        for metric, value in r["metrics"].items():
            p = papers.get(metric, {})
            w.writerow(
                {
                    "model": r["model"],
                    "kind": r["kind"],
                    "dataset": r["dataset"],
                    "split": r["split"],
                    "protocol": r["protocol"],
                    "metric": metric,
                    "value": "" if value is None else repr(float(value)),
                    "unit": r["units"].get(metric, ""),
                    "paper": "" if p.get("paper") is None else repr(float(p["paper"])),
                    "delta": "" if p.get("delta") is None else repr(float(p["delta"])),
                    "num_samples": r["num_samples"],
                    "images_per_s": ""
                    if r["timings"]["images_per_s"] is None
                    else f"{r['timings']['images_per_s']:.6g}",
                    "ms_per_image": ""
                    if r["timings"]["ms_per_image"] is None
                    else f"{r['timings']['ms_per_image']:.6g}",
                    "weights_sha256": r["weights_sha256"] or "",
                    "handzoo_version": r["environment"]["handzoo_version"],
                    "device": r["environment"]["device"],
                }
            )
    return buf.getvalue()
