"""Pointer files read without TOML (tether.data.pointer_files) say what read_pointer says, or
nothing at all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tether.data.pointer import find_pointers, read_pointer, write_pointer
from tether.data.pointer_files import pointer_files, read_as_written

TREE = "ab" * 32


@pytest.mark.parametrize(
    "name", ["imgs", "a b-c_d.e", "données", "日本", 'quo"te', "back\\slash", "tab\there", "x\x1b"]
)
@pytest.mark.parametrize("kind", ["file", "folder"])
def test_a_written_pointer_reads_the_same(tmp_path: Path, name: str, kind: str) -> None:
    data = tmp_path / "data"
    write_pointer(data, name=name, version=7, kind=kind, tree=TREE, files=3, size=0)
    p = read_pointer(tmp_path / "data.tether")
    assert (p.name, p.version, p.tree) == (name, 7, TREE)
    fields = read_as_written(str(p.path))
    if name.isascii() and name.isprintable() and '"' not in name and "\\" not in name:
        assert fields == (name, 7, TREE)
    else:
        assert fields is None  # written with escapes: read with TOML only


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace("version = 7", "version=7"),
        lambda t: t.replace("version = 7", "version = 07"),
        lambda t: t.replace("version = 7", "version = 0"),
        lambda t: t.replace("version = 7", "version = 1_0"),
        lambda t: t.replace('name = "imgs"', "name = 'imgs'"),
        lambda t: t.replace('name = "imgs"', 'name = ""'),
        lambda t: t.replace('kind = "folder"', 'kind = "link"'),
        lambda t: t.replace(TREE, TREE.upper()),
        lambda t: t.replace(TREE, TREE[:-1]),
        lambda t: t.replace("# Written", "#written"),
        lambda t: t.replace("\n", "\r\n"),
        lambda t: t + "extra = 1\n",
        lambda t: t.rstrip("\n"),
        lambda t: t.replace("size = 0\n", ""),
    ],
)
def test_any_other_text_is_left_to_the_toml_reader(
    tmp_path: Path, edit: Callable[[str], str]
) -> None:
    write_pointer(
        tmp_path / "data", name="imgs", version=7, kind="folder", tree=TREE, files=3, size=0
    )
    path = tmp_path / "data.tether"
    path.write_bytes(edit(path.read_text()).encode())
    assert read_as_written(str(path)) is None


def test_pointer_files_are_sorted_as_paths(tmp_path: Path) -> None:
    for rel in ["a-b/x", "a/x", "a/b/y", "a0", "a.b"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        write_pointer(tmp_path / rel, name="n", version=1, kind="file", tree=TREE, files=1, size=1)
    listed = pointer_files(str(tmp_path))
    assert [Path(p) for p in listed] == sorted(Path(p) for p in listed)
    assert [p.path for p in find_pointers(tmp_path)] == [Path(p) for p in listed]
    assert len(listed) == 5
