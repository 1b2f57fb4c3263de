"""``tether loop trigger NAME --reason ...``: a trigger the next tick acts on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tether.store import LoopTrigger

if TYPE_CHECKING:
    from tether.workspace import Workspace


def trigger(workspace: Workspace, loop: str, reason: str | None = None) -> LoopTrigger:
    from tether.store.ids import uuid7

    store = workspace.store
    row = store.add_loop_trigger(
        workspace.project,
        loop,
        key=f"manual:{uuid7()}",
        kind="manual",
        reason=f"manual: {reason}" if reason else "manual",
    )
    assert row is not None  # a fresh key
    store.record_loop_event(
        workspace.project,
        loop,
        "triggered",
        trigger_id=row.id,
        detail={"key": row.key, "kind": "manual", "reason": row.reason},
    )
    return row
