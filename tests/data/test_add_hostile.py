"""``data add`` on hostile input: each case is a one-line error and nothing half-written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.data.conftest import write_tree
from tether.config.errors import SymlinkedFile
from tether.data import DataRepo, add, status
from tether.data.errors import HoldsDataset, InsideDataset, WholeWorkspace
from tether.errors import InvalidInput
from tether.store.errors import InvalidField


def _nothing_recorded(repo: DataRepo, ws: Path) -> None:
    assert repo.store.list_datasets(repo.project) == []
    pointers = [*ws.glob("*.tether"), *ws.glob("data/*.tether")]
    assert not [p for p in pointers if p.is_file() and not p.is_symlink()]


def test_a_dag_of_folder_links_is_refused_quickly(repo: DataRepo, ws: Path) -> None:
    """25 levels, each linking twice to the level below: 2**25 paths if links were followed
    blindly; each real folder is walked once and the second link is refused."""
    d = write_tree(ws / "d", {"l0/f": "x"})
    for level in range(1, 26):
        (d / f"l{level}").mkdir()
        for side in "ab":
            (d / f"l{level}" / side).symlink_to(d / f"l{level - 1}")
    with pytest.raises(InvalidInput, match=r"symlink .* points to the folder .*already part of"):
        add(repo, "d")
    _nothing_recorded(repo, ws)


def _descend(fd: int, name: str) -> int:
    os.mkdir(name, dir_fd=fd)
    inner = os.open(name, os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    return inner


def test_a_folder_too_deep_to_check_out_is_refused(repo: DataRepo, ws: Path) -> None:
    limit = os.pathconf(ws, "PC_PATH_MAX")
    d = ws / "deep"
    d.mkdir()
    # a file path just short enough to walk, too long for a checkout's temporary folder: its
    # length below ``deep`` made exact (folders of 100 bytes, then a name of 50-149), whatever
    # the length of the test's own folder
    wanted = limit - len(os.fsencode(str(d))) - 20
    fd = os.open(d, os.O_RDONLY)
    levels = max(0, (wanted - 50) // 100)
    for _ in range(levels):
        fd = _descend(fd, "a" * 99)
    name = "f" * (wanted - 100 * levels)
    os.close(os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    with pytest.raises(InvalidInput, match=r"is nested too deep.*PATH_MAX"):
        add(repo, "deep")
    for _ in range(3):  # now longer than PATH_MAX itself: the walk cannot even list it
        fd = _descend(fd, "b" * 99)
    os.close(os.open("g", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    os.close(fd)
    with pytest.raises(InvalidInput, match=r"is nested too deep.*PATH_MAX"):
        add(repo, "deep")
    _nothing_recorded(repo, ws)


def test_a_name_that_is_not_utf8_is_refused_by_add_status_and_diff(
    repo: DataRepo, ws: Path
) -> None:
    write_tree(ws / "d", {"a": "1"})
    add(repo, "d")
    bad = os.fsencode(str(ws / "d")) + b"/\xff.bin"
    with open(bad, "wb") as f:
        f.write(b"x")
    with pytest.raises(InvalidInput, match=r"d/\\xff\.bin is not valid UTF-8; .*rename it"):
        add(repo, "d")
    with pytest.raises(InvalidInput, match=r"d/\\xff\.bin is not valid UTF-8"):
        status(repo)
    from tether.data.diff_workspace import diff_workspace

    with pytest.raises(InvalidInput, match=r"d/\\xff\.bin is not valid UTF-8"):
        diff_workspace(repo, "d")
    assert [v.version for v in repo.store.list_dataset_versions(repo.project, "d")] == [1]


def test_a_gitignore_that_is_not_utf8_is_kept_byte_for_byte(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "raw" / "d", {"a": "1"})
    (ws / "raw" / ".gitignore").write_bytes(b"caf\xe9.log\n*.tmp")
    add(repo, "raw/d")
    assert (ws / "raw" / ".gitignore").read_bytes() == b"caf\xe9.log\n*.tmp\n/d\n"


def test_gitignore_lines_escape_glob_characters(repo: DataRepo, ws: Path) -> None:
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    names = ["x[bold]", "a*b", "q?", "!bang", "#hash", "back\\slash", "trail "]
    for n in names:
        write_tree(ws / "data" / n, {"f": "1"})
        add(repo, f"data/{n}", name=f"n{names.index(n)}")
    decoy = write_tree(ws / "data" / "xb", {"f": "2"})  # what /x[bold] would ignore unescaped
    paths = [f"data/{n}/f" for n in names] + ["data/xb/f"]
    out = subprocess.run(
        ["git", "check-ignore", "--stdin", "-z"],
        cwd=ws,
        input="\0".join(paths) + "\0",
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    assert sorted(p for p in out if p) == sorted(f"data/{n}/f" for n in names)
    assert decoy.exists()
    add(repo, "data/x[bold]", name="n0")  # a second add finds its line: none added
    assert (ws / "data" / ".gitignore").read_text().count("/x\\[bold\\]\n") == 1


@pytest.mark.parametrize("name", ["bad/name", "", " padded", "tab\tname", "a@2", "..", "x\\y"])
def test_bad_dataset_names_are_refused_with_the_rule(repo: DataRepo, ws: Path, name: str) -> None:
    write_tree(ws / "d", {"a": "1"})
    with pytest.raises(InvalidField, match=r"not a valid name: dataset, model and experiment"):
        add(repo, "d", name=name)
    _nothing_recorded(repo, ws)
    assert not list(repo.objects.list())


def test_a_folder_named_badly_needs_a_name(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "a@2", {"a": "1"})
    with pytest.raises(InvalidField, match=r"'a@2' is not a valid name"):
        add(repo, "a@2")
    assert add(repo, "a@2", name="a2").version.dataset == "a2"


def test_a_file_inside_tracked_data_is_refused(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "data" / "images", {"cat.png": "meow", "sub/dog.png": "woof"})
    add(repo, "data/images")
    for inner in ("data/images/cat.png", "data/images/sub", "data/images/sub/dog.png"):
        with pytest.raises(InsideDataset, match=r"inside data/images, which is tracked data"):
            add(repo, inner, name="cat")
    assert repo.store.list_datasets(repo.project) == ["images"]
    assert not (ws / "data" / "images" / ".gitignore").exists()


def test_a_folder_holding_tracked_data_is_refused(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "data" / "images", {"cat.png": "meow"})
    write_tree(ws / "data" / "labels", {"a.txt": "1"})
    add(repo, "data/images")
    with pytest.raises(HoldsDataset, match=r"data holds .*data/images, which is tracked data on"):
        add(repo, "data", name="all")
    assert repo.store.list_datasets(repo.project) == ["images"]
    assert not (ws / "data.tether").exists()
    (ws / "data" / "labels" / "notes.tether").write_text("a file that only looks like one")
    add(repo, "data/labels")  # no 'notes' beside it: not a pointer


@pytest.mark.parametrize("where", [".", "..", "sub/.."])
def test_adding_the_workspace_itself_names_the_problem(
    repo: DataRepo, ws: Path, where: str
) -> None:
    (ws / "sub").mkdir()
    with pytest.raises(WholeWorkspace, match=r"is the workspace .* itself or holds it"):
        add(repo, where, name="all")
    _nothing_recorded(repo, ws)


@pytest.mark.parametrize("control", ["d.tether", ".gitignore"])
def test_a_symlinked_control_file_is_refused_then_replaced_with_force(
    repo: DataRepo, ws: Path, tmp_path: Path, control: str
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("token=hunter2\n")
    write_tree(ws / "d", {"a": "1"})
    (ws / control).symlink_to(secret)
    with pytest.raises(SymlinkedFile, match=rf"{control} is a symbolic link .*--force"):
        add(repo, "d")
    _nothing_recorded(repo, ws)
    add(repo, "d", force=True)
    assert not (ws / control).is_symlink()
    assert "hunter2" not in (ws / control).read_text()
    assert secret.read_text() == "token=hunter2\n"


def test_files_for_git_get_the_usual_mode(repo: DataRepo, ws: Path) -> None:
    old = os.umask(0o022)
    try:
        write_tree(ws / "d", {"a": "1"})
        add(repo, "d")
    finally:
        os.umask(old)
    for f in ("d.tether", ".gitignore"):
        assert (ws / f).stat().st_mode & 0o777 == 0o644, f


def test_a_gitignore_that_is_no_file_is_refused_before_recording(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "d", {"a": "1"})
    (ws / ".gitignore").mkdir()  # cannot be read as a file, even by root (who reads any mode)
    with pytest.raises(InvalidInput, match=r"\.gitignore is not a regular file; move it away"):
        add(repo, "d")
    _nothing_recorded(repo, ws)
