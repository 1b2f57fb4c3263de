from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tether.store import validate
from tether.store.entities import Project
from tether.store.errors import ProjectNotFound
from tether.store.sql import schema as t
from tether.store.sql.core import SqlCore, now


def _project(row: Any) -> Project:
    return Project(name=row.name, created_at=row.created_at)


class ProjectsMixin(SqlCore):
    _columns = (t.projects.c.name, t.projects.c.created_at)

    def get_or_create_project(self, name: str) -> Project:
        validate.name("project", name)
        with self._write() as conn:
            conn.execute(
                self._insert(conn, t.projects)
                .values(name=name, created_at=now())
                .on_conflict_do_nothing(index_elements=["name"])
            )
            row = conn.execute(sa.select(*self._columns).where(t.projects.c.name == name)).one()
        return _project(row)

    def get_project(self, name: str) -> Project:
        validate.name("project", name)
        with self._read() as conn:
            row = conn.execute(sa.select(*self._columns).where(t.projects.c.name == name)).first()
        if row is None:
            raise ProjectNotFound(name)
        return _project(row)

    def list_projects(self) -> list[Project]:
        with self._read() as conn:
            rows = conn.execute(sa.select(*self._columns).order_by(t.projects.c.name)).all()
        return [_project(r) for r in rows]
