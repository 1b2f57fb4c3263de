"""``tether remote ...`` and ``tether data push|pull`` against a local-folder remote."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from tether.config import find_workspace, load_settings
from tether.objects import ObjectStore
from tether.store import open_store_from_settings

from .conftest import run


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """An initialised workspace."""
    assert run("init", "--project", "p") == 0
    return tmp_path


def add_version(ws: Path, name: str, files: dict[str, bytes]) -> None:
    folder = ws / "data" / name
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        (folder / rel).write_bytes(data)
    settings = load_settings(find_workspace(ws), {})
    tree = ObjectStore.from_settings(settings).put_tree(folder)
    store = open_store_from_settings(settings)
    try:
        store.get_or_create_project("p")
        store.create_dataset_version(
            "p", name, tree_digest=tree.digest, file_count=tree.count, total_size=tree.size
        )
    finally:
        store.close()


def test_remote_add_ls_default_remove(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = ws / ".tether" / "config.toml"
    template = config.read_text()
    (ws / "sub").mkdir()
    os.chdir(ws / "sub")
    assert run("remote", "add", "backup", "../../backup") == 0  # relative to where we are
    assert "added remote backup: ../backup" in capsys.readouterr().out
    assert run("remote", "add", "s3", "s3://bucket/x", "--endpoint-url", "http://h:9000") == 0
    assert run("remote", "ls") == 0
    out = capsys.readouterr().out
    assert f"  backup  {ws.parent / 'backup'}\n" in out
    assert "  s3      s3://bucket/x  (endpoint http://h:9000)" in out

    assert run("remote", "default") == 0
    assert "no default remote" in capsys.readouterr().out
    assert run("remote", "default", "s3") == 0
    assert run("remote", "ls") == 0
    assert "* s3 " in capsys.readouterr().out
    assert run("remote", "add", "s3", "gs://other") == 1
    assert "already exists (url s3://bucket/x); pass --force" in capsys.readouterr().err
    assert run("remote", "add", "s3", "gs://other", "--force") == 0
    assert tomllib.loads(config.read_text())["remotes"]["s3"] == {"url": "gs://other"}

    assert run("remote", "remove", "s3") == 0
    assert "it was the default" in capsys.readouterr().out
    assert run("remote", "remove", "backup") == 0
    assert config.read_text() == template  # back to exactly what `tether init` wrote
    assert run("remote", "ls") == 0
    assert "no remotes; add one with `tether remote add NAME URL --default`" in (
        capsys.readouterr().out
    )


def test_remote_errors_are_one_line(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("remote", "add", "x", "ftp://host/p") == 1
    assert "error: unsupported remote URL scheme 'ftp'" in capsys.readouterr().err
    assert run("remote", "add", "x", "s3://AKIAKEY:hunter2@bucket") == 1
    err = capsys.readouterr().err
    assert "never stores credentials" in err and "hunter2" not in err and "AKIAKEY" not in err
    assert run("remote", "remove", "nope") == 1
    assert "no remote named 'nope'" in capsys.readouterr().err
    assert run("remote", "default", "nope") == 1
    assert "no remote named 'nope'" in capsys.readouterr().err
    assert run("data", "push") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "`tether remote add NAME URL --default`" in err
    assert run("data", "pull", "--remote", "nope") == 1
    assert "no remote named 'nope'" in capsys.readouterr().err


def test_push_and_pull(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("remote", "add", "origin", "remote-store", "--default") == 0
    assert run("data", "push") == 0
    assert "nothing to push: project 'p' has no datasets" in capsys.readouterr().out
    add_version(ws, "images", {"a.bin": b"a" * 2000, "b.bin": b"b" * 3000})
    add_version(ws, "labels", {"l.csv": b"x,y\n"})
    capsys.readouterr()

    assert run("data", "push") == 0
    out = capsys.readouterr().out
    assert "pushed 2 versions to origin (" in out and str(ws / "remote-store") in out
    assert "copied 5 objects (" in out and "skipped 0 already there" in out
    assert run("data", "push", "images") == 0
    assert "pushed 1 version to origin" in capsys.readouterr().out

    objects = ws / ".tether" / "objects"
    for path in objects.rglob("*"):
        if path.is_file():
            path.chmod(0o644)
            path.unlink()
    assert run("data", "pull", "images@1", "-r", "origin") == 0
    out = capsys.readouterr().out
    assert "pulled 1 version from origin" in out and "copied 3 objects (5.1 KiB)" in out
    assert run("data", "pull", "--all-versions") == 0
    assert "copied 2 objects" in capsys.readouterr().out
    assert run("data", "pull", "images@7") == 1
    assert "has no version 7" in capsys.readouterr().err
