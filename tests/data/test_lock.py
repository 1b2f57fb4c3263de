"""One writer per dataset: ``add`` and ``checkout`` of the same data, in separate processes,
take turns; a busy dataset is a one-line error naming the process that holds it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.data.conftest import write_tree
from tether.data import DataRepo, DatasetBusy, add, checkout
from tether.data.lock import dataset_lock
from tether.workspace import Workspace

HOLD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tether.config import find_workspace
    from tether.data.lock import dataset_lock

    with dataset_lock(find_workspace(sys.argv[1]), Path(sys.argv[2]), timeout=5):
        print("held", flush=True)
        sys.stdin.readline()
    """
)


def _holder(ws: Path, data: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(ws), str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def _release(proc: subprocess.Popen[str]) -> None:
    proc.communicate("\n", timeout=10)
    assert proc.returncode == 0


def test_add_waits_then_fails_naming_the_holder(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "d", {"a": "1"})
    holder = _holder(ws, ws / "d")
    try:
        busy = DataRepo(Workspace(ws, **{"data.lock_timeout_s": 0.2}))
        with pytest.raises(DatasetBusy, match=rf"d is locked by process {holder.pid} \(a tether"):
            add(busy, "d")
        assert repo.store.list_datasets(repo.project) == []
        assert not (ws / "d.tether").exists()
        (ws / "e").mkdir()
        add(busy, "e")  # other data: not locked
    finally:
        _release(holder)
    assert add(repo, "d").version.version == 1  # released: free again


def test_checkout_waits_for_the_lock_too(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "d", {"a": "1"})
    add(repo, "d")
    (ws / "d" / "a").write_text("2")
    add(repo, "d")
    holder = _holder(ws, ws / "d")
    try:
        busy = DataRepo(Workspace(ws, **{"data.lock_timeout_s": 0.2}))
        with pytest.raises(DatasetBusy, match=rf"locked by process {holder.pid}"):
            checkout(busy, "d@1")
        assert (ws / "d" / "a").read_text() == "2"
    finally:
        _release(holder)
    checkout(repo, "d@1")
    assert (ws / "d" / "a").read_text() == "1"


def test_the_cli_reports_a_busy_dataset_in_one_line(ws: Path) -> None:
    write_tree(ws / "d", {"a": "1"})
    holder = _holder(ws, ws / "d")
    try:
        env = {**os.environ, "TETHER_DATA_LOCK_TIMEOUT_S": "0.2"}
        done = subprocess.run(
            [sys.executable, "-m", "tether", "data", "add", "d"],
            cwd=ws,
            env=env,
            capture_output=True,
            text=True,
        )
    finally:
        _release(holder)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and f"locked by process {holder.pid}" in done.stderr


def test_a_lock_is_released_when_its_holder_dies(repo: DataRepo, ws: Path) -> None:
    write_tree(ws / "d", {"a": "1"})
    holder = _holder(ws, ws / "d")
    holder.kill()
    holder.communicate(timeout=10)
    with dataset_lock(repo.workspace, ws / "d", timeout=1):
        pass
