from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tether.cli.context import get


def serve(
    ctx: typer.Context,
    refs: list[str] = typer.Argument(
        ..., help="Models to serve: NAME@ALIAS (followed when the alias moves) or NAME@VERSION."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", min=0, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, help="Server processes."),
    max_batch: int = typer.Option(1024, "--max-batch", min=1, help="Rows per model call."),
    max_wait_ms: float = typer.Option(
        0.0,
        "--max-wait-ms",
        min=0,
        help="Longest a batch waits for more requests (0: it takes those waiting).",
    ),
    poll: float = typer.Option(
        10.0, "--poll", min=0, help="Seconds between alias checks; 0: only on a load request."
    ),
    max_body: int = typer.Option(16 << 20, "--max-body", min=1, help="Largest body, bytes."),
    in_loop: bool | None = typer.Option(
        None,
        "--in-loop/--model-thread",
        help="Run the model in the event loop, or in a thread of its own (default: in the loop "
        "when a full batch, the stored example repeated to --max-batch rows, takes under 2 ms "
        "at warm-up).",
    ),
    no_log: bool = typer.Option(False, "--no-log", help="Do not log predictions."),
    sample: float = typer.Option(
        1.0, "--log-sample", min=0.0, max=1.0, help="Share of requests logged."
    ),
    access_log: bool = typer.Option(
        False,
        "--access-log",
        help="Write one JSON line per request to stderr (time, request id, method, path, "
        "status, model, version, latency).",
    ),
    from_dir: Path | None = typer.Option(
        None,
        "--from",
        help="Serve from a folder (DIR/NAME/VERSION/, DIR/NAME/ALIAS holding a version), "
        "not the stores; predictions are logged into the current workspace, if there is one.",
    ),
    check: bool = typer.Option(
        False, "--check", help="Load and warm up every model, print the versions, exit."
    ),
) -> None:
    """Serve models over the Open Inference Protocol v2 (REST) and MLflow's /invocations.

    Needs the serve extra: pip install 'tether[serve]'. SIGTERM finishes the requests in
    flight and flushes the prediction log.
    """
    from tether.serving.runtime import Options, Repository
    from tether.serving.source import DirectorySource, Ref
    from tether.serving.store_source import StoreSource

    cli = get(ctx)
    opts = Options(
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        poll_s=poll,
        max_body=max_body,
        model_thread=None if in_loop is None else not in_loop,
    )
    if check:
        source = DirectorySource(from_dir) if from_dir else StoreSource(cli.workspace())
        repo = Repository(source, [Ref.parse(r) for r in refs], opts)
        try:
            repo.load_all()
            for s in repo.served.values():
                assert s.current is not None
                typer.echo(f"{s.ref}: version {s.current.version} ({s.current.loaded.flavor})")
        finally:
            repo.close()
        return
    from tether.serving.server import serve as run

    if from_dir is None:
        workspace_dir: str | None = str(cli.location().root)
    else:  # the models from the folder; the log into the workspace here, if there is one
        workspace_dir = None if no_log else _log_workspace(cli)
    run(
        refs,
        host=host,
        port=port,
        workers=workers,
        options=opts,
        log_predictions=not no_log,
        log_sample=sample,
        workspace_dir=workspace_dir,
        models_dir=None if from_dir is None else str(from_dir.resolve()),
        access_log=access_log,
    )


def _log_workspace(cli: Any) -> str | None:
    """The workspace that a server of models from a folder logs into: the current one (its
    stores as configured, ``TETHER_STORE_URL`` and ``TETHER_OBJECTS_URL`` included), or None
    (said on stderr) where there is none."""
    from tether.config.errors import WorkspaceNotFound

    try:
        return str(cli.location().root)
    except WorkspaceNotFound:
        typer.echo(
            "no workspace here: predictions are not logged (tether init makes one)", err=True
        )
        return None
