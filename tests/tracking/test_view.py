"""A `running` run whose process is gone reads as `dead`."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tether.tracking.process import process_alive, process_start_ticks
from tether.tracking.session import Session
from tether.tracking.view import RunView


def _run(session: Session, **info: object) -> RunView:
    stored = session.store.create_run(session.project, info=info)
    return RunView(session, stored)


def test_same_host_pid_check(session: Session) -> None:
    import socket

    me = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "start_ticks": process_start_ticks(os.getpid()),
    }
    assert _run(session, process=me).status == "running"
    reused = {**me, "start_ticks": (me["start_ticks"] or 0) + 1}  # same pid, another process
    assert _run(session, process=reused).status == "dead"
    gone = {**me, "pid": 2**22 + 12345}
    assert _run(session, process=gone).status == "dead"


def test_other_host_goes_by_heartbeat(session: Session) -> None:
    view = _run(session, process={"host": "elsewhere", "pid": 1})
    assert view.status == "running"
    old = datetime.now(UTC) - timedelta(minutes=10)
    stale = RunView(session, dataclasses.replace(view.run, start_time=old))
    assert stale.status == "dead"
    beating = RunView(
        session, dataclasses.replace(view.run, start_time=old, heartbeat_at=datetime.now(UTC))
    )
    assert beating.status == "running"


def test_terminal_status_is_kept(session: Session, workspace: Path) -> None:
    view = _run(session, process={"host": "elsewhere", "pid": 1})
    session.store.set_run_status(view.id, "finished")
    assert RunView(session, session.store.get_run(view.id)).status == "finished"


def test_process_alive() -> None:
    assert process_alive(os.getpid(), process_start_ticks(os.getpid()))
    assert not process_alive(2**22 + 54321, None)
