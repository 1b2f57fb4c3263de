from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from tether.store import validate
from tether.store.entities import AuditEvent
from tether.store.errors import InvalidField
from tether.store.sql import schema as t
from tether.store.sql.core import SqlCore, now


class AuditMixin(SqlCore):
    def record_audit(
        self,
        *,
        actor: str,
        action: str,
        target: str,
        outcome: str,
        project: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        validate.name("actor", actor)
        validate.name("action", action)
        validate.name("target", target)
        validate.name("outcome", outcome)
        validate.optional_name("project", project)
        detail_ = None if detail is None else validate.json_map("detail", detail)
        time = now()
        with self._write() as conn:
            event_id = conn.execute(
                sa.insert(t.audit_events)
                .values(
                    time=time,
                    actor=actor,
                    action=action,
                    target=target,
                    project=project,
                    outcome=outcome,
                    detail=detail_,
                )
                .returning(t.audit_events.c.id)
            ).scalar_one()
        return AuditEvent(int(event_id), time, actor, action, target, project, outcome, detail_)

    def list_audit(
        self, *, project: str | None = None, limit: int = 100, action: str | None = None
    ) -> list[AuditEvent]:
        """Newest first; with ``action``, only the events of that action."""
        validate.optional_name("project", project)
        validate.optional_name("action", action)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidField("limit", f"expected a positive whole number, got {limit!r}")
        c = t.audit_events.c
        query = (
            sa.select(c.id, c.time, c.actor, c.action, c.target, c.project, c.outcome, c.detail)
            .order_by(c.id.desc())
            .limit(limit)
        )
        if project is not None:
            query = query.where(c.project == project)
        if action is not None:
            query = query.where(c.action == action)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [AuditEvent(*r) for r in rows]
