"""Model versions and aliases; every alias move is recorded as an event in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import EllipsisType
from typing import Any

import sqlalchemy as sa

from tether.store import validate
from tether.store.entities import AliasEvent, ModelVersion
from tether.store.errors import (
    AliasMoved,
    AliasNotFound,
    InvalidField,
    ModelNotFound,
    ModelVersionNotFound,
)
from tether.store.sql import schema as t
from tether.store.sql.core import SqlCore, now

_m = t.models.c
_v = t.model_versions.c
_a = t.aliases.c
_e = t.alias_events.c


def _version(project: str, model: str, row: Any) -> ModelVersion:
    return ModelVersion(
        project=project,
        model=model,
        version=row.version,
        artifact_digest=row.artifact_digest,
        flavor=row.flavor,
        signature=row.signature,
        run_id=row.run_id,
        created_at=row.created_at,
    )


def _alias_name(alias: str) -> str:
    validate.name("alias", alias)
    if alias.isdigit():
        raise InvalidField("alias", f"{alias!r} is all digits and would read as a version number")
    return alias


def _record_alias_event(conn: sa.Connection, **values: Any) -> None:
    conn.execute(sa.insert(t.alias_events).values(**values))


class RegistryMixin(SqlCore):
    def create_model_version(
        self,
        project: str,
        model: str,
        *,
        artifact_digest: str,
        flavor: str,
        signature: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        version: int | None = None,
    ) -> ModelVersion:
        validate.name("project", project)
        validate.entity_name("model name", model)
        validate.name("artifact_digest", artifact_digest)
        validate.name("flavor", flavor)
        signature_ = None if signature is None else validate.json_map("signature", signature)
        validate.optional_text("run_id", run_id)
        if version is not None:
            validate.version("version", version)
        created = now()
        with self._write() as conn:
            project_id = self._project_id(conn, project)
            if run_id is not None:
                self._require_run(conn, run_id)
            if version is None:
                model_id, version = self._next_version(conn, t.models, project_id, model)
            else:
                model_id = self._reserved(conn, project, model, version)
            conn.execute(
                sa.insert(t.model_versions).values(
                    model_id=model_id,
                    version=version,
                    artifact_digest=artifact_digest,
                    flavor=flavor,
                    signature=signature_,
                    run_id=run_id,
                    created_at=created,
                )
            )
        return ModelVersion(
            project, model, version, artifact_digest, flavor, signature_, run_id, created
        )

    def reserve_model_version(self, project: str, model: str) -> int:
        validate.name("project", project)
        validate.entity_name("model name", model)
        with self._write() as conn:
            project_id = self._project_id(conn, project)
            return self._next_version(conn, t.models, project_id, model)[1]

    def _reserved(self, conn: sa.Connection, project: str, model: str, version: int) -> int:
        """The model's row id, once ``version`` is known to be reserved and not created."""
        row = conn.execute(
            sa.select(_m.id, _m.last_version)
            .where(_m.project_id == self._project_id(conn, project), _m.name == model)
            .with_for_update()
        ).first()
        if row is None or version > int(row.last_version):
            raise InvalidField(
                "version",
                f"version {version} of model {model!r} was never reserved; "
                "reserve it with reserve_model_version or leave version out",
            )
        taken = conn.execute(
            sa.select(_v.version).where(_v.model_id == row.id, _v.version == version)
        ).first()
        if taken is not None:
            raise InvalidField("version", f"model {model!r} already has a version {version}")
        return int(row.id)

    def _model_id(
        self, conn: sa.Connection, project: str, model: str, *, lock: bool = False
    ) -> int:
        project_id = self._project_id(conn, project)
        query = sa.select(_m.id).where(_m.project_id == project_id, _m.name == model)
        if lock:
            query = query.with_for_update()
        model_id = conn.execute(query).scalar()
        if model_id is None:
            raise ModelNotFound(project, model)
        return int(model_id)

    def _version_row(
        self, conn: sa.Connection, project: str, model: str, model_id: int, version: int
    ) -> Any:
        row = conn.execute(
            sa.select(t.model_versions).where(_v.model_id == model_id, _v.version == version)
        ).first()
        if row is None:
            raise ModelVersionNotFound(project, model, version)
        return row

    def get_model_version(self, project: str, model: str, version: int) -> ModelVersion:
        validate.name("project", project)
        validate.entity_name("model name", model)
        validate.version("version", version)
        with self._read() as conn:
            model_id = self._model_id(conn, project, model)
            row = self._version_row(conn, project, model, model_id, version)
        return _version(project, model, row)

    def list_models(self, project: str) -> list[str]:
        validate.name("project", project)
        with self._read() as conn:
            project_id = self._project_id(conn, project)
            query = sa.select(_m.name).where(_m.project_id == project_id).order_by(_m.name)
            return list(conn.execute(query).scalars())

    def list_model_versions(self, project: str, model: str) -> list[ModelVersion]:
        """Oldest first."""
        validate.name("project", project)
        validate.entity_name("model name", model)
        with self._read() as conn:
            model_id = self._model_id(conn, project, model)
            rows = conn.execute(
                sa.select(t.model_versions).where(_v.model_id == model_id).order_by(_v.version)
            ).all()
        return [_version(project, model, r) for r in rows]

    def set_alias(
        self,
        project: str,
        model: str,
        alias: str,
        version: int,
        *,
        actor: str,
        reason: str | None = None,
        expect: int | EllipsisType | None = ...,
    ) -> AliasEvent:
        """Point ``alias`` at ``version`` and record who moved it and why, atomically; with
        ``expect``, only if the alias points at ``expect`` now (``None``: unset)."""
        validate.name("project", project)
        validate.entity_name("model name", model)
        _alias_name(alias)
        validate.version("version", version)
        validate.name("actor", actor)
        validate.optional_text("reason", reason)
        if expect is not ... and expect is not None:
            validate.version("expect", expect)
        time: datetime = now()
        with self._write() as conn:
            # the model row lock serialises alias moves, so from_version is never stale
            model_id = self._model_id(conn, project, model, lock=True)
            self._version_row(conn, project, model, model_id, version)
            previous = conn.execute(
                sa.select(_a.version).where(_a.model_id == model_id, _a.alias == alias)
            ).scalar()
            if expect is not ... and previous != expect:
                raise AliasMoved(project, model, alias, expect, previous)
            insert = self._insert(conn, t.aliases)
            conn.execute(
                insert.values(
                    model_id=model_id, alias=alias, version=version
                ).on_conflict_do_update(
                    index_elements=["model_id", "alias"], set_={"version": insert.excluded.version}
                )
            )
            _record_alias_event(
                conn,
                model_id=model_id,
                alias=alias,
                from_version=previous,
                to_version=version,
                actor=actor,
                reason=reason,
                time=time,
            )
        return AliasEvent(project, model, alias, previous, version, actor, reason, time)

    def get_alias(self, project: str, model: str, alias: str) -> ModelVersion:
        validate.name("project", project)
        validate.entity_name("model name", model)
        _alias_name(alias)
        with self._read() as conn:
            model_id = self._model_id(conn, project, model)
            version = conn.execute(
                sa.select(_a.version).where(_a.model_id == model_id, _a.alias == alias)
            ).scalar()
            if version is None:
                raise AliasNotFound(project, model, alias)
            row = self._version_row(conn, project, model, model_id, version)
        return _version(project, model, row)

    def list_alias_events(
        self, project: str, model: str, alias: str | None = None
    ) -> list[AliasEvent]:
        """Oldest first."""
        validate.name("project", project)
        validate.entity_name("model name", model)
        if alias is not None:
            _alias_name(alias)
        query = sa.select(
            _e.alias, _e.from_version, _e.to_version, _e.actor, _e.reason, _e.time
        ).order_by(_e.id)
        with self._read() as conn:
            model_id = self._model_id(conn, project, model)
            query = query.where(_e.model_id == model_id)
            if alias is not None:
                query = query.where(_e.alias == alias)
            rows = conn.execute(query).all()
        return [AliasEvent(project, model, *r) for r in rows]
