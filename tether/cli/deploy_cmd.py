from __future__ import annotations

from pathlib import Path

import typer

from tether.cli.context import get

app = typer.Typer(help="Deployment artefacts for a served model.", no_args_is_help=True)


@app.command("docker")
def docker(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME@ALIAS or NAME@VERSION."),
    out: Path = typer.Option(..., "--output", "-o", help="New folder for the build context."),
    build: bool = typer.Option(False, "--build", help="Build the image (needs docker)."),
    log: bool = typer.Option(
        False,
        "--log",
        help="Log predictions into this project, in the stores that TETHER_STORE_URL and "
        "TETHER_OBJECTS_URL name where the image runs (default: the image logs nothing).",
    ),
    extras: list[str] = typer.Option(
        [], "--extra", help="Tether extra for the image's stores: s3, gcs, azure, postgres."
    ),
) -> None:
    """Write a Dockerfile that installs the model's recorded libraries and runs `tether serve`
    on the model version copied into the image."""
    from tether.serving.deploy import docker_context
    from tether.serving.source import Ref
    from tether.serving.store_source import StoreSource

    workspace = get(ctx).workspace()
    path = docker_context(
        Ref.parse(ref), StoreSource(workspace), out, build=build,
        log_project=workspace.project if log else None, extras=extras,
    )  # fmt: skip
    typer.echo(f"wrote {path}")


@app.command("k8s")
def k8s(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME@ALIAS or NAME@VERSION."),
    image: str | None = typer.Option(None, "--image", help="Image (default tether-NAME:VERSION)."),
    out: Path | None = typer.Option(None, "--output", "-o", help="Write here, not to stdout."),
    env: list[str] = typer.Option(
        [],
        "--env",
        help="NAME=VALUE in the containers' environment (repeatable), e.g. the "
        "TETHER_STORE_URL and TETHER_OBJECTS_URL of an image built with --log.",
    ),
    env_secrets: list[str] = typer.Option(
        [], "--env-from-secret", help="A Secret whose keys become variables (credentials)."
    ),
) -> None:
    """Print a Deployment and Service (probes on the v2 health endpoints) and a KServe
    InferenceService that scales to zero."""
    from tether.config.atomic import write_text_atomic
    from tether.serving.deploy import k8s_manifests, to_yaml
    from tether.serving.source import Ref
    from tether.serving.store_source import StoreSource

    variables = {}
    for item in env:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--env")
        variables[key] = value
    parsed = Ref.parse(ref)
    version = StoreSource(get(ctx).workspace()).version_of(parsed)
    text = to_yaml(k8s_manifests(parsed, version, image, env=variables, env_secrets=env_secrets))
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_text_atomic(out, text)
        typer.echo(f"wrote {out}")
