"""``tether models gate``: the exit code a CI job acts on, and the Markdown it posts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tether.cli.context import get

if TYPE_CHECKING:
    from tether.models.gating import Decision
    from tether.workspace import Workspace

EXIT_FAILED = 1


def gate(
    ctx: typer.Context,
    challenger: str = typer.Argument(..., help="The model to gate: NAME@N or NAME@ALIAS."),
    champion: str = typer.Argument(..., help="The model to beat: NAME@N or NAME@ALIAS."),
    data: str = typer.Option(
        ..., "--data", help="Evaluation data: a dataset version NAME@N or a Parquet path."
    ),
    policy: Path = typer.Option(..., "--policy", help="The gate policy, a TOML file."),
    target: str = typer.Option(..., "--target", help="The target column of the data."),
    promote: str | None = typer.Option(
        None,
        "--promote",
        metavar="ALIAS",
        help="When the gate passes, move ALIAS to CHALLENGER (CHAMPION must be the version "
        "ALIAS points at).",
    ),
    reason: str | None = typer.Option(
        None, "--reason", help="With --promote: why, recorded before the gate's rules."
    ),
    as_json: bool = typer.Option(False, "--json", help="The decision as JSON."),
) -> None:
    """Gate CHALLENGER against CHAMPION on the same rows of --data under --policy.

    Both evaluations are recorded as runs. Prints the decision as Markdown (post it on a pull
    request); exits 0 when the gate passes, 1 when it fails or the input is wrong.
    """
    import tether.models as tm

    if reason is not None and promote is None:
        raise typer.BadParameter("--reason goes with --promote", param_hint="--reason")
    workspace = get(ctx).session().workspace
    if promote is None:
        decision = tm.gate(challenger, champion, data, policy, target=target, workspace=workspace)
        moved = None
    else:
        _check_champion(champion, challenger, promote, workspace)
        decision = tm.promote_if_better(
            challenger, promote, data, policy, target=target, reason=reason, workspace=workspace
        )
        moved = promote if decision.passed else None
    if as_json:
        out = decision.to_dict()
        out["promoted"] = _promoted(decision, moved)
        typer.echo(json.dumps(_finite(out), indent=2, default=str, allow_nan=False))
    else:
        typer.echo(decision.to_markdown() + _footer(decision, moved), nl=False)
    if not decision.passed:
        raise typer.Exit(EXIT_FAILED)


def _check_champion(champion: str, challenger: str, alias: str, workspace: Workspace) -> None:
    """With --promote, the gate is against the alias's holder; CHAMPION must name it."""
    from tether.errors import InvalidInput
    from tether.models.fetch import model_version as resolve_model

    champ = resolve_model(champion, workspace=workspace)
    chal = resolve_model(challenger, workspace=workspace)
    holder = resolve_model(f"{chal.model}@{alias}", workspace=workspace)
    if (champ.model, champ.version) != (holder.model, holder.version):
        raise InvalidInput(
            f"--promote {alias}: CHAMPION {champion} is {champ.model}@{champ.version}, but "
            f"alias {alias!r} points at {holder.model}@{holder.version}; gate against "
            f"{chal.model}@{alias}"
        )


def _promoted(decision: Decision, alias: str | None) -> dict[str, object] | None:
    from tether.models.tracked import TrackedEvaluation

    chal, champ = decision.challenger, decision.champion
    if alias is None or not isinstance(chal, TrackedEvaluation):
        return None
    before = champ.model if isinstance(champ, TrackedEvaluation) and champ is not chal else None
    return {"alias": alias, "from": before, "to": chal.model}


def _footer(decision: Decision, alias: str | None) -> str:
    from tether.models.tracked import TrackedEvaluation

    lines = []
    for role, ev in (("challenger", decision.challenger), ("champion", decision.champion)):
        if isinstance(ev, TrackedEvaluation):
            lines.append(f"- {role}: `{ev.model}`, evaluation run `{ev.run_id}`")
    promoted = _promoted(decision, alias)
    if promoted is not None:
        lines.append(f"- promoted: alias `{alias}` now points at `{promoted['to']}`")
    return ("\n" + "\n".join(lines) + "\n") if lines else ""


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as null: JSON has no NaN (an undefined bootstrap)."""
    import math

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
