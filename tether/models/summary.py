"""A gate decision as Markdown, for a CI job to post on a pull request."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tether.models.metrics import get_metric

if TYPE_CHECKING:
    from tether.models.gating import Decision


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """``text`` as a Markdown code span in a table cell (longer fences when it holds backticks)."""
    fence = "``" if "`" in text else "`"
    return f"{fence} {_cell(text)} {fence}" if fence == "``" else f"`{_cell(text)}`"


def _num(value: float, digits: int = 4) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def _delta(value: float, digits: int = 4) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.{digits}f}"


def decision_markdown(decision: Decision) -> str:
    chal, champ, policy = decision.challenger, decision.champion, decision.policy
    verdict = "passed ✅" if decision.passed else "failed ❌"
    lines = [
        f"## Model gate: {verdict}",
        "",
        f"{chal.rows:,} rows of {_cell(chal.source)}, target `{_cell(chal.target)}`, "
        f"primary metric **{policy.primary}**.",
        "",
        "| metric | champion | challenger | delta |",
        "|---|---:|---:|---:|",
    ]
    names = list(dict.fromkeys([policy.primary, *chal.metrics, *policy.max_regression]))
    for name in names:
        arrow = "↑" if get_metric(name).higher_is_better else "↓"
        a, b = chal.metric(name), champ.metric(name)
        label = f"**{name}** {arrow}" if name == policy.primary else f"{name} {arrow}"
        lines.append(f"| {label} | {_num(b)} | {_num(a)} | {_delta(a - b)} |")
    if chal.latency is not None and champ.latency is not None:
        batch = f"latency p99, {chal.latency.batch_size} rows (ms) ↓"
        for key, label in (("row_p99_ms", "latency p99, 1 row (ms) ↓"), ("batch_p99_ms", batch)):
            a = getattr(chal.latency, key)
            b = getattr(champ.latency, key)
            lines.append(f"| {label} | {_num(b, 3)} | {_num(a, 3)} | {_delta(a - b, 3)} |")
    if chal.slices:
        lines += [
            "",
            f"Slices ({policy.primary}):",
            "",
            "| slice | rows | champion | challenger | delta |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, s in chal.slices.items():
            if s.rows:
                a = chal.slice_metric(name, policy.primary)
                b = champ.slice_metric(name, policy.primary)
            else:
                a = b = math.nan
            lines.append(
                f"| {_code(name)} | {s.rows:,} | {_num(b)} | {_num(a)} | {_delta(a - b)} |"
            )
    lines += ["", "Rules:", ""]
    lines += [
        f"- {'✅' if r.passed else '❌'} **{_cell(r.name)}**: {_cell(r.message)}"
        for r in decision.rules
    ]
    return "\n".join(lines) + "\n"
