from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import tether
from tether.config import init_workspace

from .conftest import run


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    init_workspace(tmp_path, project="cli")
    ids = []
    for i, (model, lr) in enumerate([("a", "0.1"), ("b", "0.1"), ("a", "0.3")]):
        with tether.run(experiment="e", name=f"r{i}", params={"model": model, "lr": lr}) as run:
            for step in range(5):
                run.log_metrics({"loss": (i + 1) / (step + 1), "acc": 0.5 + i * 0.2}, step=step)
        ids.append(run.id)
    yield ids


def test_ls_filters_sorts_and_prints_json(runs: list[str], capsys) -> None:
    assert (
        run("runs", "ls", "--json", "--filter", "params.model = 'a'", "--sort", "metrics.acc desc")
        == 0
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in rows] == ["r2", "r0"]
    assert rows[0]["params"] == {"model": "a", "lr": "0.3"}
    assert rows[0]["status"] == "finished"

    assert run("runs", "ls") == 0
    table = capsys.readouterr().out
    assert all(name in table for name in ("r0", "r1", "r2")) and "acc" in table


def test_ls_bad_filter_points_at_the_token(runs: list[str], capsys) -> None:
    assert run("runs", "ls", "--filter", "metrics.acc >> 1") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: expected a number") and "position 13" in err


