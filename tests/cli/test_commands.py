import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from .conftest import run


def test_init_then_config_show(tmp_path: Path, capsys) -> None:
    assert run("init", "--project", "churn") == 0
    assert "Initialised" in capsys.readouterr().out
    assert run("init") == 0
    assert "already exists" in capsys.readouterr().out

    assert run("config", "show", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["core.project"] == {
        "value": "churn",
        "source": str(tmp_path / ".tether" / "config.toml"),
    }
    assert shown["objects.url"]["source"] == "default"

    assert run("--project", "flagged", "config", "show") == 0
    table = capsys.readouterr().out
    assert "flagged" in table and "flag" in table and "store.url" in table

    assert run("config", "get", "core.project") == 0
    assert capsys.readouterr().out.strip() == "churn"


def test_workspace_flag_and_subfolders(tmp_path: Path, capsys, monkeypatch) -> None:
    assert run("init", str(tmp_path / "proj")) == 0
    capsys.readouterr()
    sub = tmp_path / "proj" / "src" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert run("config", "get", "objects.url") == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "proj" / ".tether" / "objects")
    monkeypatch.chdir(tmp_path)
    assert run("-C", "proj", "config", "get", "core.project") == 0
    assert capsys.readouterr().out.strip() == "proj"


def test_objects_put_get_verify_roundtrip(tmp_path: Path, capsys) -> None:
    run("init")
    capsys.readouterr()
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha\n")
    (folder / "sub" / "b.bin").write_bytes(os.urandom(10_000))

    assert run("objects", "put", str(folder / "a.txt")) == 0
    blob = capsys.readouterr().out.split()[0]
    assert run("objects", "put", str(folder)) == 0
    tree = capsys.readouterr().out.split()[0]

    assert run("objects", "get", blob, str(tmp_path / "a-copy.txt")) == 0
    assert (tmp_path / "a-copy.txt").read_text() == "alpha\n"
    assert run("objects", "get", "--tree", tree, str(tmp_path / "restored")) == 0
    assert (tmp_path / "restored" / "sub" / "b.bin").read_bytes() == (
        folder / "sub" / "b.bin"
    ).read_bytes()

    assert run("objects", "show", tree) == 0
    listing = capsys.readouterr().out
    assert "a.txt" in listing and "sub/b.bin" in listing
    assert run("objects", "ls") == 0
    assert blob in capsys.readouterr().out.split()
    assert run("objects", "verify") == 0
    assert "objects ok" in capsys.readouterr().out


def test_store_info_creates_the_embedded_database(tmp_path: Path, capsys) -> None:
    run("init")
    assert run("store", "info") == 0
    out = capsys.readouterr().out
    assert "sqlite:///" in out
    assert (tmp_path / ".tether" / "tether.db").exists()


@pytest.mark.slow
def test_demo_closes_the_loop(tmp_path: Path, capsys) -> None:
    """`tether demo`: v1 gated in and served, drift found, v2 retrained by the loop, promoted
    and swapped in with no failed request; the report, the card and v2's lineage."""
    from tether.workspace.shared import open_workspace

    demo = tmp_path / "d"
    assert run("demo", str(demo)) == 0
    out = capsys.readouterr().out
    assert "churn@1" in out and "gated in as churn@champion" in out
    drift_line = next(line for line in out.splitlines() if line.startswith("drift "))
    assert "support_calls" in drift_line and "age" not in drift_line  # age did not shift
    assert "churn@champion -> v2" in out
    assert "server now answers with v2" in out and " 0 failed" in out
    lineage = out[out.index("lineage") : out.index("done ")]
    assert "model churn@2" in lineage and "fit" in lineage and "dataset churn@2" in lineage
    assert "code      commit " in lineage  # the demo folder is a git repository
    assert (demo / "drift-report.html").read_text().lstrip().startswith("<!")
    assert "churn" in (demo / "model-card-v2.html").read_text()
    timings = json.loads((demo / "demo-timings.json").read_text())
    assert timings["failed"] == 0 and timings["requests"] > 0
    assert {"train", "serve", "drift", "loop", "swap", "total"} <= set(timings["phases"])

    ws = open_workspace(demo)
    assert ws.store.get_alias(ws.project, "churn", "champion").version == 2
    events = ws.store.list_audit(project=ws.project, action="monitor.drift")
    assert [e.detail["share_drifted"] >= 0.5 for e in events] == [True]
    ws.store.close()

    assert run("-C", str(demo), "loop", "history", "churn") == 0
    history = capsys.readouterr().out  # the demo's loop is in its config: both triggers fired
    assert "promoted  churn@1 -> churn@2" in history
    assert "triggered drift" in history and "triggered new dataset version churn@2" in history

    # run again in a fresh process (as a user would): the previous demo's folder starts over;
    # --keep leaves the server and the controller running
    again = subprocess.run(
        [sys.executable, "-m", "tether", "demo", str(demo), "--keep"],
        capture_output=True,
        text=True,
    )
    kill = next((ln for ln in again.stdout.splitlines() if ln.startswith("stop both with")), "")
    pids = [int(p) for p in kill.split("kill", 1)[-1].split()] if kill else []
    try:
        assert again.returncode == 0, again.stderr
        assert "churn@1 " in again.stdout and "churn@champion -> v2" in again.stdout
        assert len(pids) == 2, again.stdout
        for pid in pids:
            os.kill(pid, 0)  # both still running
        url = re.search(r"http://127\.0\.0\.1:\d+", again.stdout).group(0)  # type: ignore[union-attr]
        with urllib.request.urlopen(f"{url}/v2/models/churn", timeout=10) as answer:
            assert json.loads(answer.read())["versions"] == ["2"]
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def test_demo_refuses_a_folder_that_is_not_a_demo(tmp_path: Path, capsys) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert run("demo", str(tmp_path / "mine")) != 0
    assert "is not a Tether demo folder" in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert run("-C", str(tmp_path / "ws"), "init") == 0  # a workspace is not a demo either
    assert run("demo", str(tmp_path / "ws")) != 0
    assert (tmp_path / "ws" / ".tether" / "config.toml").exists()


def test_init_follows_the_root_options(tmp_path: Path, capsys) -> None:
    assert run("-C", "here", "--project", "rooted", "init") == 0
    assert str(tmp_path / "here" / ".tether") in capsys.readouterr().out
    assert not (tmp_path / ".tether").exists()
    assert run("-C", "here", "config", "get", "core.project") == 0
    assert capsys.readouterr().out.strip() == "rooted"
