from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tether.tracking.capture import GitInfo, capture_git

from .gitrepo import Git


def capture(path: Path) -> GitInfo:
    warnings: list[str] = []
    info = capture_git(path, warnings=warnings)
    assert warnings == []
    assert info is not None
    return info


def reapply(info: GitInfo, repo: Path, git: Git, dest: Path) -> Path:
    """A fresh worktree of the recorded commit with the recorded diff applied."""
    assert info.commit is not None
    git(repo, "worktree", "add", "-q", "--detach", str(dest), info.commit)
    if info.diff:
        subprocess.run(
            ["git", "-C", str(dest), "apply", "--binary", "-"], input=info.diff, check=True
        )
    return dest


def test_clean_repository(committed: Path, git: Git) -> None:
    info = capture(committed)
    assert info.commit == git(committed, "rev-parse", "HEAD").strip()
    assert info.branch == "main"
    assert info.root == str(committed)
    assert info.workdir == "."
    assert not info.dirty
    assert info.diff == b""
    assert info.untracked == ()
    assert info.remote is None and info.remote_url is None
    assert info.to_dict()["diff_digest"] is None
    json.dumps(info.to_dict())


def test_subfolder_and_file_paths_name_the_working_folder(committed: Path) -> None:
    assert capture(committed / "src").workdir == "src"
    assert capture(committed / "src" / "model.py").workdir == "src"
    assert capture(committed / "src").root == str(committed)


def test_dirty_diff_reapplies_onto_the_commit(committed: Path, git: Git, tmp_path: Path) -> None:
    (committed / "train.py").write_text("lr = 0.01\nepochs = 30\n# tuned\n")
    (committed / "weights.bin").write_bytes(bytes(reversed(range(256))) * 5)
    (committed / "src" / "model.py").unlink()
    info = capture(committed)
    assert info.dirty
    assert b"GIT binary patch" in info.diff
    digest = info.to_dict()["diff_digest"]
    assert isinstance(digest, str) and len(digest) == 64

    rebuilt = reapply(info, committed, git, tmp_path / "rebuilt")
    assert (rebuilt / "train.py").read_text() == "lr = 0.01\nepochs = 30\n# tuned\n"
    assert (rebuilt / "weights.bin").read_bytes() == bytes(reversed(range(256))) * 5
    assert not (rebuilt / "src" / "model.py").exists()


def test_staged_changes_are_in_the_diff(committed: Path, git: Git, tmp_path: Path) -> None:
    (committed / "train.py").write_text("lr = 0.5\n")
    (committed / "new_module.py").write_text("VALUE = 1\n")
    git(committed, "add", "train.py", "new_module.py")
    (committed / "train.py").write_text("lr = 0.5\nepochs = 9\n")  # staged, then edited again
    git(committed, "mv", "src/model.py", "src/network.py")
    info = capture(committed)
    assert info.dirty
    assert info.untracked == ()  # staged files are tracked

    rebuilt = reapply(info, committed, git, tmp_path / "rebuilt")
    assert (rebuilt / "train.py").read_text() == "lr = 0.5\nepochs = 9\n"
    assert (rebuilt / "new_module.py").read_text() == "VALUE = 1\n"
    assert (rebuilt / "src" / "network.py").read_text() == "class Model:\n    pass\n"
    assert not (rebuilt / "src" / "model.py").exists()


def test_untracked_files_are_listed_and_ignored_ones_are_not(committed: Path) -> None:
    (committed / "notes.py").write_text("x = 1\n")
    (committed / "data" / "raw").mkdir(parents=True)
    (committed / "data" / "raw" / "a b ü.csv").write_text("a\n")
    (committed / "run.log").write_text("ignored\n")
    (committed / "build").mkdir()
    (committed / "build" / "out.py").write_text("ignored\n")
    info = capture(committed)
    assert info.untracked == ("data/raw/a b ü.csv", "notes.py")
    assert not info.dirty  # untracked files do not make tracked files dirty
    assert info.diff == b""


def test_detached_head(committed: Path, git: Git) -> None:
    first = git(committed, "rev-parse", "HEAD").strip()
    (committed / "train.py").write_text("lr = 1\n")
    git(committed, "commit", "-q", "-am", "second")
    git(committed, "checkout", "-q", "--detach", first)
    info = capture(committed)
    assert info.branch is None
    assert info.commit == first
    assert not info.dirty