def test_show_by_prefix(runs: list[str], capsys) -> None:
    assert run("runs", "show", runs[1][:18]) == 0
    out = capsys.readouterr().out
    assert runs[1] in out and "finished" in out and "loss" in out and "model" in out
    assert run("runs", "show", "--json", runs[1]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["metrics"]["acc"] == pytest.approx(0.7) and data["env"]["packages_digest"]
    assert run("runs", "show", "ffffffffff") == 1
    assert "does not exist" in capsys.readouterr().err


def test_compare_marks_differences(runs: list[str], capsys) -> None:
    assert run("runs", "compare", runs[0], runs[1]) == 0
    lines = capsys.readouterr().out.splitlines()
    model = next(line for line in lines if "params.model" in line)
    lr = next(line for line in lines if "params.lr" in line)
    assert model.lstrip().startswith("*") and not lr.lstrip().startswith("*")


def test_plot_writes_an_image(runs: list[str], capsys, tmp_path: Path) -> None:
    out = tmp_path / "curves.png"
    assert (
        run("runs", "plot", runs[0], runs[2], "--metric", "loss", "--metric", "acc", "-o", str(out))
        == 0
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000
    svg = tmp_path / "curves.svg"
    assert run("runs", "plot", runs[0], "-m", "loss", "-o", str(svg)) == 0
    assert "<svg" in svg.read_text()
    assert run("runs", "plot", runs[0], "-m", "nope", "-o", str(svg)) == 1
    assert "none of the runs logged nope" in capsys.readouterr().err


def test_lineage_formats(runs: list[str], capsys, tmp_path: Path) -> None:
    (tmp_path / "m.bin").write_bytes(b"m")
    with tether.run(name="maker", parent=None) as maker:
        digest = maker.log_artifact(tmp_path / "m.bin")
    with tether.run(name="user", parent=None) as user:
        user.log_input(digest, name="m.bin")
    assert run("lineage", user.id) == 0
    tree = capsys.readouterr().out
    assert "upstream" in tree and "maker" in tree and "m.bin" in tree
    assert run("lineage", "--json", digest) == 0
    data = json.loads(capsys.readouterr().out)
    assert {e["from"] for e in data["edges"]} == {f"run:{maker.id}", f"object:{digest}"}
    assert run("lineage", "--dot", maker.id) == 0
    assert capsys.readouterr().out.startswith("digraph lineage {")


def test_ls_shows_short_ids_that_every_command_accepts(runs: list[str], capsys) -> None:
    assert run("runs", "ls") == 0
    table = capsys.readouterr().out
    # the random tails, not the time-ordered starts that runs made together share
    shorts = [rid[-12:] for rid in runs]
    assert all(s in table for s in shorts)
    assert not any(rid in table for rid in runs)
    assert run("runs", "ls", "--wide") == 0
    wide_table = capsys.readouterr().out
    assert all(rid in wide_table for rid in runs), wide_table
    for rid, short in zip(runs, shorts, strict=True):
        assert run("runs", "show", "--json", short) == 0
        assert json.loads(capsys.readouterr().out)["id"] == rid
        assert tether.get_run(short).id == rid
    assert run("runs", "compare", shorts[0], shorts[2]) == 0
    assert run("lineage", shorts[0]) == 0
    capsys.readouterr()
    assert run("runs", "show", runs[0][:4]) == 1  # made in the same second: ambiguous
    err = capsys.readouterr().err
    assert "several runs" in err and runs[0] in err and runs[1] in err


def test_ls_hides_child_runs_unless_all(tmp_path: Path, capsys) -> None:
    init_workspace(tmp_path, project="cli")
    with tether.run(name="parent") as parent, tether.run(name="child"):
        pass
    assert run("runs", "ls", "--json") == 0
    assert [json.loads(x)["name"] for x in capsys.readouterr().out.splitlines()] == ["parent"]
    assert run("runs", "ls", "--json", "--all") == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert sorted(r["name"] for r in rows) == ["child", "parent"]
    assert {r["parent_id"] for r in rows} == {None, parent.id}


def test_delete_hides_and_restore_brings_back(runs: list[str], capsys) -> None:
    assert run("runs", "delete", runs[0][-12:]) == 0
    assert "deleted run " + runs[0] in capsys.readouterr().out
    assert run("runs", "ls", "--json") == 0
    assert [json.loads(x)["id"] for x in capsys.readouterr().out.splitlines()] == runs[:0:-1]
    assert [v.id for v in tether.search_runs()] == runs[:0:-1]  # type: ignore[union-attr]
    assert run("runs", "ls", "--json", "--deleted") == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(r["id"], r["deleted"]) for r in rows][-1] == (runs[0], True)
    assert run("runs", "show", runs[0]) == 0
    assert "deleted" in capsys.readouterr().out
    assert run("runs", "restore", runs[0]) == 0
    assert "restored run " + runs[0] in capsys.readouterr().out
    assert run("runs", "ls", "--json") == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_user_text_prints_as_typed(tmp_path: Path, capsys) -> None:
    """Names, params and errors with [brackets] are not read as terminal markup."""
    init_workspace(tmp_path, project="cli")
    hint = "pip install 'tether[sklearn]'"
    with tether.run(name="[red]x[/]", params={"extra": hint}) as r:
        pass
    tether.flush()
    from tether.tracking.session import open_session

    open_session(tmp_path).store.set_run_status(r.id, "failed", error=f"needs {hint}")
    assert run("runs", "show", r.id) == 0
    out = capsys.readouterr().out
    assert "[red]x[/]" in out and out.count(hint) == 2
    assert run("runs", "ls") == 0
    assert "[red]x[/]" in capsys.readouterr().out
    assert run("runs", "compare", r.id, r.id) == 0
    assert hint in capsys.readouterr().out


def test_ls_hostile_filter_is_one_line(runs: list[str], capsys) -> None:
    assert run("runs", "ls", "--filter", "(" * 1000 + "params.lr = 1" + ")" * 1000) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: filter too large: more than 50 nested") and err.count("\n") == 1


def test_an_empty_store_file_is_reported_as_damaged(ws: Path, capsys) -> None:
    (ws / ".tether" / "tether.db").write_bytes(b"")
    assert run("runs", "ls") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the metadata store ") and err.count("\n") == 1
    assert "is damaged: the file is empty (0 bytes); restore it from a backup" in err
    assert (ws / ".tether" / "tether.db").read_bytes() == b""


def test_ls_loads_metrics_without_a_query_per_run(runs: list[str], capsys) -> None:
    import sqlalchemy as sa

    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    def queries(*args: str) -> int:
        statements.clear()
        assert run("runs", "ls", "--json", *args) == 0
        return len(statements)

    queries()  # the store is open and its schema checked before counting
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    try:
        one, three = queries("--limit", "1"), queries("--limit", "3")
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[-1]["metrics"] == {"acc": 0.5, "loss": 0.2}  # r0, listed last
    assert one == three  # the metrics of every listed run come in the same queries
