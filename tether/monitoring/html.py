"""The HTML page of a DriftReport: one file, plots drawn as inline SVG, no script, no network."""

from __future__ import annotations

import html
from itertools import pairwise
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.monitoring.report import ColumnResult, DriftReport

REF, CUR = "#4c78a8", "#f58518"
W, H, PAD = 420, 160, 24

STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px}
th{background:#f4f4f4}tr.drift td{background:#fde8e8}.plots{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;border:1px solid #eee;padding:8px}figcaption{font-size:13px;font-weight:600}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
"""


def _fmt(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.4g}"
    return html.escape(str(x))


def _bars(ref: list[float], cur: list[float], labels: list[str]) -> str:
    """Paired bars, reference and current, for each bin or category."""
    n = max(len(ref), 1)
    top = max([*ref, *cur, 1e-12])
    slot = (W - 2 * PAD) / n
    bw = max(slot / 2 - 0.5, 0.5)
    parts = []
    for i, (r, c) in enumerate(zip(ref, cur, strict=True)):
        x = PAD + i * slot
        for j, (v, color) in enumerate(((r, REF), (c, CUR))):
            h = (H - 2 * PAD) * v / top
            parts.append(
                f'<rect x="{x + j * bw:.2f}" y="{H - PAD - h:.2f}" width="{bw:.2f}" '
                f'height="{h:.2f}" fill="{color}"><title>{html.escape(labels[i])}: '
                f"{'reference' if j == 0 else 'current'} {v:.2%}</title></rect>"
            )
    axis = f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#888"/>'
    ends = ""
    if labels:
        ends = (
            f'<text x="{PAD}" y="{H - 6}" font-size="10">{html.escape(labels[0])}</text>'
            f'<text x="{W - PAD}" y="{H - 6}" font-size="10" text-anchor="end">'
            f"{html.escape(labels[-1])}</text>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img">{axis}{"".join(parts)}{ends}</svg>'
    )


def plot_svg(c: ColumnResult) -> str:
    p = c.plot or {}
    if p.get("type") == "numeric":
        edges = p["edges"]
        ref, cur = list(p["reference"]), list(p["current"])
        labels = [f"{a:.3g} to {b:.3g}" for a, b in pairwise(edges)]
        if p["current_below"] or p["current_above"]:
            ref, cur = [0.0, *ref, 0.0], [p["current_below"], *cur, p["current_above"]]
            labels = [f"below {edges[0]:.3g}", *labels, f"above {edges[-1]:.3g}"]
        return _bars(ref, cur, labels)
    return _bars(list(p.get("reference", [])), list(p.get("current", [])), p.get("categories", []))


COLUMNS = [
    "column",
    "role",
    "kind",
    "test",
    "statistic",
    "p_value",
    "adjusted_p",
    "threshold",
    "drift",
    "reference_missing",
    "current_missing",
    "note",
]


def _line(values: list[float], labels: list[str], metric: str) -> str:
    """One metric over the windows: a polyline with a point (and tooltip) per window."""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = (W - 2 * PAD) / max(len(values) - 1, 1)
    points = [
        (PAD + i * step, H - PAD - (H - 2 * PAD) * (v - lo) / span) for i, v in enumerate(values)
    ]
    path = " ".join(f"{x:.2f},{y:.2f}" for x, y in points)
    dots = "".join(
        f'<circle cx="{x:.2f}" cy="{y:.2f}" r="3" fill="{CUR}"><title>'
        f"{html.escape(label)}: {metric} {v:.4g}</title></circle>"
        for (x, y), v, label in zip(points, values, labels, strict=True)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img"><polyline points="{path}" fill="none" '
        f'stroke="{CUR}"/>{dots}<text x="{PAD}" y="12" font-size="10">{hi:.4g}</text>'
        f'<text x="{PAD}" y="{H - 6}" font-size="10">{lo:.4g}</text></svg>'
    )


PERF_SKIP = {"window", "version", "predictions", "labelled", "unlabelled", "estimated"}


def performance_section(table: Any) -> str:
    """Performance over time: the metrics of a ``performance``/``model_performance`` table per
    window (and version), as a table and a line per metric."""
    if table is None or not len(table):
        return ""
    esc = html.escape
    cols = list(table.columns)
    metrics = [c for c in cols if c not in PERF_SKIP and table[c].dtype.kind in "fiu"]
    rows = "".join(
        "<tr>" + "".join(f"<td>{_fmt(r[c])}</td>" for c in cols) + "</tr>"
        for r in table.to_dict(orient="records")
    )
    labels = [
        f"{r['window']}" + (f" v{r['version']}" if "version" in r else "")
        for r in table.to_dict(orient="records")
    ]
    figures = "".join(
        f'<figure class="performance" data-metric="{esc(m)}"><figcaption>{esc(m)}</figcaption>'
        f"{_line([float(v) for v in table[m]], labels, m)}</figure>"
        for m in metrics
        if table[m].notna().all()
    )
    return (
        f"<h2>Performance over time</h2><div class='plots'>{figures}</div><table><tr>"
        + "".join(f"<th>{esc(str(c))}</th>" for c in cols)
        + f"</tr>{rows}</table>"
    )


def render(report: DriftReport, *, fragment: bool = False, performance: Any = None) -> str:
    esc = html.escape
    verdict = "dataset drift" if report.dataset_drift else "no dataset drift"
    head = (
        f"<h1>Drift report: {verdict}</h1><p>{len(report.drifted_columns)} of "
        f"{len(report.features)} columns drifted ({report.share_drifted:.0%}; dataset drift at "
        f"{report.drift_share:.0%}). Reference: {esc(report.reference)} "
        f"({report.reference_rows:,} rows); current: {esc(report.current)} "
        f"({report.current_rows:,} rows). Correction: {esc(str(report.correction))}.</p>"
    )
    shown = [c for c in report.columns if c.drift or (c.role != "feature" and c.plot)]
    figures = "".join(
        f'<figure class="plot" data-column="{esc(c.column)}"><figcaption>{esc(c.column)} '
        f"({esc(c.role)}, {esc(c.test or '')} = {_fmt(c.statistic)})</figcaption>"
        f"{plot_svg(c)}</figure>"
        for c in shown
    )
    legend = (
        f'<p class="legend"><span style="background:{REF}"></span>reference'
        f'<span style="background:{CUR}"></span>current</p>'
    )
    rows = "".join(
        f'<tr class="{"drift" if c.drift else ""}">'
        + "".join(f"<td>{_fmt(getattr(c, k))}</td>" for k in COLUMNS)
        + "</tr>"
        for c in report.columns
    )
    table = (
        "<h2>Columns</h2><table><tr>"
        + "".join(f"<th>{k}</th>" for k in COLUMNS)
        + f"</tr>{rows}</table>"
    )
    issues = "".join(
        f"<tr><td>{esc(i.column or '')}</td><td>{esc(i.kind)}</td><td>{esc(i.detail)}</td>"
        f"<td>{_fmt(i.share)}</td></tr>"
        for i in report.issues
    )
    quality = "<h2>Data quality</h2>" + (
        f"<table><tr><th>column</th><th>issue</th><th>detail</th><th>share</th></tr>"
        f"{issues}</table>"
        if issues
        else "<p>No issues found.</p>"
    )
    plots = f"<h2>Drifted columns</h2>{legend}<div class='plots'>{figures}</div>" if figures else ""
    body = head + plots + performance_section(performance) + table + quality
    if fragment:
        return f"<div class='tether-drift'>{body}</div>"
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Drift report</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )
