from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tether.store import validate
from tether.store.entities import TERMINAL_STATUSES, MetricColumns, Run
from tether.store.errors import AmbiguousRunId, InvalidField, ParamConflict, RunNotFound
from tether.store.ids import uuid7
from tether.store.sql import schema as t
from tether.store.sql.core import (
    IN_BATCH,
    SqlCore,
    execute_plain_many,
    fetch_plain,
    fetch_sql,
    marks,
    now,
)
from tether.store.sql.deferred import PendingFinish, PendingRun
from tether.store.sql.metrics import NO_SERIES, insert_series_rows, series_rows
from tether.store.sql.run_io import io_values
from tether.store.sql.translate import translated
from tether.store.sqlite_read import sqlite_time

_RUN_COLUMNS = (*t.runs.c, t.projects.c.name.label("project_name"))


def _run(row: Any, params: dict[str, str], tags: dict[str, str]) -> Run:
    return Run(
        id=row.id,
        project=row.project_name,
        experiment=row.experiment,
        name=row.name,
        status=row.status,
        start_time=row.start_time,
        end_time=row.end_time,
        parent_id=row.parent_id,
        params=params,
        tags=tags,
        info=dict(row.info or {}),
        error=row.error,
        heartbeat_at=row.heartbeat_at,
        deleted_at=row.deleted_at,
    )


def _number(text: str) -> float | None:
    """A param's value as a number, for numeric comparisons in search; None if it is not one."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _param_rows(run_id: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {"run_id": run_id, "key": k, "value": v, "value_num": _number(v)} for k, v in params.items()
    ]


def _key_values(
    conn: sa.Connection, table: sa.Table, run_ids: Sequence[str]
) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {rid: {} for rid in run_ids}
    if run_ids:
        query = sa.select(table.c.run_id, table.c.key, table.c.value).where(
            table.c.run_id.in_(run_ids)
        )
        for rid, key, value in fetch_plain(conn, query):  # one fetch, not one per row
            out[rid][key] = value
    return out


def _sqlite_time(text: str | None) -> datetime | None:
    """A time column as SQLite returns it without SQLAlchemy's processing (naive UTC text),
    read as UTC (parsed with the offset: a fifth of the cost of parsing, then ``replace``)."""
    return None if text is None else datetime.fromisoformat(text + "+00:00")


_new = object.__new__


def _plain_run(row: Any, params: dict[str, str], tags: dict[str, str]) -> Run:
    """``_run`` of a raw SQLite row of ``_RUN_COLUMNS`` (``fetch_plain``).

    Filled in directly rather than through the frozen dataclass's ``__init__`` (one
    ``object.__setattr__`` per field), and with ``info`` left as the stored JSON text, decoded
    when first read (``Run.__getattr__``): a search reads a hundred runs' info, and most
    callers never look at it. The same object either way.
    """
    rid, _, experiment, name, status, start, end, parent, info, error, beat, deleted, project = row
    run = _new(Run)
    run.__dict__.update(
        id=rid,
        project=project,
        experiment=experiment,
        name=name,
        status=status,
        start_time=_sqlite_time(start),
        end_time=None if end is None else _sqlite_time(end),
        parent_id=parent,
        params=params,
        tags=tags,
        _info_json=info,
        error=error,
        heartbeat_at=None if beat is None else _sqlite_time(beat),
        deleted_at=None if deleted is None else _sqlite_time(deleted),
    )
    return run


# params and tags of many runs in one statement: (0 for a param, 1 for a tag, run id, key, value)
_PARAMS_AND_TAGS = (
    "SELECT 0, run_id, key, value FROM params WHERE run_id IN ({marks})"
    " UNION ALL SELECT 1, run_id, key, value FROM tags WHERE run_id IN ({marks})"
)


def _params_and_tags(
    conn: sa.Connection, run_ids: Sequence[str]
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """``({run id: params}, {run id: tags})`` of ``run_ids`` on SQLite: one query a batch."""
    params: dict[str, dict[str, str]] = {rid: {} for rid in run_ids}
    tags: dict[str, dict[str, str]] = {rid: {} for rid in run_ids}
    both = (params, tags)
    for start in range(0, len(run_ids), IN_BATCH):
        batch = list(run_ids[start : start + IN_BATCH])
        sql = _PARAMS_AND_TAGS.format(marks=marks(len(batch)))
        for kind, rid, key, value in fetch_sql(conn, sql, batch + batch):
            both[kind][rid][key] = value
    return params, tags


def load_runs(conn: sa.Connection, query: Any) -> list[Run]:
    """The runs a select of ``_RUN_COLUMNS`` finds, with their params and tags; ``query`` is
    a statement or, on SQLite, ``(SQL text, parameters)`` (``plain_query``). Two queries on
    SQLite (the runs, then their params and tags together), three elsewhere."""
    if conn.dialect.name != "sqlite":
        rows = fetch_plain(conn, query)
        ids = [r[0] for r in rows]
        params = _key_values(conn, t.params, ids)
        tags = _key_values(conn, t.tags, ids)
        return [_run(r, params[r[0]], tags[r[0]]) for r in rows]
    rows = fetch_sql(conn, *query) if isinstance(query, tuple) else fetch_plain(conn, query)
    params, tags = _params_and_tags(conn, [r[0] for r in rows])
    return [_plain_run(r, params[r[0]], tags[r[0]]) for r in rows]


def _load_run(conn: sa.Connection, run_id: str) -> Run:
    row = conn.execute(
        sa.select(*_RUN_COLUMNS).join(t.projects).where(t.runs.c.id == run_id)
    ).first()
    if row is None:
        raise RunNotFound(run_id)
    params = _key_values(conn, t.params, [run_id])[run_id]
    tags = _key_values(conn, t.tags, [run_id])[run_id]
    return _run(row, params, tags)


_FINISH = (
    sa.update(t.runs)
    .where(t.runs.c.id == sa.bindparam("rid"))
    .values(status=sa.bindparam("st"), end_time=sa.bindparam("et"), error=sa.bindparam("err"))
)


def _set_status(conn: sa.Connection, ends: Sequence[PendingFinish], *, check: bool = True) -> None:
    """Set status, end time and error of each run; with ``check``, a missing run is an error."""
    result = conn.execute(
        _FINISH,
        [{"rid": f.run_id, "st": f.status, "et": f.end_time, "err": f.error} for f in ends],
    )
    if check and result.rowcount < len(ends):
        raise RunNotFound(ends[0].run_id)


_INSERT_PARAMS = sa.insert(t.params)
_INSERT_TAGS = sa.insert(t.tags)
_INSERT_IO = sa.insert(t.run_io)


_INSERT_RUNS = sa.insert(t.runs)


def _stored_time(value: datetime | None) -> str | None:
    return None if value is None else sqlite_time(value)


def _plain_run_row(run: PendingRun) -> dict[str, Any]:
    """A run's row as SQLite stores it, times and info already text (``execute_plain_many``)."""
    row = run.row
    return {
        **row,
        "start_time": _stored_time(row["start_time"]),
        "end_time": _stored_time(row["end_time"]),
        "info": run.info_json,
    }


