"""A version is what was on disk at one moment: ``add`` racing a writer in another process
(a checkout, a program swapping folders) records whole versions only, never a mix."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.data.conftest import write_tree
from tether.data import DataRepo, FileChanged, add, checkout
from tether.errors import InvalidInput

CHECKOUTS = textwrap.dedent(
    """
    import sys
    from tether.data import DataRepo, checkout
    from tether.workspace import Workspace

    repo = DataRepo(Workspace(sys.argv[1]))
    print("ready", flush=True)
    for i in range(int(sys.argv[2])):
        checkout(repo, "d@1" if i % 2 else "d@2")
    """
)


@pytest.mark.slow
def test_add_during_checkouts_records_only_whole_versions(repo: DataRepo, ws: Path) -> None:
    """A second process checks out v1 and v2 of ``d`` in turn while this one adds ``d`` again
    and again: every version recorded is exactly v1 or v2, never a mix."""
    one = {f"f{i:03}": f"one {i}" for i in range(150)}
    two = {f"f{i:03}": f"two {i}" * 3 for i in range(100)} | {f"g{i}": "new" for i in range(60)}
    write_tree(ws / "d", one)
    v1 = add(repo, "d").version.tree_digest
    for p in (ws / "d").iterdir():
        p.unlink()
    write_tree(ws / "d", two)
    v2 = add(repo, "d").version.tree_digest
    seen = set()
    with subprocess.Popen(
        [sys.executable, "-c", CHECKOUTS, str(ws), "20"], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        while proc.poll() is None:
            seen.add(add(repo, "d").version.tree_digest)
    assert proc.returncode == 0
    assert seen <= {v1, v2}
    digests = {v.tree_digest for v in repo.store.list_dataset_versions(repo.project, "d")}
    assert digests <= {v1, v2}
    checkout(repo, "d@2")


SWAP = textwrap.dedent(
    """
    import os, sys
    d, a, b, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    print("ready", flush=True)
    for i in range(n):
        spare = a if i % 2 else b
        os.rename(d, d + ".old")
        os.rename(spare, d)
        os.rename(d + ".old", spare)
    """
)


@pytest.mark.slow
def test_add_while_folders_are_swapped_records_only_whole_versions(
    repo: DataRepo, ws: Path
) -> None:
    """Another process swaps ``d`` with copies of v1 and v2 as fast as it can, while this one
    adds ``d``: each add records v1 or v2, or fails with a clear error; never a mix. Files
    are re-hashed every time (recent whole-second mtimes are not trusted by the stat cache),
    so each add opens files that may belong to a folder swapped in after the walk."""
    one = {f"f{i:03}": f"one {i}" for i in range(200)}
    two = {f"f{i:03}": f"two {i}" * 2 for i in range(150)}
    write_tree(ws / "d", one)
    write_tree(ws / "a", one)
    write_tree(ws / "b", two)
    now = int(time.time()) + 5
    for folder in ("a", "b", "d"):
        for p in (ws / folder).iterdir():
            os.utime(p, (now, now))
    v1 = add(repo, "d", pointer=False).version.tree_digest
    v2 = add(repo, "b", name="d", pointer=False).version.tree_digest
    seen = set()
    args = [str(ws / "d"), str(ws / "a"), str(ws / "b"), "3000"]
    with subprocess.Popen(
        [sys.executable, "-c", SWAP, *args], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        while proc.poll() is None:
            try:
                seen.add(add(repo, "d", pointer=False).version.tree_digest)
            except InvalidInput as e:  # d missing for an instant
                assert "no file or folder at" in str(e)
            except FileChanged as e:  # after every attempt
                assert "changed while it was being hashed on each of 3 attempts" in str(e)
    assert proc.returncode == 0
    assert seen <= {v1, v2}
