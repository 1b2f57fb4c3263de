from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from tether.store import validate
from tether.store.entities import ObjectRecord
from tether.store.errors import ObjectRecordNotFound
from tether.store.sql import schema as t
from tether.store.sql.core import SqlCore, execute_plain_many

_BATCH = 1000


_record_inserts: dict[str, Any] = {}  # dialect name -> statement, built once


class ObjectsMixin(SqlCore):
    def record_objects(self, records: Iterable[ObjectRecord]) -> None:
        """Record digests and sizes; digests already recorded are left as they are."""
        rows = [
            {"digest": r.digest, "size": r.size, "kind": r.kind}
            for r in validate.object_records(records)
        ]
        if not rows:
            return
        with self._write() as conn:
            insert = _record_inserts.get(conn.dialect.name)
            if insert is None:
                insert = _record_inserts[conn.dialect.name] = self._insert(
                    conn, t.objects
                ).on_conflict_do_nothing(index_elements=["digest"])
            for start in range(0, len(rows), _BATCH):
                execute_plain_many(conn, insert, rows[start : start + _BATCH])

    def get_object_record(self, digest: str) -> ObjectRecord:
        validate.name("digest", digest)
        c = t.objects.c
        with self._read() as conn:
            row = conn.execute(
                sa.select(c.digest, c.size, c.kind).where(c.digest == digest)
            ).first()
        if row is None:
            raise ObjectRecordNotFound(digest)
        return ObjectRecord(*row)
