"""The continuous-training controller's state: leases, triggers (attempts) and events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tether.store import validate
from tether.store.entities import LoopEvent, LoopTrigger
from tether.store.errors import InvalidField
from tether.store.sql import schema as t
from tether.store.sql.core import SqlCore, now

TRIGGER_COLUMNS = (
    "id",
    "project",
    "loop",
    "key",
    "kind",
    "reason",
    "status",
    "attempts",
    "created_at",
    "updated_at",
    "next_try_at",
    "detail",
)


def _detail(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else validate.json_map("detail", value)


class LoopsMixin(SqlCore):
    def acquire_loop_lease(
        self, project: str, loop: str, holder: str, ttl_s: float, *, steal_from: str | None = None
    ) -> bool:
        validate.name("project", project)
        validate.name("loop", loop)
        validate.name("holder", holder)
        if isinstance(ttl_s, bool) or not isinstance(ttl_s, int | float) or ttl_s <= 0:
            raise InvalidField("ttl_s", f"expected a positive number of seconds, got {ttl_s!r}")
        c = t.loop_leases.c
        time = now()
        expires = time + timedelta(seconds=ttl_s)
        with self._write() as conn:
            # the first holder inserts; afterwards the conditional UPDATE takes the row only
            # when it is ours or has expired (a row lock on PostgreSQL, the write lock on SQLite)
            inserted = conn.execute(
                self._insert(conn, t.loop_leases)
                .values(project=project, loop=loop, holder=holder, expires_at=expires)
                .on_conflict_do_nothing(index_elements=["project", "loop"])
            ).rowcount
            if inserted == 1:
                return True
            taken = conn.execute(
                sa.update(t.loop_leases)
                .where(
                    c.project == project,
                    c.loop == loop,
                    sa.or_(
                        c.holder == holder,
                        c.expires_at < time,
                        c.holder == (steal_from if steal_from is not None else holder),
                    ),
                )
                .values(holder=holder, expires_at=expires)
            ).rowcount
        return bool(taken == 1)

    def release_loop_lease(self, project: str, loop: str, holder: str) -> None:
        c = t.loop_leases.c
        with self._write() as conn:
            conn.execute(
                sa.delete(t.loop_leases).where(
                    c.project == project, c.loop == loop, c.holder == holder
                )
            )

    def get_loop_lease(self, project: str, loop: str) -> tuple[str, datetime] | None:
        c = t.loop_leases.c
        with self._read() as conn:
            row = conn.execute(
                sa.select(c.holder, c.expires_at).where(c.project == project, c.loop == loop)
            ).first()
        return None if row is None else (str(row[0]), row[1])

    def add_loop_trigger(
        self,
        project: str,
        loop: str,
        *,
        key: str,
        kind: str,
        reason: str | None = None,
        status: str = "pending",
        detail: Mapping[str, Any] | None = None,
    ) -> LoopTrigger | None:
        validate.name("project", project)
        validate.name("loop", loop)
        if not key or len(key) > 1024:
            raise InvalidField("key", "expected 1 to 1024 characters")
        time = now()
        values = dict(
            project=project,
            loop=loop,
            key=key,
            kind=kind,
            reason=reason,
            status=status,
            attempts=0,
            created_at=time,
            updated_at=time,
            next_try_at=None,
            detail=_detail(detail),
        )
        with self._write() as conn:
            row_id = conn.execute(
                self._insert(conn, t.loop_triggers)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["project", "loop", "key"])
                .returning(t.loop_triggers.c.id)
            ).scalar()
        if row_id is None:
            return None
        return LoopTrigger(id=int(row_id), **values)  # type: ignore[arg-type]

    def update_loop_trigger(
        self,
        trigger_id: int,
        *,
        status: str,
        attempts: int | None = None,
        next_try_at: datetime | None = None,
        detail: Mapping[str, Any] | None = None,
        expect_status: str | None = None,
    ) -> bool:
        c = t.loop_triggers.c
        values: dict[str, Any] = {"status": status, "updated_at": now()}
        if attempts is not None:
            values["attempts"] = attempts
        values["next_try_at"] = next_try_at
        if detail is not None:
            values["detail"] = _detail(detail)
        query = sa.update(t.loop_triggers).where(c.id == trigger_id).values(**values)
        if expect_status is not None:
            query = query.where(c.status == expect_status)
        with self._write() as conn:
            return bool(conn.execute(query).rowcount == 1)

    def list_loop_triggers(
        self,
        project: str,
        loop: str | None = None,
        *,
        statuses: Sequence[str] | None = None,
        kind: str | None = None,
        limit: int | None = None,
    ) -> list[LoopTrigger]:
        c = t.loop_triggers.c
        query = sa.select(*(c[n] for n in TRIGGER_COLUMNS)).where(c.project == project)
        if loop is not None:
            query = query.where(c.loop == loop)
        if statuses is not None:
            query = query.where(c.status.in_(list(statuses)))
        if kind is not None:
            query = query.where(c.kind == kind)
        if limit is not None:
            query = query.order_by(c.id.desc()).limit(limit)
        else:
            query = query.order_by(c.id)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [LoopTrigger(*r) for r in rows]

    def record_loop_event(
        self,
        project: str,
        loop: str,
        kind: str,
        *,
        trigger_id: int | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> LoopEvent:
        validate.name("project", project)
        validate.name("loop", loop)
        detail_ = _detail(detail)
        time = now()
        with self._write() as conn:
            event_id = conn.execute(
                sa.insert(t.loop_events)
                .values(
                    project=project,
                    loop=loop,
                    time=time,
                    kind=kind,
                    trigger_id=trigger_id,
                    detail=detail_,
                )
                .returning(t.loop_events.c.id)
            ).scalar_one()
        return LoopEvent(int(event_id), project, loop, time, kind, trigger_id, detail_)

    def list_loop_events(
        self, project: str, loop: str | None = None, *, limit: int = 100
    ) -> list[LoopEvent]:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidField("limit", f"expected a positive whole number, got {limit!r}")
        c = t.loop_events.c
        query = (
            sa.select(c.id, c.project, c.loop, c.time, c.kind, c.trigger_id, c.detail)
            .where(c.project == project)
            .order_by(c.id.desc())
            .limit(limit)
        )
        if loop is not None:
            query = query.where(c.loop == loop)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [LoopEvent(*r) for r in rows]
