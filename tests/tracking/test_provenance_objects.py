"""The package list a run captures is stored in every object store a process tracks into,
and again after garbage collection removed it."""

from __future__ import annotations

from pathlib import Path

import tether
from tether.config import init_workspace


def _env_digest(ws: tether.Workspace, run_id: str) -> str:
    return str(ws.store.get_run(run_id).info["env"]["packages_digest"])


def test_each_workspace_of_a_process_gets_the_package_list(workspace: Path) -> None:
    other = workspace.parent / "other"
    init_workspace(other, project="proj")
    for root in (workspace, other):
        ws = tether.Workspace(root, store_url=f"sqlite:///{root}/.tether/t.db")
        with ws.run(name="r") as run:
            pass
        assert ws.objects.exists(_env_digest(ws, run.id)), root
        ws.close()


def test_a_run_after_collection_stores_the_package_list_again(workspace: Path) -> None:
    ws = tether.Workspace(workspace)
    with ws.run(name="first") as first:
        pass
    ws.store.delete_run(first.id)
    ws.gc(grace_s=0)
    assert not ws.objects.exists(_env_digest(ws, first.id))
    with ws.run(name="second") as second:
        pass
    assert ws.objects.exists(_env_digest(ws, second.id))
