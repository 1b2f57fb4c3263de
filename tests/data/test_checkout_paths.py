"""Checkout writes only where data may live, whatever pointer files and trees say."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import run
from tests.data.conftest import read_tree, write_tree
from tests.data.test_git_pointers import git
from tether.data import (
    DataRepo,
    ReservedPath,
    UnsafeDestination,
    UnsafePointer,
    add,
    cached_path,
    checkout,
    checkout_pointers,
    resolve,
    status,
)
from tether.errors import InvalidInput


@pytest.fixture
def repo_with_git(repo: DataRepo, ws: Path) -> Path:
    git(ws, "init", "-q", "-b", "main")
    write_tree(ws / "d", {"a.txt": "one", "config": "[core]\n\tfsmonitor = touch PWNED\n"})
    add(repo, "d")
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "v1")
    return ws


def _git_dir_state(ws: Path) -> dict[str, bytes]:
    return read_tree(ws / ".git")


def test_a_git_pointer_never_replaces_the_repository(repo: DataRepo, repo_with_git: Path) -> None:
    ws = repo_with_git
    shutil.copy(ws / "d.tether", ws / ".git.tether")  # a committed pointer named .git.tether
    before = _git_dir_state(ws)
    pointer_before = (ws / "d.tether").read_bytes()
    for attempt in (lambda: checkout_pointers(repo), lambda: checkout(repo, "d@1")):
        with pytest.raises(UnsafePointer, match=r"\.git\.tether.*nothing was written"):
            attempt()
        assert _git_dir_state(ws) == before  # history and config untouched
        assert (ws / "d.tether").read_bytes() == pointer_before
    assert "PWNED" not in (ws / ".git" / "config").read_text()
    assert git(ws, "log", "--format=%s") == "v1\n"
    with pytest.raises(UnsafePointer):
        status(repo)


@pytest.mark.parametrize(
    "name", ["..tether", "x/...tether", ".tether.tether", "x/.git.tether", "x/.GIT.tether"]
)
def test_pointers_naming_no_data_of_their_own_are_refused(
    repo: DataRepo, ws: Path, name: str
) -> None:
    write_tree(ws / "d", {"a.txt": "one"})
    add(repo, "d")
    shutil.rmtree(ws / "d")
    (ws / name).parent.mkdir(exist_ok=True)
    shutil.copy(ws / "d.tether", ws / name)
    before = sorted(os.listdir(ws))
    with pytest.raises(UnsafePointer, match=os.path.basename(name).replace(".", r"\.")):
        checkout_pointers(repo)
    assert sorted(os.listdir(ws)) == before  # not even d was restored
    assert os.path.isdir(ws / ".tether")


def test_a_pointer_whose_data_is_a_symlink_out_of_the_workspace_is_refused(
    repo: DataRepo, ws: Path, tmp_path: Path
) -> None:
    write_tree(ws / "d", {"a.txt": "one"})
    add(repo, "d")
    outside = tmp_path / "outside"
    write_tree(outside, {"d/keep.txt": "mine"})
    os.symlink(outside / "d", ws / "e")
    shutil.copy(ws / "d.tether", ws / "e.tether")
    with pytest.raises(UnsafePointer, match=r"e\.tether.*outside the workspace"):
        checkout(repo, "d@1")
    assert read_tree(outside / "d") == {"keep.txt": b"mine"}


def test_a_tree_with_git_files_is_never_checked_out(
    repo: DataRepo, repo_with_git: Path, tmp_path: Path
) -> None:
    ws = repo_with_git
    write_tree(ws / "evil", {".git/config": "[core]\n\tfsmonitor = touch PWNED\n", "x": "x"})
    add(repo, "evil")  # a folder that holds a repository, versioned as data
    shutil.rmtree(ws / "evil")
    before = _git_dir_state(ws)
    with pytest.raises(UnsafeDestination, match=r"'\.git/config' lies in a \.git folder"):
        checkout_pointers(repo)
    with pytest.raises(UnsafeDestination):
        checkout(repo, "evil@1", to=tmp_path / "out")
    with pytest.raises(UnsafeDestination):
        cached_path(repo, resolve(repo, "evil@1"))
    with pytest.raises(InvalidInput, match=r"'\.git/config' inside a \.git"):
        repo.objects.get_tree(resolve(repo, "evil@1").tree_digest, ws)  # objects get --tree
    assert not (ws / "evil").exists() and not (tmp_path / "out").exists()
    assert _git_dir_state(ws) == before


def test_checkout_to_never_writes_in_git_or_tether_folders(
    repo: DataRepo, repo_with_git: Path
) -> None:
    ws = repo_with_git
    before = _git_dir_state(ws)
    for dest in (ws / ".git" / "hooks", ws / ".git", ws / ".tether" / "x", ws / "sub" / ".Git"):
        with pytest.raises(UnsafeDestination):
            checkout(repo, "d@1", to=dest)
    assert _git_dir_state(ws) == before
    (ws / "nested" / ".git").mkdir(parents=True)  # a repository inside the destination
    (ws / "deeper" / "x" / ".git").mkdir(parents=True)
    with pytest.raises(UnsafeDestination, match=r"holds x/\.git"):
        checkout(repo, "d@1", to=ws / "deeper")
    with pytest.raises(UnsafeDestination, match=r"holds a \.git"):
        checkout(repo, "d@1", to=ws / "nested")


def test_data_inside_a_git_folder_cannot_be_added(repo: DataRepo, repo_with_git: Path) -> None:
    ws = repo_with_git
    with pytest.raises(ReservedPath):
        add(repo, ws / ".git" / "hooks")
    assert not (ws / ".git" / "hooks.tether").exists()


def test_cli_names_the_pointer_in_one_line(
    repo: DataRepo, ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(ws / "d", {"a.txt": "one"})
    add(repo, "d")
    shutil.rmtree(ws / "d")
    shutil.copy(ws / "d.tether", ws / "..tether")
    assert run("data", "checkout") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: refusing pointer file ") and "..tether" in err
    assert err.count("\n") == 1
    assert not (ws / "d").exists()


def test_a_symlinked_gitignore_stops_checkout_before_any_data_moves(
    repo: DataRepo, ws: Path, tmp_path: Path
) -> None:
    from tether.config.errors import SymlinkedFile

    write_tree(ws / "data" / "d", {"a.txt": "one"})
    add(repo, "data/d")
    write_tree(ws / "data" / "d", {"a.txt": "two"})
    add(repo, "data/d")
    target = tmp_path / "elsewhere"
    target.write_text("secret\n")
    gitignore = ws / "data" / ".gitignore"
    gitignore.unlink()
    gitignore.symlink_to(target)
    with pytest.raises(SymlinkedFile):
        checkout(repo, "d@1")
    assert (ws / "data" / "d" / "a.txt").read_text() == "two"  # nothing moved
    assert "version = 2" in (ws / "data" / "d.tether").read_text()
    assert target.read_text() == "secret\n"
    checkout(repo, "d@1", force=True)  # replaces the link itself, never writes through it
    assert (ws / "data" / "d" / "a.txt").read_text() == "one"
    assert not gitignore.is_symlink() and target.read_text() == "secret\n"
