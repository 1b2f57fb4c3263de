"""Atomic writes: files get the usual mode, and control files are never written over a link."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tether.config import init_workspace
from tether.config.atomic import write_bytes_atomic, write_text_atomic
from tether.config.errors import SymlinkedFile
from tether.config.remote_edit import add_remote


@pytest.fixture
def umask_022() -> object:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_written_files_get_0666_less_the_umask(tmp_path: Path, umask_022: object) -> None:
    write_text_atomic(tmp_path / "a.txt", "x")
    write_bytes_atomic(tmp_path / "b.bin", b"y", durable=False)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.bin").stat().st_mode & 0o777 == 0o644
    os.umask(0o077)
    write_text_atomic(tmp_path / "c.txt", "z")
    assert (tmp_path / "c.txt").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin", "c.txt"]


def test_a_control_file_that_is_a_link_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_text("keep")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(SymlinkedFile, match=r"link is a symbolic link \(to .*target\)"):
        write_text_atomic(tmp_path / "link", "new")
    assert target.read_text() == "keep" and (tmp_path / "link").is_symlink()
    write_text_atomic(tmp_path / "link", "new", replace_link=True)
    assert target.read_text() == "keep" and (tmp_path / "link").read_text() == "new"
    assert not (tmp_path / "link").is_symlink()


def test_init_refuses_a_symlinked_tether_gitignore(tmp_path: Path, umask_022: object) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("mine\n")
    (tmp_path / "ws" / ".tether").mkdir(parents=True)
    (tmp_path / "ws" / ".tether" / ".gitignore").symlink_to(elsewhere)
    with pytest.raises(SymlinkedFile, match=r"\.tether/\.gitignore is a symbolic link"):
        init_workspace(tmp_path / "ws")
    assert elsewhere.read_text() == "mine\n"
    (tmp_path / "ws" / ".tether" / ".gitignore").unlink()
    ws, _ = init_workspace(tmp_path / "ws")
    for f in (ws.config_path, ws.dir / ".gitignore"):
        assert f.stat().st_mode & 0o777 == 0o644


def test_editing_a_symlinked_config_is_refused(tmp_path: Path) -> None:
    ws, _ = init_workspace(tmp_path / "ws")
    shared = tmp_path / "shared.toml"
    shared.write_text(ws.config_path.read_text())
    ws.config_path.unlink()
    ws.config_path.symlink_to(shared)
    before = shared.read_text()
    with pytest.raises(SymlinkedFile, match=r"config\.toml is a symbolic link"):
        add_remote(ws.config_path, "origin", "/data/remote")
    assert shared.read_text() == before and ws.config_path.is_symlink()


def test_a_killed_writers_temp_file_is_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tether.config.atomic import TEMP, remove_dead_temps

    dead = int(
        subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    killed = tmp_path / f".a.toml.{TEMP}{dead}-0011"
    live = tmp_path / f".a.toml.{TEMP}{os.getpid()}-0022"
    unrelated = tmp_path / f".a.toml.{TEMP}notapid"
    for p in (killed, live, unrelated):
        p.write_text("half")
    assert remove_dead_temps(str(tmp_path)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, unrelated.name])
    write_text_atomic(tmp_path / "a.toml", "x = 1\n")  # its own temp name carries its pid
    assert (tmp_path / "a.toml").read_text() == "x = 1\n"
