from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tether.store import validate
from tether.store.entities import DatasetVersion
from tether.store.errors import (
    DatasetNotFound,
    DatasetVersionConflict,
    DatasetVersionNotFound,
    InvalidField,
)
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
            conn.execute(  # a new version brings a deleted dataset back
                sa.update(t.datasets)
                .where(t.datasets.c.id == dataset_id, t.datasets.c.deleted_at.is_not(None))
                .values(deleted_at=None)
            )
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

    def register_dataset_versions(self, versions: Sequence[DatasetVersion]) -> list[DatasetVersion]:
        """Record versions made elsewhere under their own numbers, in one transaction.

        A version already recorded with the same tree is kept as it is (its message and time
        too); another tree under that number raises DatasetVersionConflict and nothing is
        recorded. Each dataset's counter moves up to its highest number, so the next version
        added here follows every registered one.
        """
        for v in versions:
            validate.name("project", v.project)
            validate.entity_name("dataset name", v.dataset)
            validate.version("version", v.version)
            validate.name("tree_digest", v.tree_digest)
            validate.count("file_count", v.file_count)
            validate.count("total_size", v.total_size)
            validate.optional_text("message", v.message)
            validate.optional_text("run_id", v.run_id)
            if not isinstance(v.created_at, datetime) or v.created_at.utcoffset() is None:
                raise InvalidField("created_at", "expected a datetime with a time zone")
        added: list[DatasetVersion] = []
        if not versions:
            return added
        d = t.datasets.c
        with self._write() as conn:
            for v in versions:
                project_id = self._project_id(conn, v.project)
                if v.run_id is not None:
                    self._require_run(conn, v.run_id)
                conn.execute(
                    SqlCore._insert(conn, t.datasets)
                    .values(project_id=project_id, name=v.dataset, last_version=0)
                    .on_conflict_do_nothing(index_elements=["project_id", "name"])
                )
                dataset_id, last = conn.execute(
                    sa.select(d.id, d.last_version)
                    .where(d.project_id == project_id, d.name == v.dataset)
                    .with_for_update()
                ).one()
                stored = conn.execute(
                    sa.select(_v.tree_digest).where(
                        _v.dataset_id == dataset_id, _v.version == v.version
                    )
                ).scalar()
                if stored is not None:
                    if stored != v.tree_digest:
                        raise DatasetVersionConflict(
                            v.project, v.dataset, v.version, stored, v.tree_digest
                        )
                    continue
                conn.execute(
                    sa.insert(t.dataset_versions).values(
                        dataset_id=dataset_id,
                        version=v.version,
                        tree_digest=v.tree_digest,
                        file_count=v.file_count,
                        total_size=v.total_size,
                        message=v.message,
                        run_id=v.run_id,
                        created_at=v.created_at,
                    )
                )
                if v.version > last:
                    conn.execute(
                        sa.update(t.datasets)
                        .where(d.id == dataset_id)
                        .values(last_version=v.version)
                    )
                added.append(v)
        return added

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

    def list_datasets(self, project: str, *, include_deleted: bool = False) -> list[str]:
        """Names, sorted; soft-deleted datasets only with ``include_deleted``."""
        validate.name("project", project)
        d = t.datasets.c
        query = sa.select(d.name).order_by(d.name)
        if not include_deleted:
            query = query.where(d.deleted_at.is_(None))
        with self._read() as conn:
            project_id = self._project_id(conn, project)
            return list(conn.execute(query.where(d.project_id == project_id)).scalars())

    def delete_dataset(self, project: str, dataset: str) -> None:
        self._set_deleted(project, dataset, now())

    def restore_dataset(self, project: str, dataset: str) -> None:
        self._set_deleted(project, dataset, None)

    def _set_deleted(self, project: str, dataset: str, when: Any) -> None:
        validate.name("project", project)
        validate.entity_name("dataset name", dataset)
        with self._write() as conn:
            dataset_id, _ = self._dataset(conn, project, dataset)
            conn.execute(
                sa.update(t.datasets).where(t.datasets.c.id == dataset_id).values(deleted_at=when)
            )

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
