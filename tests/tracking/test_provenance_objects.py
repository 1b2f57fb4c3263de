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


def test_capture_freshens_a_package_list_already_stored(workspace: Path) -> None:
    """A run finds the package list stored and records it a moment later: a collection in
    between keeps it, as if just written (the grace period covers it)."""
    import time

    from tether.tracking.provenance import capture_provenance
    from tether.tracking.session import open_session

    ws = tether.Workspace(workspace)
    with ws.run(name="first") as first:
        pass
    ws.store.delete_run(first.id)
    digest = _env_digest(ws, first.id)
    time.sleep(1.5)  # as old as the grace period below: what is written after is younger
    capture_provenance(open_session(workspace))  # what a new run does before it is recorded

    ws.gc(grace_s=1.5)

    assert ws.objects.exists(digest)
