"""Reference profiles: which object holds the monitoring profile of a dataset version's content."""

from __future__ import annotations

import sqlalchemy as sa

from tether.store import validate
from tether.store.errors import InvalidField
from tether.store.sql import schema as t
from tether.store.sql.core import SqlCore, now

_p = t.reference_profiles.c


def _format(value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidField("format", f"expected a whole number >= 0, got {value!r}")


class ProfilesMixin(SqlCore):
    def get_reference_profile(self, tree_digest: str, format: int) -> str | None:
        validate.name("tree digest", tree_digest)
        _format(format)
        with self._read() as conn:
            found = conn.execute(
                sa.select(_p.digest).where(_p.tree_digest == tree_digest, _p.format == format)
            ).scalar()
        return None if found is None else str(found)

    def set_reference_profile(self, tree_digest: str, format: int, digest: str) -> None:
        validate.name("tree digest", tree_digest)
        validate.name("digest", digest)
        _format(format)
        with self._write() as conn:
            insert = self._insert(conn, t.reference_profiles).values(
                tree_digest=tree_digest, format=format, digest=digest, created_at=now()
            )
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["tree_digest", "format"],
                    set_={"digest": digest, "created_at": insert.excluded.created_at},
                )
            )
