"""``report.html``: one self-contained page (inline CSS, PNG plots embedded as base64).

It opens from disk in any browser with no server and no network access.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from handzoo.bench.report.tables import format_metric_cell, format_value, group_results, headline

__all__ = ["html_report"]

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1200px;color:#1d2330;
padding:0 16px;line-height:1.4}
h1{font-size:26px;margin-bottom:4px}h2{font-size:19px;margin-top:28px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
.meta{color:#5a6475;font-size:13px}
table{border-collapse:collapse;margin:10px 0;font-size:13px;width:100%}
th,td{border:1px solid #dde2ea;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f9}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.baseline td{color:#5a6475;font-style:italic}
.note{background:#fff8e1;border-left:4px solid #f5b700;padding:8px 12px;margin:12px 0;font-size:14px}
code{background:#f3f5f9;padding:1px 4px;border-radius:3px;font-size:12px}
img{max-width:100%;border:1px solid #dde2ea;margin:8px 0}
h3{font-size:16px;margin:18px 0 4px}
.grids{display:flex;flex-wrap:wrap;gap:10px}.grids img{max-width:49%}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    mime = "image/jpeg" if path.suffix.lower() in (".jpg", ".jpeg") else "image/png"
    return f'<img alt="{_e(path.stem)}" src="data:{mime};base64,{data}">'


def html_report(doc: dict[str, Any], plots: dict[str, Path]) -> str:
    """The page for a results document.

    Args:
        doc: the ``results.json`` document.
        plots: plot key -> PNG path; keys ``pck:<dataset>:<protocol>``, ``joints:<dataset>:<protocol>``,
            ``samples:<model>:<dataset>:<protocol>`` and ``latency``.
    """
    env = doc["environment"]
    s = doc["summary"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>handzoo-bench report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>handzoo-bench report</h1>",
        f"<p class='meta'>handzoo {_e(doc['handzoo_version'])} · torch {_e(env['torch_version'])} · "
        f"device {_e(env['device'])} ({_e(env['device_name'])}) · {env['machine']['cpu_count']} CPU cores · "
        f"world size {env['world_size']} · {_e(doc['created'])}</p>",
        f"<p class='meta'>cells evaluated {s['cells_evaluated']}, from cache {s['cells_cached']}, "
        f"skipped {s['cells_skipped']} · wall time {s['wall_s']:.1f} s</p>",
        "<p>Errors in mm (lower is better); AUC and F-scores as fractions (higher is better). Beside each number: "
        "the paper's value from the model card and the difference (ours − paper). Timings are model only, one "
        "warm-up batch excluded. Baselines (italic) need no weights.</p>",
    ]
    if not s["models_with_weights"] and not any(r["weights_status"] == "untrained" for r in doc["results"]):
        parts.append(
            "<div class='note'>No model variant has weights available on this machine: only the baselines "
            f"({_e(', '.join(s['baselines']))}) were evaluated. The <i>Skipped</i> table says how to add models."
            "</div>"
        )
    for (dataset, split, protocol), results in group_results(doc).items():
        cols = headline(results)
        units = {m: next((r["units"].get(m) for r in results if m in r["units"]), "") for m in cols}
        parts.append(f"<h2>{_e(dataset)} · split <code>{_e(split)}</code> · protocol <code>{_e(protocol)}</code></h2>")
        head = ["model", "samples"] + [f"{m} ({units[m]})" if units[m] else m for m in cols]
        head += ["images/s", "ms/image", "weights"]
        parts.append("<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>")
        for r in results:
            t = r["timings"]
            cells = [f"<td>{_e(r['model'])}</td>", f"<td class='num'>{r['num_samples']}</td>"]
            cells += [f"<td class='num'>{_e(format_metric_cell(r, m))}</td>" for m in cols]
            ips = format_value(t["images_per_s"]) if t["images_per_s"] is not None else "-"
            ms = f"{t['ms_per_image']:.3f}" if t["ms_per_image"] is not None else "-"
            cells += [f"<td class='num'>{ips}</td>", f"<td class='num'>{ms}</td>"]
            weights = "untrained" if r["weights_status"] == "untrained" else (r["weights_sha256"] or "none")[:12]
            cells.append(f"<td><code>{_e(weights)}</code></td>")
            parts.append(f"<tr class='{_e(r['kind'])}'>" + "".join(cells) + "</tr>")
        parts.append("</table>")
        plot = plots.get(f"pck:{dataset}:{protocol}")
        if plot is not None:
            parts.append(_img(plot))
        plot = plots.get(f"joints:{dataset}:{protocol}")
        if plot is not None:
            parts.append(
                "<h3>Error per joint and per finger</h3><p class='meta'>PA-MPJPE of each joint (FreiHAND's "
                "Procrustes alignment per hand, mean over the hands where the joint is annotated).</p>"
            )
            parts.append(_img(plot))
        grids = [(r, plots.get(f"samples:{r['model']}:{dataset}:{protocol}")) for r in results]
        grids = [(r, g) for r, g in grids if g is not None]
        if grids:
            parts.append(
                "<h3>Sample hands</h3><p class='meta'>Per model: the hands with the lowest, the median and the "
                "highest PA-MPJPE (after alignment); ground truth in green, the prediction (dashed) in red as the model "
                "placed it (root-relative models at the ground-truth root), projected with the sample's camera. "
                "Without the dataset's image a tile shows both skeletons root-centred.</p>"
            )
            parts.append("<div class='grids'>" + "".join(_img(g) for _, g in grids) + "</div>")
    parts.append("<h2>Accuracy vs latency</h2>")
    if "latency" in plots:
        parts.append(_img(plots["latency"]))
    else:
        parts.append(
            "<p class='note'>Not drawn: no model cell has a timing in this run (baselines process no images, "
            "so they have no latency). Evaluate a model with weights to see it.</p>"
        )
    if doc["skipped"]:
        parts.append("<h2>Skipped</h2><table><tr><th>model</th><th>dataset</th><th>reason</th><th>to enable</th></tr>")
        for k in doc["skipped"]:
            cmd = f"<code>{_e(k['command'])}</code>" if k["command"] else ""
            parts.append(
                f"<tr><td>{_e(k['model'])}</td><td>{_e(k['dataset'])}</td><td>{_e(k['reason'])}</td><td>{cmd}</td></tr>"
            )
        parts.append("</table>")
    m = env["machine"]
    parts.append(
        f"<h2>Environment</h2><p class='meta'>{_e(m['platform'])} · {_e(m['cpu'])} · {m['cpu_count']} cores · "
        f"torch threads {m['torch_threads']} · python {_e(env['python_version'])}</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)
