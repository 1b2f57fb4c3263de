"""``tether models``: the model registry from the command line (every command calls
``tether.models``)."""

from __future__ import annotations

import json
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Any

import typer

from tether.cli.context import get

if TYPE_CHECKING:
    from tether.store import AliasEvent, ModelVersion
    from tether.workspace import Workspace

app = typer.Typer(
    help="Model registry: versions, aliases, history, cards, MLflow export and import.",
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print JSON.")
REF_HELP = "NAME (the latest version), NAME@3 (a version) or NAME@ALIAS (NAME@champion)."


def _ws(ctx: typer.Context) -> Workspace:
    return get(ctx).workspace()


def _version_dict(mv: ModelVersion, aliases: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "model": mv.model,
        "version": mv.version,
        "ref": f"{mv.model}@{mv.version}",
        "flavor": mv.flavor,
        "artifact_digest": mv.artifact_digest,
        "run_id": mv.run_id,
        "created_at": mv.created_at.isoformat(),
        "aliases": sorted(a for a, v in (aliases or {}).items() if v == mv.version),
        "signature": mv.signature,
    }


def _event_dict(e: AliasEvent) -> dict[str, Any]:
    return {
        "model": e.model,
        "alias": e.alias,
        "from_version": e.from_version,
        "to_version": e.to_version,
        "actor": e.actor,
        "reason": e.reason,
        "time": e.time.isoformat(),
    }


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


@app.command("ls")
def ls(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List the models: latest version, flavour and aliases."""
    from tether.models.aliases import aliases_of, list_models, versions

    ws = _ws(ctx)
    rows: list[dict[str, Any]] = []
    for name in list_models(workspace=ws):
        latest = versions(name, workspace=ws)[-1]
        rows.append(
            {
                "model": name,
                "latest_version": latest.version,
                "flavor": latest.flavor,
                "created_at": latest.created_at.isoformat(),
                "aliases": aliases_of(name, workspace=ws),
            }
        )
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        typer.echo("no models yet; log one with tether.models.log(model, name)")
        return
    from rich.table import Table

    from tether.cli.output import console

    table = Table(box=None)
    for column in ("model", "latest", "flavour", "aliases", "created"):
        table.add_column(column)
    for r in rows:
        aliases = ", ".join(f"{a}->{v}" for a, v in r["aliases"].items())
        table.add_row(
            r["model"], str(r["latest_version"]), r["flavor"], aliases, r["created_at"][:19]
        )
    console().print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help=REF_HELP),
    as_json: bool = JSON,
) -> None:
    """Show one model version: flavour, run, aliases, signature."""
    from tether.models.aliases import aliases_of
    from tether.models.fetch import model_version

    ws = _ws(ctx)
    mv = model_version(ref, workspace=ws)
    data = _version_dict(mv, aliases_of(mv.model, workspace=ws))
    if as_json:
        _echo_json(data)
        return
    for key in ("ref", "flavor", "artifact_digest", "run_id", "created_at"):
        typer.echo(f"{key + ':':17}{data[key] or '-'}")
    typer.echo(f"{'aliases:':17}{', '.join(data['aliases']) or '-'}")
    if mv.signature:
        from tether.models.card_data import signature_rows

        typer.echo("signature:")
        for direction, name, dtype, shape in signature_rows(mv.signature):
            typer.echo(f"  {direction:7} {name:20} {dtype:12} {shape}")


def _event_line(e: AliasEvent) -> str:
    start = "-" if e.from_version is None else str(e.from_version)
    why = f"  ({e.reason})" if e.reason else ""
    return f"{e.time.isoformat()[:19]}  {e.alias}: {start} -> {e.to_version}  by {e.actor}{why}"


def _expected(text: str | None) -> int | EllipsisType | None:
    """``--expect``: a version number, ``none`` (the alias must not be set) or not given."""
    if text is None:
        return ...
    if text.lower() == "none":
        return None
    if not text.isdigit() or int(text) < 1:
        from tether.errors import InvalidInput

        raise InvalidInput(f"--expect {text!r} is not a version number (1, 2, ...) or 'none'")
    return int(text)


@app.command("promote")
def promote(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The version to point the alias at: " + REF_HELP),
    alias: str = typer.Option("champion", "--alias", "-a", help="The alias to move."),
    reason: str | None = typer.Option(None, "--reason", "-m", help="Why (kept in the history)."),
    expect: str | None = typer.Option(
        None,
        "--expect",
        help="Move only if the alias points at this version now ('none': only if it is not "
        "set); otherwise exit 1 and change nothing.",
    ),
    as_json: bool = JSON,
) -> None:
    """Point ALIAS (default: champion) at the version REF names; the move is recorded."""
    from tether.models.aliases import set_alias
    from tether.models.fetch import model_version

    expected = _expected(expect)
    ws = _ws(ctx)
    mv = model_version(ref, workspace=ws)
    event = set_alias(mv.model, alias, mv.version, reason=reason, expect=expected, workspace=ws)
    if as_json:
        _echo_json(_event_dict(event))
    else:
        typer.echo(_event_line(event))


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME@ALIAS: the alias to move back (NAME@champion)."),
    reason: str | None = typer.Option(None, "--reason", "-m", help="Why (kept in the history)."),
    expect: int | None = typer.Option(
        None,
        "--expect",
        min=1,
        help="Roll back only if the alias points at this version now (so a repeated or "
        "concurrent rollback happens once); otherwise exit 1 and change nothing.",
    ),
    as_json: bool = JSON,
) -> None:
    """Move NAME@ALIAS back to the version it pointed at before; the move is recorded."""
    from tether.models.aliases import rollback as roll_back
    from tether.models.errors import BadModelRef
    from tether.models.refs import ModelRef

    parsed = ModelRef.parse(ref)
    if parsed.alias is None:
        raise BadModelRef(ref, "names no alias: rollback moves an alias")
    event = roll_back(parsed.name, parsed.alias, reason=reason, expect=expect, workspace=_ws(ctx))
    if as_json:
        _echo_json(_event_dict(event))
    else:
        typer.echo(_event_line(event))


@app.command("history")
def history(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Model name, or NAME@ALIAS for one alias."),
    as_json: bool = JSON,
) -> None:
    """Every alias move of a model: when, which alias, from and to which version, who, why."""
    from tether.models.aliases import history as alias_history
    from tether.models.errors import BadModelRef
    from tether.models.refs import ModelRef

    parsed = ModelRef.parse(name)
    if parsed.version is not None:
        raise BadModelRef(name, "names a version; history takes NAME or NAME@ALIAS")
    events = alias_history(parsed.name, parsed.alias, workspace=_ws(ctx))
    if as_json:
        _echo_json([_event_dict(e) for e in events])
        return
    if not events:
        typer.echo(f"no alias of {name} has been set yet")
    for e in events:
        typer.echo(_event_line(e))


@app.command("card")
def card(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help=REF_HELP),
    output: Path = typer.Option(
        ..., "--output", "-o", help="card.md (Markdown) or card.html (one self-contained file)."
    ),
) -> None:
    """Write the model card of REF, generated from its lineage."""
    from tether.models.card import write_card

    path = write_card(ref, output, workspace=_ws(ctx))
    typer.echo(f"wrote {path}")


@app.command("export")
def export(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help=REF_HELP),
    folder: Path = typer.Argument(..., help="The new folder to write."),
    fmt: str = typer.Option("mlflow", "--format", help="Only mlflow for now."),
) -> None:
    """Write REF as an MLflow model folder (MLmodel, the flavour's files, signature, example).

    scikit-learn (skops), XGBoost, LightGBM and ONNX models are written as MLflow's own
    flavours write them; PyTorch and generic Python models as python_function models with
    Tether's own loader (no pickle; the model's class is imported from the project's code).
    """
    from tether.models.errors import UnsupportedExport
    from tether.models.mlflow_export import export_mlflow

    if fmt != "mlflow":
        raise UnsupportedExport(fmt, "the only export format is mlflow (--format mlflow)")
    path = export_mlflow(ref, folder, workspace=_ws(ctx))
    typer.echo(f"wrote {path}")


@app.command("import")
def import_(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="An MLflow model folder (with an MLmodel file)."),
    name: str = typer.Argument(..., help="The model name to register it under."),
    trust: bool = typer.Option(
        False, "--trust", help="Allow a pickled model (loading it runs code: only if you trust it)."
    ),
    as_json: bool = JSON,
) -> None:
    """Register an MLflow model folder as the next version of NAME.

    Reads the sklearn (skops), xgboost, lightgbm and onnx flavours; a pickled model only with
    --trust.
    """
    from tether.models.mlflow_import import import_mlflow

    mv = import_mlflow(folder, name, trust=trust, workspace=_ws(ctx))
    if as_json:
        _echo_json(_version_dict(mv))
    else:
        typer.echo(f"registered {mv.model}@{mv.version} ({mv.flavor})")