def _insert_runs(conn: sa.Connection, runs: Sequence[PendingRun]) -> None:
    """Every row of ``runs``: one multi-row statement per table."""
    if not runs:
        return
    if conn.dialect.name == "sqlite":
        execute_plain_many(conn, _INSERT_RUNS, [_plain_run_row(r) for r in runs])
    else:  # times and JSON: SQLAlchemy's bind processing
        conn.execute(_INSERT_RUNS, [{**r.row, "info": json.loads(r.info_json)} for r in runs])
    for stmt, rows in (
        (_INSERT_PARAMS, [row for r in runs for row in r.params]),
        (_INSERT_TAGS, [row for r in runs for row in r.tags]),
        (_INSERT_IO, [row for r in runs for row in r.io]),
    ):
        execute_plain_many(conn, stmt, rows)
    insert_series_rows(conn, *(r.series for r in runs))


class RunsMixin(SqlCore):
    def create_run(
        self,
        project: str,
        *,
        experiment: str = "default",
        name: str | None = None,
        parent_id: str | None = None,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        info: Mapping[str, Any] | None = None,
        status: str = "running",
        io: Iterable[tuple[str, str, str, str | None]] = (),
        defer: bool = False,
    ) -> Run:
        """A new run; ``status`` may already be terminal (a run recorded after the fact, such
        as a cached pipeline step), and ``io`` its ``(direction, kind, ref, name)`` rows.

        With ``defer`` the run is checked now and written by the next ``flush()`` (or before
        the next read or write through this store), batched with other deferred runs.
        """
        validate.name("project", project)
        validate.entity_name("experiment name", experiment)
        validate.optional_name("name", name)
        validate.optional_text("parent_id", parent_id)
        validate.status(status)
        params_ = validate.string_map("params", params)
        tags_ = validate.string_map("tags", tags)
        info_, info_json = validate.json_map_text("info", info)
        io_rows = io_values(io)
        run_id, started = uuid7(), now()
        ended = started if status in TERMINAL_STATUSES else None
        pending = PendingRun(
            row={
                "id": run_id,
                "project_id": self._project_ids.get(project),
                "experiment": experiment,
                "name": name,
                "status": status,
                "start_time": started,
                "end_time": ended,
                "parent_id": parent_id,
                "error": None,
            },
            # the info as JSON text and the rows in tuples: a queued run holds no container
            # the garbage collector keeps tracking (a nested info dict, lists), so a sweep's
            # queue does not push the collector into full collections
            info_json=info_json,
            params=tuple(_param_rows(run_id, params_)),
            tags=tuple({"run_id": run_id, "key": k, "value": v} for k, v in tags_.items()),
            io=tuple({"run_id": run_id, **r} for r in io_rows),
        )
        if defer:
            check_parent = parent_id is not None and not self._deferred.has_run(parent_id)
            if pending.row["project_id"] is None or check_parent:
                with self._read() as conn:
                    self._check_new_run(conn, pending, project)
            self._deferred.add_run(pending)
        else:
            with self._write() as conn:
                self._check_new_run(conn, pending, project)
                _insert_runs(conn, [pending])
        return Run(
            id=run_id,
            project=project,
            experiment=experiment,
            name=name,
            status=status,
            start_time=started,
            end_time=ended,
            parent_id=parent_id,
            params=params_,
            tags=tags_,
            info=info_,
        )

    def _check_new_run(self, conn: sa.Connection, pending: PendingRun, project: str) -> None:
        pending.row["project_id"] = self._project_id(conn, project)
        parent_id = pending.row["parent_id"]
        if parent_id is not None and not self._deferred.has_run(parent_id):
            self._require_run(conn, parent_id)

    def _write_deferred(self, runs: list[PendingRun], finishes: list[PendingFinish]) -> None:
        with translated(self._url), self._writer.begin() as conn:
            _insert_runs(conn, runs)
            if finishes:
                _set_status(conn, finishes, check=False)  # runs this store created
                insert_series_rows(conn, *(f.series for f in finishes))

    def get_run(self, run_id: str) -> Run:
        validate.name("run_id", run_id)
        with self._read() as conn:
            return _load_run(conn, run_id)

    def set_run_status(self, run_id: str, status: str, *, error: str | None = None) -> Run:
        validate.name("run_id", run_id)
        validate.status(status)
        error = validate.error_text(error)
        end_time = now() if status in TERMINAL_STATUSES else None
        with self._write() as conn:
            _set_status(conn, [PendingFinish(run_id, status, end_time, error, NO_SERIES)])
            return _load_run(conn, run_id)

    def finish_run(
        self,
        run_id: str,
        status: str,
        *,
        error: str | None = None,
        metrics: MetricColumns | None = None,
        defer: bool = False,
    ) -> None:
        """Write a run's last metrics and its final status in one transaction.

        With ``defer`` (for a run this store object created) they are written by the next
        ``flush()``; a run created with ``defer`` and not yet written is then inserted once.
        """
        validate.name("run_id", run_id)
        validate.status(status)
        error = validate.error_text(error)
        rows = series_rows(run_id, validate.metric_columns(metrics or {}))
        end_time = now() if status in TERMINAL_STATUSES else None
        if defer:
            self._deferred.finish(PendingFinish(run_id, status, end_time, error, rows))
            return
        with self._write() as conn:
            _set_status(conn, [PendingFinish(run_id, status, end_time, error, rows)])
            insert_series_rows(conn, rows)

    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        validate.name("run_id", run_id)
        params_ = validate.string_map("params", params)
        with self._write() as conn:
            self._require_run(conn, run_id)
            if not params_:
                return
            conn.execute(
                self._insert(conn, t.params).on_conflict_do_nothing(
                    index_elements=["run_id", "key"]
                ),
                _param_rows(run_id, params_),
            )
            # read back: a value that differs was there before (or raced in); undo this call
            stored = _key_values(conn, t.params, [run_id])[run_id]
            for key, value in params_.items():
                if stored[key] != value:
                    raise ParamConflict(run_id, key, stored[key], value)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        validate.name("run_id", run_id)
        tags_ = validate.string_map("tags", tags)
        with self._write() as conn:
            self._require_run(conn, run_id)
            if not tags_:
                return
            insert = self._insert(conn, t.tags)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["run_id", "key"], set_={"value": insert.excluded.value}
                ),
                [{"run_id": run_id, "key": k, "value": v} for k, v in tags_.items()],
            )

    def update_run_info(self, run_id: str, info: Mapping[str, Any]) -> None:
        """Merge ``info`` into the run's info, key by key at the top level."""
        validate.name("run_id", run_id)
        info_ = validate.json_map("info", info)
        with self._write() as conn:
            current = conn.execute(
                sa.select(t.runs.c.info).where(t.runs.c.id == run_id).with_for_update()
            ).first()
            if current is None:
                raise RunNotFound(run_id)
            merged = {**(current[0] or {}), **info_}
            conn.execute(sa.update(t.runs).where(t.runs.c.id == run_id).values(info=merged))

    def list_runs(
        self,
        project: str,
        *,
        experiment: str | None = None,
        limit: int = 1000,
        include_deleted: bool = False,
    ) -> list[Run]:
        """Newest first; soft-deleted runs only with ``include_deleted``."""
        validate.name("project", project)
        validate.optional_entity_name("experiment name", experiment)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidField("limit", f"expected a positive whole number, got {limit!r}")
        with self._read() as conn:
            project_id = self._project_id(conn, project)
            query = (
                sa.select(*_RUN_COLUMNS)
                .join(t.projects)
                .where(t.runs.c.project_id == project_id)
                .order_by(t.runs.c.id.desc())
                .limit(limit)
            )
            if experiment is not None:
                query = query.where(t.runs.c.experiment == experiment)
            if not include_deleted:
                query = query.where(t.runs.c.deleted_at.is_(None))
            return load_runs(conn, query)

    def heartbeat(self, run_id: str) -> None:
        validate.name("run_id", run_id)
        with self._write() as conn:
            result = conn.execute(
                sa.update(t.runs).where(t.runs.c.id == run_id).values(heartbeat_at=now())
            )
            if result.rowcount == 0:
                raise RunNotFound(run_id)

    def resolve_run_id(self, prefix: str) -> str:
        """The one run id that is ``prefix``, starts with it or ends with it.

        Ids are UUIDv7: runs made close together share their first characters, so the short
        form people see is the random tail (:func:`tether.store.ids.short_id`); a beginning
        works too. Deleted runs are found as well (so that they can be restored).
        """
        validate.name("run id", prefix)
        prefix = prefix.strip().lower()
        with self._read() as conn:
            if conn.execute(sa.select(t.runs.c.id).where(t.runs.c.id == prefix)).first():
                return prefix
            if len(prefix) < 4:
                raise InvalidField("run id", f"{prefix!r} is too short; give at least 4 characters")
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            ids = (
                conn.execute(
                    sa.select(t.runs.c.id)
                    .where(
                        sa.or_(
                            t.runs.c.id.like(escaped + "%", escape="\\"),
                            t.runs.c.id.like("%" + escaped, escape="\\"),
                        )
                    )
                    .order_by(t.runs.c.id)
                    .limit(6)
                )
                .scalars()
                .all()
            )
        if not ids:
            raise RunNotFound(prefix)
        if len(ids) > 1:
            raise AmbiguousRunId(prefix, list(ids))
        return str(ids[0])

    def _run_tree(self, conn: sa.Connection, run_id: str) -> list[str]:
        """``run_id`` and every run below it (pipeline steps, nested runs)."""
        self._require_run(conn, run_id)
        found, frontier = [run_id], [run_id]
        while frontier:
            frontier = list(
                conn.execute(
                    sa.select(t.runs.c.id).where(t.runs.c.parent_id.in_(frontier))
                ).scalars()
            )
            found.extend(frontier)
        return found

    def delete_run(self, run_id: str) -> list[str]:
        """Soft-delete a run and the runs below it; returns their ids. Nothing is freed."""
        return self._mark_deleted(run_id, now())

    def restore_run(self, run_id: str) -> list[str]:
        """Undo :meth:`delete_run` for a run and the runs below it; returns their ids."""
        return self._mark_deleted(run_id, None)

    def _mark_deleted(self, run_id: str, when: Any) -> list[str]:
        validate.name("run_id", run_id)
        with self._write() as conn:
            ids = self._run_tree(conn, run_id)
            for start in range(0, len(ids), 500):
                conn.execute(
                    sa.update(t.runs)
                    .where(t.runs.c.id.in_(ids[start : start + 500]))
                    .values(deleted_at=when)
                )
        return ids
