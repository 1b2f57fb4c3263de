"""Prediction log segments: where each Parquet segment of a served model's log is, by time."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from tether.store import validate
from tether.store.entities import PredictionSegment
from tether.store.sql import schema as t
from tether.store.sql.core import SqlCore, now

_s = t.prediction_segments.c


class PredictionsMixin(SqlCore):
    def add_prediction_segment(
        self,
        project: str,
        model: str,
        *,
        version: int,
        start_time: datetime,
        end_time: datetime,
        rows: int,
        digest: str,
    ) -> PredictionSegment:
        validate.prediction_segment(project, model, version, start_time, end_time, rows, digest)
        created = now()
        with self._write() as conn:
            project_id = self._project_id(conn, project)
            seg_id = conn.execute(
                sa.insert(t.prediction_segments)
                .values(
                    project_id=project_id,
                    model=model,
                    version=version,
                    start_time=start_time,
                    end_time=end_time,
                    rows=rows,
                    digest=digest,
                    created_at=created,
                )
                .returning(_s.id)
            ).scalar_one()
        return PredictionSegment(
            int(seg_id), project, model, version, start_time, end_time, rows, digest, created
        )

    def list_prediction_segments(
        self,
        project: str,
        model: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[PredictionSegment]:
        """Segments holding rows in [start, end], oldest first; an unknown project has none."""
        validate.name("project", project)
        validate.entity_name("model name", model)
        validate.aware_time("start", start)
        validate.aware_time("end", end)
        p = t.projects.c
        query = (
            sa.select(
                _s.id, _s.model, _s.version, _s.start_time, _s.end_time, _s.rows, _s.digest,
                _s.created_at,
            )
            .join(t.projects, p.id == _s.project_id)
            .where(p.name == project, _s.model == model)
            .order_by(_s.start_time, _s.id)
        )  # fmt: skip
        if start is not None:
            query = query.where(_s.end_time >= start)
        if end is not None:
            query = query.where(_s.start_time <= end)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            PredictionSegment(int(r.id), project, r.model, r.version, r.start_time, r.end_time,
                              int(r.rows), r.digest, r.created_at)
            for r in rows
        ]  # fmt: skip
