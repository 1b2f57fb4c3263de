"""What a run records about its making: code, environment, command, host, process."""

from __future__ import annotations

import os
import socket
import time
from typing import TYPE_CHECKING, Any

from tether.tracking.capture import capture_all
from tether.tracking.process import process_start_ticks

if TYPE_CHECKING:
    from tether.tracking.session import Session


def capture_provenance(session: Session) -> dict[str, Any]:
    """Capture everything and store the bulky parts (diff, package list) as shared objects."""
    from tether.store import ObjectRecord

    captured = capture_all()
    info: dict[str, Any] = {
        "env": captured.environment.to_dict(),
        "command": captured.command.to_dict(),
        "host": captured.host.to_dict(),
        "process": {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "start_ticks": process_start_ticks(os.getpid()),
            "started_ms": int(time.time() * 1000),
        },
    }
    records = []
    packages = captured.environment.packages
    if not session.objects.exists(captured.environment.packages_digest):
        records.append(ObjectRecord(session.objects.put_bytes(packages).digest, len(packages)))
    if captured.git is not None:
        info["code"] = captured.git.to_dict()
        if captured.git.diff:
            stored = session.objects.put_bytes(captured.git.diff)
            records.append(ObjectRecord(stored.digest, stored.size))
    if captured.warnings:
        info["capture_warnings"] = list(captured.warnings)
    if records:
        session.store.record_objects(records)
    return info
