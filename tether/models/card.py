"""Model cards: Markdown or one self-contained HTML file, generated from a version's lineage
(``card_data.gather``), so that what a card says is what the stores hold."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import TYPE_CHECKING

from tether.models.card_data import CardData, gather, latest_slices, signature_rows

if TYPE_CHECKING:
    from tether.workspace import Workspace

# a card is a list of sections; a section is a title and blocks: a paragraph (str) or a table
Table = tuple[list[str], list[list[str]]]
Block = str | Table
Section = tuple[str, list[Block]]

CSS = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "color:#222}table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;"
    "padding:.25rem .5rem;text-align:left}th{background:#f4f4f4}code{background:#f4f4f4}"
)


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def sections(card: CardData) -> tuple[str, list[Section]]:
    v = card.version
    ref = f"{v.model}@{v.version}"
    out: list[Section] = []
    aliases = [a for a, n in card.aliases.items() if n == v.version]
    overview = [
        f"Flavour `{v.flavor}`, registered {v.created_at.isoformat()[:19]} UTC, "
        f"artifact tree `{v.artifact_digest}`."
    ]
    overview.append("Aliases: " + (", ".join(f"`{a}`" for a in aliases) or "none") + ".")
    out.append(("Overview", list(overview)))

    run = card.run
    training: list[Block] = []
    if run is None:
        training.append("No run is recorded for this version.")
    else:
        line = f"Run `{run.id}`"
        if run.name:
            line += f" ({run.name})"
        if card.pipeline_run is not None:
            line += f", a step of pipeline run `{card.pipeline_run.id}`"
        training.append(line + f", status {run.status}.")
        code = run.info.get("code") or (
            card.pipeline_run.info.get("code") if card.pipeline_run else None
        )
        if isinstance(code, dict) and code.get("commit"):
            dirty = "with uncommitted changes" if code.get("dirty") else "clean working tree"
            branch = f" on branch `{code['branch']}`" if code.get("branch") else ""
            training.append(f"Code: commit `{code['commit']}`{branch}, {dirty}.")
        else:
            training.append("Code: not recorded (not a git repository, or capture was off).")
        if run.params:
            training.append(
                (["param", "value"], [[k, val] for k, val in sorted(run.params.items())])
            )
        if card.metrics:
            training.append(
                (["training metric", "last value"], [[k, _fmt(x)] for k, x in card.metrics.items()])
            )
    out.append(("Training", training))

    data: list[Block] = []
    if not card.data:
        data.append("No dataset version is recorded as an input of the training run.")
    for d in card.data:
        data.append(f"`{d.ref}`: {d.files} files, {d.size} bytes.")
        for t in d.tables:
            data.append(f"Table `{t['path']}`: {t['rows']} rows.")
            data.append(
                (["column", "type", "nulls"], [[c, ty, str(n)] for c, ty, n in t["columns"]])
            )
    out.append(("Data", data))

    evaluation: list[Block] = []
    if not card.evaluations:
        evaluation.append("No evaluation run of this version yet.")
    else:
        last = card.evaluations[-1]
        evaluation.append(f"Latest evaluation: run `{last.run_id}` on `{last.data}`, {last.time}.")
        evaluation.append((["metric", "value"], [[k, _fmt(x)] for k, x in last.overall.items()]))
        per_slice = latest_slices(card.evaluations)
        if per_slice:
            metrics = sorted({m for _, values in per_slice.values() for m in values})
            rows = [
                [name, e.time, *[_fmt(values[m]) if m in values else "" for m in metrics]]
                for name, (e, values) in per_slice.items()
            ]
            evaluation.append((["slice", "evaluated", *metrics], rows))
    out.append(("Evaluation", evaluation))

    gates: list[Block] = []
    for g in card.gates:
        verdict = "passed" if g.passed else "failed"
        gates.append(f"Gate run `{g.run_id}`, {g.time}: {verdict}.")
        if g.reasons:
            gates.append((["rule"], [[r] for r in g.reasons]))
    moves = [
        [
            e.time.isoformat()[:19],
            e.alias,
            "-" if e.from_version is None else str(e.from_version),
            str(e.to_version),
            e.actor,
            e.reason or "",
        ]
        for e in card.history
    ]
    if moves:
        gates.append((["time", "alias", "from", "to", "by", "reason"], moves))
    if not gates:
        gates.append("No gate decision or alias move yet.")
    out.append(("Gates and alias history", gates))

    if v.signature:
        rows = [list(r) for r in signature_rows(v.signature)]
        out.append(("Signature", [(["", "name", "dtype", "shape"], rows)]))
    if card.packages:
        rows = [[k, val] for k, val in card.packages.items()]
        out.append(("Environment", [(["package", "version"], rows)]))
    return f"Model card: {ref}", out


def to_markdown(title: str, parts: list[Section]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [f"# {title}", "", "Generated by Tether from the model's lineage.", ""]
    for heading, blocks in parts:
        lines += [f"## {heading}", ""]
        for block in blocks:
            if isinstance(block, str):
                lines += [block, ""]
                continue
            header, rows = block
            lines.append("| " + " | ".join(cell(h) for h in header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
            lines.append("")
    return "\n".join(lines)


def _inline(text: str) -> str:
    """Escape, then turn `code` spans into <code>."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def to_html(title: str, parts: list[Section]) -> str:
    body = [
        f"<h1>{html.escape(title)}</h1>",
        "<p>Generated by Tether from the model's lineage.</p>",
    ]
    for heading, blocks in parts:
        body.append(f"<h2>{html.escape(heading)}</h2>")
        for block in blocks:
            if isinstance(block, str):
                body.append(f"<p>{_inline(block)}</p>")
                continue
            header, rows = block
            head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
            trs = "".join(
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                for row in rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def model_card(
    ref: str,
    *,
    format: str = "markdown",
    workspace: Workspace | str | os.PathLike[str] | None = None,
) -> str:
    """The card of the version ``ref`` names, as Markdown (``format="markdown"``) or HTML."""
    from tether.errors import InvalidInput
    from tether.models.fetch import workspace_of

    if format not in ("markdown", "html"):
        raise InvalidInput(f"card format {format!r} is not known; use 'markdown' or 'html'")
    title, parts = sections(gather(workspace_of(workspace), ref))
    return to_markdown(title, parts) if format == "markdown" else to_html(title, parts)


def write_card(
    ref: str,
    output: str | os.PathLike[str],
    *,
    workspace: Workspace | str | os.PathLike[str] | None = None,
) -> Path:
    """Write the card to ``output``: HTML for ``.html``/``.htm``, else Markdown."""
    from tether.config.atomic import write_text_atomic

    path = Path(output)
    fmt = "html" if path.suffix.lower() in (".html", ".htm") else "markdown"
    text = model_card(ref, format=fmt, workspace=workspace)
    try:
        write_text_atomic(path, text)
    except OSError as e:
        from tether.models.errors import CardWriteFailed

        raise CardWriteFailed(path, e) from None
    return path
