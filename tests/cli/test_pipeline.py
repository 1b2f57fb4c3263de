"""``tether pipeline run|ls|show|resume`` (registered by the lead in ``tether/cli/app.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from tether.cli.context import CliContext
from tether.config import init_workspace

FLOW = """
from pathlib import Path
from tether.pipelines import step, pipeline

@step
def first(n: int) -> int:
    return n + 1

@step
def second(v: int) -> int:
    if Path("BROKEN").exists():
        raise ValueError("second is broken")
    return v * 2

@pipeline
def flow(n: int = 1):
    return second(first(n))
"""


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[typer.Typer]:
    init_workspace(tmp_path, project="cli")
    (tmp_path / "flow.py").write_text(FLOW)
    from tether.cli import pipeline_cmd

    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context) -> None:
        ctx.obj = CliContext()

    app.add_typer(pipeline_cmd.app, name="pipeline")
    yield app


def invoke(app: typer.Typer, *args: str) -> tuple[int, str]:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def test_run_ls_show_resume(cli: typer.Typer, tmp_path: Path) -> None:
    code, out = invoke(cli, "pipeline", "run", "flow.py:flow", "--param", "n=2", "-x", "inline")
    assert code == 0, out
    run_id = out.split()[2]
    code, out = invoke(cli, "pipeline", "run", "flow.py:flow", "-p", "n=2", "-x", "processes")
    assert code == 0
    code, out = invoke(cli, "pipeline", "show", run_id, "--json")
    data = json.loads(out)
    steps = {s["name"]: s for s in data["steps"]}
    assert set(steps) == {"first", "second"}
    assert {"name", "status", "cached", "duration_s", "inputs", "outputs"} <= set(steps["first"])
    assert steps["second"]["inputs"]["v"] == steps["first"]["outputs"]["output"]
    code, out = invoke(cli, "pipeline", "show", run_id)
    assert "second" in out and "<- first" in out
    code, out = invoke(cli, "pipeline", "ls", "--json")
    assert [json.loads(line)["pipeline"] for line in out.splitlines()] == ["flow", "flow"]

    (tmp_path / "BROKEN").touch()
    code, out = invoke(cli, "pipeline", "run", "flow.py:flow", "-p", "n=5", "--no-cache")
    assert code == 1
    failed_id = out.split()[2]
    (tmp_path / "BROKEN").unlink()
    code, out = invoke(cli, "pipeline", "resume", failed_id[:13])
    assert code == 0 and "finished" in out


HINTED = """
from tether.pipelines import step, pipeline

@step
def needs(n: int) -> int:
    raise RuntimeError("needs pip install 'tether[sklearn]' and [red]this[/]")

@pipeline
def hinted(n: int = 1):
    return needs(n)
"""


def test_show_prints_errors_and_hints_as_typed(tmp_path: Path, capsys) -> None:
    from .conftest import run

    init_workspace(tmp_path, project="cli")
    (tmp_path / "hinted.py").write_text(HINTED)
    assert run("pipeline", "run", "hinted.py:hinted", "-x", "inline") == 1
    run_id = capsys.readouterr().out.split()[2]
    assert run("pipeline", "show", run_id) == 0
    out = capsys.readouterr().out
    assert "needs: RuntimeError: needs pip install 'tether[sklearn]' and [red]this[/]" in out