def test_repository_without_commits(repo: Path, git: Git) -> None:
    (repo / "a.py").write_text("a = 1\n")
    (repo / "b.py").write_text("b = 2\n")
    git(repo, "add", "a.py")
    info = capture(repo)
    assert info.commit is None
    assert info.branch == "main"
    assert not info.dirty
    assert info.diff == b""
    assert info.untracked == ("a.py", "b.py")
    json.dumps(info.to_dict())


def test_empty_repository(repo: Path) -> None:
    info = capture(repo)
    assert info.commit is None and info.untracked == () and info.diff == b""


@pytest.mark.parametrize(
    ("url", "recorded"),
    [
        ("https://user:s3cret@github.com/acme/x.git", "https://github.com/acme/x.git"),
        ("https://ghp_tokenonly@github.com/acme/x.git", "https://github.com/acme/x.git"),
        ("https://github.com/acme/x.git", "https://github.com/acme/x.git"),
        ("git@github.com:acme/x.git", "git@github.com:acme/x.git"),
        ("ssh://git@github.com:22/acme/x.git", "ssh://git@github.com:22/acme/x.git"),
    ],
)
def test_remote_url_without_credentials(committed: Path, git: Git, url: str, recorded: str) -> None:
    git(committed, "remote", "add", "origin", url)
    info = capture(committed)
    assert info.remote == "origin"
    assert info.remote_url == recorded


def test_origin_is_preferred_else_first_remote(committed: Path, git: Git) -> None:
    git(committed, "remote", "add", "upstream", "https://example.com/up.git")
    git(committed, "remote", "add", "fork", "https://example.com/fork.git")
    assert capture(committed).remote == "fork"
    git(committed, "remote", "add", "origin", "https://example.com/origin.git")
    info = capture(committed)
    assert (info.remote, info.remote_url) == ("origin", "https://example.com/origin.git")


def test_not_a_repository(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    warnings: list[str] = []
    assert capture_git(folder, warnings=warnings) is None
    assert warnings == []


def test_git_not_installed(
    committed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    warnings: list[str] = []
    assert capture_git(committed, warnings=warnings) is None
    assert len(warnings) == 1 and "git is not installed" in warnings[0]


def test_git_failure_is_a_warning_not_an_error(committed: Path, tmp_path: Path) -> None:
    warnings: list[str] = []
    assert capture_git(committed / ".git", warnings=warnings) is None
    assert len(warnings) == 1 and warnings[0].startswith("git information not recorded")


def test_every_kind_of_status_entry_is_read(repo: Path, git: Git) -> None:
    """A modified file, a staged rename (whose origin path, a separate entry, looks like an
    untracked one), a merge conflict and untracked files, with spaces in their names."""
    for name in ("path with space.py", "? old.py", "conflict.py"):
        (repo / name).write_text(f"{name}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "first")
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "conflict.py").write_text("theirs\n")
    git(repo, "commit", "-q", "-am", "theirs")
    git(repo, "checkout", "-q", "-b", "feature/x", "main")
    (repo / "conflict.py").write_text("ours\n")
    git(repo, "commit", "-q", "-am", "ours")
    head = git(repo, "rev-parse", "HEAD").strip()
    assert subprocess.run(["git", "-C", str(repo), "merge", "-q", "other"]).returncode != 0
    (repo / "path with space.py").write_text("changed\n")
    git(repo, "mv", "? old.py", "new.py")
    (repo / "untracked file.py").write_text("new\n")

    info = capture(repo)
    assert (info.commit, info.branch, info.dirty) == (head, "feature/x", True)
    assert info.untracked == ("untracked file.py",)
    for path in (b"path with space.py", b"new.py", b"conflict.py"):
        assert path in info.diff


@pytest.mark.skipif(os.name == "nt", reason="the git shim is a shell script")
def test_capture_costs_four_git_calls_on_a_thousand_files(
    repo: Path, git: Git, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many files, capture asks git four questions (three of them at once): where the
    tree is, its status, its remotes, and the diff when it is dirty; nothing per file."""
    for i in range(1000):
        folder = repo / f"pkg{i // 100}"
        folder.mkdir(exist_ok=True)
        (folder / f"m{i}.py").write_text(f"X = {i}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "many")
    (repo / "pkg0" / "m0.py").write_text("X = -1\n")
    (repo / "pkg1" / "new.py").write_text("Y = 1\n")
    real, log = shutil.which("git"), tmp_path / "calls"
    shim = tmp_path / "bin" / "git"  # the real git, with each call written down
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$3" >> "{log}"\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim.parent}{os.pathsep}{os.environ['PATH']}")
    info = capture(repo)
    assert info.dirty and info.untracked == ("pkg1/new.py",)
    assert sorted(log.read_text().split()) == ["config", "diff", "rev-parse", "status"]
