from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from tether.store import validate
from tether.store.entities import IO_DIRECTIONS, IO_KINDS, RunIO
from tether.store.sql import schema as t
from tether.store.sql.core import SqlCore


def io_values(rows: Iterable[tuple[str, str, str, str | None]]) -> list[dict[str, Any]]:
    """Checked ``(direction, kind, ref, name)`` rows as column values, duplicates dropped."""
    values: dict[tuple[str, str, str], dict[str, Any]] = {}
    for direction, kind, ref, name in rows:
        validate.io(direction, kind)
        validate.name("ref", ref)
        validate.optional_name("name", name)
        values.setdefault(
            (direction, kind, ref), {"direction": direction, "kind": kind, "ref": ref, "name": name}
        )
    return list(values.values())


class RunIOMixin(SqlCore):
    def add_run_io(
        self, run_id: str, direction: str, kind: str, ref: str, name: str | None = None
    ) -> RunIO:
        """Record that a run read or wrote something; recording it again changes nothing."""
        validate.name("run_id", run_id)
        validate.io(direction, kind)
        validate.name("ref", ref)
        validate.optional_name("name", name)
        c = t.run_io.c
        with self._write() as conn:
            self._require_run(conn, run_id)
            conn.execute(
                self._insert(conn, t.run_io)
                .values(run_id=run_id, direction=direction, kind=kind, ref=ref, name=name)
                .on_conflict_do_nothing(index_elements=["run_id", "direction", "kind", "ref"])
            )
            stored = conn.execute(
                sa.select(c.name).where(
                    c.run_id == run_id, c.direction == direction, c.kind == kind, c.ref == ref
                )
            ).scalar()
        return RunIO(run_id=run_id, direction=direction, kind=kind, ref=ref, name=stored)

    def add_run_io_many(
        self, run_id: str, rows: Iterable[tuple[str, str, str, str | None]]
    ) -> None:
        """Record several ``(direction, kind, ref, name)`` of one run in one transaction."""
        validate.name("run_id", run_id)
        values = [{"run_id": run_id, **row} for row in io_values(rows)]
        with self._write() as conn:
            self._require_run(conn, run_id)
            if values:
                conn.execute(
                    self._insert(conn, t.run_io).on_conflict_do_nothing(
                        index_elements=["run_id", "direction", "kind", "ref"]
                    ),
                    values,
                )

    def list_run_io(self, run_id: str, direction: str | None = None) -> list[RunIO]:
        """In the order they were recorded."""
        validate.name("run_id", run_id)
        if direction is not None:
            validate.one_of("direction", direction, IO_DIRECTIONS)
        c = t.run_io.c
        query = sa.select(c.run_id, c.direction, c.kind, c.ref, c.name).where(c.run_id == run_id)
        if direction is not None:
            query = query.where(c.direction == direction)
        with self._read() as conn:
            rows = conn.execute(query.order_by(c.id)).all()
            if not rows:
                self._require_run(conn, run_id)
        return [RunIO(*r) for r in rows]

    def find_run_io(self, kind: str, ref: str, direction: str | None = None) -> list[RunIO]:
        """Every run that read (``input``) or wrote (``output``) ``ref``, oldest record first."""
        validate.one_of("kind", kind, IO_KINDS)
        validate.name("ref", ref)
        if direction is not None:
            validate.one_of("direction", direction, IO_DIRECTIONS)
        c = t.run_io.c
        query = sa.select(c.run_id, c.direction, c.kind, c.ref, c.name).where(
            c.kind == kind, c.ref == ref
        )
        if direction is not None:
            query = query.where(c.direction == direction)
        with self._read() as conn:
            rows = conn.execute(query.order_by(c.id)).all()
        return [RunIO(*r) for r in rows]
