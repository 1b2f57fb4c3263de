"""``tether loop``: the continuous-training controller (docs/continuous-training.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tether.cli.context import get

if TYPE_CHECKING:
    from tether.automation import Controller, LoopPolicy

app = typer.Typer(
    help="Continuous training: retrain, gate and promote when a trigger fires.",
    no_args_is_help=True,
)

POLICY_HELP = "A TOML file with [loop.NAME] tables (default: .tether/config.toml)."


def _loops(ctx: typer.Context, policy: Path | None, only: str | None) -> dict[str, LoopPolicy]:
    from tether.automation import load_loops
    from tether.automation.policy import get_loop

    loops = load_loops(get(ctx).workspace().config_path, policy)
    if only is not None:
        return {only: get_loop(loops, only)}
    return loops


def _controller(
    ctx: typer.Context,
    policy: Path | None,
    only: str | None,
    *,
    dry_run: bool,
    holder: str | None,
    quiet: bool,
) -> Controller:
    from tether.automation import Controller

    loops = _loops(ctx, policy, only)
    if not loops:
        typer.echo("no loops defined: add a [loop.NAME] table to .tether/config.toml", err=True)
    say = None if quiet else (lambda line: typer.echo(line, err=True))
    return Controller(get(ctx).workspace(), loops, holder=holder, dry_run=dry_run, say=say)


@app.command()
def tick(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="Only this loop (default: every loop)."),
    policy: Path | None = typer.Option(None, "--policy", help=POLICY_HELP),
    dry_run: bool = typer.Option(
        False, "--dry-run", "-n", help="Say what it would do; change nothing."
    ),
    holder: str | None = typer.Option(
        None, "--id", help="This controller's lease id (default: host:pid)."
    ),
    as_json: bool = typer.Option(False, "--json", help="What each loop did, as JSON."),
) -> None:
    """Evaluate every trigger once and act on them: run from cron, CI or an orchestrator.

    On a trigger it runs the loop's pipeline on the latest data, gates the new model against
    the alias's holder and moves the alias when the gate passes; every decision is recorded.
    """
    controller = _controller(ctx, policy, name, dry_run=dry_run, holder=holder, quiet=as_json)
    outcomes = controller.tick()
    if as_json:
        typer.echo(json.dumps([o.to_dict() for o in outcomes], indent=2, default=str))
        return
    for outcome in outcomes:
        typer.echo(outcome.message)


@app.command()
def run(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="Only this loop (default: every loop)."),
    policy: Path | None = typer.Option(None, "--policy", help=POLICY_HELP),
    interval: float = typer.Option(60.0, "--interval", min=0.05, help="Seconds between ticks."),
    dry_run: bool = typer.Option(
        False, "--dry-run", "-n", help="Say what it would do; change nothing."
    ),
    holder: str | None = typer.Option(
        None, "--id", help="This controller's lease id (default: host:pid)."
    ),
    ticks: int | None = typer.Option(
        None, "--ticks", min=1, help="Stop after this many ticks (default: when stopped)."
    ),
) -> None:
    """Tick every --interval seconds until SIGTERM or Ctrl-C (the attempt in progress ends
    first). Several controllers may run: a lease in the store lets one act at a time."""
    import signal

    controller = _controller(ctx, policy, name, dry_run=dry_run, holder=holder, quiet=False)
    stop = False

    def _stop(signum: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        typer.echo(f"controller {controller.holder}: ticking every {interval:g} s", err=True)
        controller.run(interval, lambda: stop, max_ticks=ticks)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    typer.echo("controller stopped", err=True)


@app.command("trigger")
def trigger_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The loop to trigger."),
    reason: str | None = typer.Option(None, "--reason", help="Why; recorded with the trigger."),
    policy: Path | None = typer.Option(None, "--policy", help=POLICY_HELP),
) -> None:
    """Ask the loop to retrain: the next tick acts on it."""
    from tether.automation import trigger

    _loops(ctx, policy, name)  # an unknown loop is an error, not a trigger nobody acts on
    row = trigger(get(ctx).workspace(), name, reason)
    typer.echo(f"trigger #{row.id} recorded for loop {name}; the next tick acts on it")


def _status(ctx: typer.Context, loops: dict[str, LoopPolicy]) -> list[dict[str, Any]]:
    from tether.store.errors import AliasNotFound, ModelNotFound

    ws = get(ctx).workspace()
    store, project = ws.store, ws.project
    docs = []
    for policy in loops.values():
        try:
            champion: str | None = (
                f"{policy.model}@{store.get_alias(project, policy.model, policy.alias).version}"
            )
        except (AliasNotFound, ModelNotFound):
            champion = None
        lease = store.get_loop_lease(project, policy.name)
        open_ = store.list_loop_triggers(
            project, policy.name, statuses=("pending", "running", "failed")
        )
        last = store.list_loop_events(project, policy.name, limit=1)
        docs.append(
            {
                "loop": policy.name,
                "model": policy.model,
                "alias": policy.alias,
                "champion": champion,
                "leader": None if lease is None else {"id": lease[0], "until": lease[1]},
                "open_triggers": [
                    {
                        "id": t.id,
                        "key": t.key,
                        "status": t.status,
                        "attempts": t.attempts,
                        "next_try_at": t.next_try_at,
                    }
                    for t in open_
                ],
                "last_event": None
                if not last
                else {"kind": last[0].kind, "time": last[0].time, "detail": last[0].detail},
            }
        )
    return docs


@app.command()
def status(
    ctx: typer.Context,
    policy: Path | None = typer.Option(None, "--policy", help=POLICY_HELP),
    as_json: bool = typer.Option(False, "--json", help="As JSON."),
) -> None:
    """Each loop: its champion, the controller holding its lease, open triggers, last event."""
    docs = _status(ctx, _loops(ctx, policy, None))
    if as_json:
        typer.echo(json.dumps(docs, indent=2, default=str))
        return
    if not docs:
        typer.echo("no loops defined: add a [loop.NAME] table to .tether/config.toml")
    for d in docs:
        leader = d["leader"]["id"] if d["leader"] else "none"
        typer.echo(
            f"{d['loop']}: {d['model']}@{d['alias']} = {d['champion'] or '(none)'}; "
            f"leader {leader}; {len(d['open_triggers'])} open trigger(s)"
        )
        for t in d["open_triggers"]:
            extra = f", retry after {t['next_try_at']}" if t["next_try_at"] else ""
            typer.echo(f"  #{t['id']} {t['key']}: {t['status']} ({t['attempts']} attempts{extra})")
        if d["last_event"]:
            typer.echo(f"  last: {d['last_event']['kind']} at {d['last_event']['time']}")


@app.command()
def history(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The loop."),
    limit: int = typer.Option(50, "--limit", min=1, help="The newest N events."),
    as_json: bool = typer.Option(False, "--json", help="As JSON."),
) -> None:
    """The loop's events, newest first: triggers, attempts, trainings, decisions and why."""
    ws = get(ctx).workspace()
    events = ws.store.list_loop_events(ws.project, name, limit=limit)
    if as_json:
        doc = [
            {
                "id": e.id,
                "time": e.time,
                "kind": e.kind,
                "trigger": e.trigger_id,
                "detail": e.detail,
            }
            for e in events
        ]
        typer.echo(json.dumps(doc, indent=2, default=str))
        return
    if not events:
        typer.echo(f"no events for loop {name}")
    for e in events:
        what = _describe(e.kind, e.detail or {})
        typer.echo(f"{e.time.isoformat(timespec='seconds')}  #{e.trigger_id}  {e.kind:<9} {what}")


def _describe(kind: str, d: dict[str, Any]) -> str:
    if kind == "triggered":
        return str(d.get("reason", ""))
    if kind == "attempt":
        return f"attempt {d.get('attempt')} for {d.get('trigger')}"
    if kind == "resumed":
        return f"resumed attempt for {d.get('trigger')}"
    if kind == "trained":
        return f"{d.get('challenger')} (pipeline run {d.get('pipeline_run')})"
    if kind == "promoted":
        return f"{d.get('from')} -> {d.get('to')}"
    if kind == "kept":
        return f"kept {d.get('from')}; {'; '.join(d.get('reasons', [])[:2])}"
    if kind == "failed":
        return f"{d.get('error')}; retry after {d.get('retry_at')}"
    return str(d.get("error", ""))
