from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tether.store import validate
from tether.store.entities import DatasetVersion
from tether.store.errors import DatasetNotFound, DatasetVersionNotFound
from tether.store.sql import schema as t
from tether.store.sql.core import SqlCore, now

_v = t.dataset_versions.c


def _version(project: str, dataset: str, row: Any) -> DatasetVersion:
    return DatasetVersion(
        project=project,
        dataset=dataset,
        version=row.version,
        tree_digest=row.tree_digest,
        file_count=row.file_count,
        total_size=row.total_size,
        message=row.message,
        run_id=row.run_id,
        created_at=row.created_at,
    )


class DatasetsMixin(SqlCore):
    def create_dataset_version(
        self,
        project: str,
        dataset: str,
        *,
        tree_digest: str,
        file_count: int,
        total_size: int,
        message: str | None = None,
        run_id: str | None = None,
    ) -> DatasetVersion:
        """Add the next version (1, 2, 3...) of a dataset, creating the dataset at version 1."""
        validate.name("project", project)
        validate.entity_name("dataset name", dataset)
        validate.name("tree_digest", tree_digest)
        validate.count("file_count", file_count)
        validate.count("total_size", total_size)
        validate.optional_text("message", message)
        validate.optional_text("run_id", run_id)
        created = now()
        with self._write() as conn:
            project_id = self._project_id(conn, project)
            if run_id is not None:
                self._require_run(conn, run_id)
            dataset_id, version = self._next_version(conn, t.datasets, project_id, dataset)
            conn.execute(
                sa.insert(t.dataset_versions).values(
                    dataset_id=dataset_id,
                    version=version,
                    tree_digest=tree_digest,
                    file_count=file_count,
                    total_size=total_size,
                    message=message,
                    run_id=run_id,
                    created_at=created,
                )
            )
        return DatasetVersion(
            project,
            dataset,
            version,
            tree_digest,
            file_count,
            total_size,
            message,
            run_id,
            created,
        )

    def _dataset(self, conn: sa.Connection, project: str, dataset: str) -> tuple[int, int]:
        project_id = self._project_id(conn, project)
        d = t.datasets.c
        row = conn.execute(
            sa.select(d.id, d.last_version).where(d.project_id == project_id, d.name == dataset)
        ).first()
        if row is None:
            raise DatasetNotFound(project, dataset)
        return int(row[0]), int(row[1])

    def get_dataset_version(
        self, project: str, dataset: str, version: int | None = None
    ) -> DatasetVersion:
        """One version; ``version=None`` means the latest."""
        validate.name("project", project)
        validate.entity_name("dataset name", dataset)
        if version is not None:
            validate.version("version", version)
        with self._read() as conn:
            dataset_id, latest = self._dataset(conn, project, dataset)
            wanted = latest if version is None else version
            row = conn.execute(
                sa.select(t.dataset_versions).where(
                    _v.dataset_id == dataset_id, _v.version == wanted
                )
            ).first()
        if row is None:
            raise DatasetVersionNotFound(project, dataset, wanted)
        return _version(project, dataset, row)

    def list_datasets(self, project: str) -> list[str]:
        validate.name("project", project)
        d = t.datasets.c
        with self._read() as conn:
            project_id = self._project_id(conn, project)
            names = conn.execute(
                sa.select(d.name).where(d.project_id == project_id).order_by(d.name)
            ).scalars()
            return list(names)

    def list_dataset_versions(self, project: str, dataset: str) -> list[DatasetVersion]:
        """Oldest first."""
        validate.name("project", project)
        validate.entity_name("dataset name", dataset)
        with self._read() as conn:
            dataset_id, _ = self._dataset(conn, project, dataset)
            rows = conn.execute(
                sa.select(t.dataset_versions)
                .where(_v.dataset_id == dataset_id)
                .order_by(_v.version)
            ).all()
        return [_version(project, dataset, r) for r in rows]
