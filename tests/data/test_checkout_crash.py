"""A checkout killed at any point leaves no temporary folder and no new data behind an old
pointer once the next command has touched the dataset."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.data.conftest import read_tree, write_tree
from tether.data import DataRepo, add, read_pointer, status
from tether.data.leftovers import CHECKOUT, OLD, recover
from tether.data.snapshot import unchanged


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


def _leftovers(folder: Path) -> list[str]:
    return sorted(x for x in os.listdir(folder) if CHECKOUT in x or OLD in x)


def test_leftovers_of_a_dead_checkout_are_rolled_back_or_removed(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "d", {"a.txt": "old"})
    add(repo, "d")
    dead = _dead_pid()
    # killed between its two renames: d is in the old folder, the new content beside it
    os.makedirs(ws / f".d.{OLD}{dead}-abc")
    os.rename(ws / "d", ws / f".d.{OLD}{dead}-abc" / "x")
    write_tree(ws / f".d.{CHECKOUT}{dead}-def", {"a.txt": "new"})
    write_tree(ws / f".d.{CHECKOUT}{os.getpid()}-ghi", {"a.txt": "running"})  # a live one
    write_tree(ws / f".e.{CHECKOUT}{dead}-jkl", {"a.txt": "another dataset's"})
    assert unchanged(os.path.realpath(ws)) is None  # the fast status leaves it to status
    [s] = status(repo)  # the next command that touches d
    assert s.clean and read_tree(ws / "d") == {"a.txt": b"old"}
    assert _leftovers(ws) == [f".d.{CHECKOUT}{os.getpid()}-ghi", f".e.{CHECKOUT}{dead}-jkl"]
    assert recover(str(ws / "e")) == 1
    assert _leftovers(ws) == [f".d.{CHECKOUT}{os.getpid()}-ghi"]


def _tether(ws: Path, *args: str) -> subprocess.Popen[bytes]:
    code = "import sys; from tether.cli.main import main; main(sys.argv[1:])"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ws,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_a_killed_checkout_never_leaves_new_data_behind_an_old_pointer(
    repo: DataRepo, ws: Path
) -> None:
    d = ws / "d"
    contents = {}
    for v in (1, 2):
        write_tree(d, {f"f{i % 20}/{i:04}.bin": f"{v}-{i}-" * 2000 for i in range(1200)})
        add(repo, "d")
        contents[v] = read_tree(d)
    start = time.monotonic()
    assert _tether(ws, "data", "checkout", "d@1").wait() == 0  # untimed: how long one takes
    took = time.monotonic() - start
    hits = set()
    # Kills spread from the start of a checkout to past its end, in a seeded order, then later
    # ones while every kill has landed in the same phase: on a loaded machine a checkout can run
    # much slower than the untimed one, and early kills alone would never reach the swap.
    fractions = [0.1 * i for i in range(1, 13)]
    random.Random(20261206).shuffle(fractions)
    fractions += [1.2 + 0.3 * i for i in range(10)]
    for tried, fraction in enumerate(fractions):
        if tried >= 10 and len(hits) >= 2:
            break
        old = read_pointer(ws / "d.tether").version
        new = 3 - old
        proc = _tether(ws, "data", "checkout", f"d@{new}")
        time.sleep(took * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        status(repo)  # the next command that touches the dataset
        assert _leftovers(ws) == []
        data, pointer = read_tree(d), read_pointer(ws / "d.tether").version
        assert data in (contents[1], contents[2])
        if data == contents[new]:
            assert pointer == new  # never the new data behind the old pointer
        hits.add((data == contents[new], pointer == new))
        if pointer != (1 if data == contents[1] else 2):
            assert _tether(ws, "data", "checkout").wait() == 0  # what status tells users to do
            assert read_tree(d) == contents[pointer]
    assert len(hits) >= 2  # the kills landed in more than one phase


def test_the_next_add_rolls_back_a_killed_checkout_and_removes_dead_temp_files(
    repo: DataRepo, ws: Path
) -> None:
    from tether.config.atomic import TEMP

    write_tree(ws / "d", {"a.txt": "old"})
    add(repo, "d")
    dead = _dead_pid()
    os.makedirs(ws / f".d.{OLD}{dead}-abc")  # killed between the two renames: no d at all
    os.rename(ws / "d", ws / f".d.{OLD}{dead}-abc" / "x")
    killed = [f".d.tether.{TEMP}{dead}-aa", f"..gitignore.{TEMP}{dead}-bb"]
    live = f".d.tether.{TEMP}{os.getpid()}-cc"  # another writer in this process, still going
    for name in [*killed, live]:
        (ws / name).write_text("half")
    result = add(repo, "d")
    assert not result.created  # the old data came back, so it is the same version
    assert read_tree(ws / "d") == {"a.txt": b"old"}
    assert _leftovers(ws) == []
    assert sorted(x for x in os.listdir(ws) if TEMP in x) == [live]
