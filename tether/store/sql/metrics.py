from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from tether.store import validate
from tether.store.entities import MetricColumns, MetricPoint, MetricSummaries, MetricSummary
from tether.store.errors import MetricNotFound
from tether.store.sql import schema as t
from tether.store.sql.chunks import pack, unpack
from tether.store.sql.core import (
    IN_BATCH,
    SqlCore,
    execute_plain_many,
    fetch_plain,
    fetch_sql,
    marks,
)


def _nan_to_none(value: float) -> float | None:
    return None if value != value else value


def _summary_row(
    run_id: str, key: str, steps: array[int], times: array[int], values: array[float]
) -> dict[str, Any]:
    if len(steps) == 1:  # a final metric (T2: ten a run): the point is every aggregate
        only = _nan_to_none(values[0])
        return {
            "run_id": run_id,
            "key": key,
            "last_value": only,
            "last_step": steps[0],
            "last_timestamp_ms": times[0],
            "min_value": only,
            "max_value": only,
            "count": 1,
        }
    # "last" is the point with the largest (step, timestamp); a tie goes to the later point.
    # Points usually come in step order, one per step: then it is the last one, found without
    # a Python-level pass over the batch (T1 folds 100,000 points into summaries at a time).
    last_step = max(steps)
    if steps[-1] == last_step and steps.count(last_step) == 1:
        last_i = len(steps) - 1
    else:
        _, last_i = max((times[i], i) for i, s in enumerate(steps) if s == last_step)
    last_ts = times[last_i]
    finite = values if not math.isnan(sum(values)) else [v for v in values if v == v]
    return {
        "run_id": run_id,
        "key": key,
        "last_value": _nan_to_none(values[last_i]),
        "last_step": last_step,
        "last_timestamp_ms": last_ts,
        "min_value": min(finite) if finite else None,
        "max_value": max(finite) if finite else None,
        "count": len(values),
    }


def _merge_summaries(insert: Any) -> Any:
    """Upsert that folds a batch's summary into the stored one, inside the database."""
    new, old = insert.excluded, t.metric_summaries.c
    newer = sa.or_(
        new.last_step > old.last_step,
        sa.and_(new.last_step == old.last_step, new.last_timestamp_ms >= old.last_timestamp_ms),
    )
    return insert.on_conflict_do_update(
        index_elements=["run_id", "key"],
        set_={
            "last_value": sa.case((newer, new.last_value), else_=old.last_value),
            "last_step": sa.case((newer, new.last_step), else_=old.last_step),
            "last_timestamp_ms": sa.case(
                (newer, new.last_timestamp_ms), else_=old.last_timestamp_ms
            ),
            "min_value": sa.case(
                (old.min_value.is_(None), new.min_value),
                (new.min_value < old.min_value, new.min_value),
                else_=old.min_value,
            ),
            "max_value": sa.case(
                (old.max_value.is_(None), new.max_value),
                (new.max_value > old.max_value, new.max_value),
                else_=old.max_value,
            ),
            "count": old.count + new.count,
        },
    )


_s = t.metric_summaries.c
# the columns of a summary, selected in this order and unpacked as plain tuples: reading
# attributes of SQLAlchemy rows cost more than the query when a search loads 1,000 summaries
_SUMMARY_COLUMNS = (
    _s.key,
    _s.last_value,
    _s.last_step,
    _s.last_timestamp_ms,
    _s.min_value,
    _s.max_value,
    _s["count"],
)


def _summary(
    key: str,
    last: float | None,
    last_step: int,
    last_ts: int,
    low: float | None,
    high: float | None,
    count: int,
) -> MetricSummary:
    # a search builds a thousand of these: filled in directly, half the cost of the frozen
    # dataclass's __init__ (one object.__setattr__ per field); the same object either way
    nan = math.nan
    summary = _new(MetricSummary)
    summary.__dict__.update(
        key=key,
        last_value=nan if last is None else last,
        last_step=last_step,
        last_timestamp_ms=last_ts,
        min_value=nan if low is None else low,
        max_value=nan if high is None else high,
        count=count,
    )
    return summary


_new = object.__new__


_summary_upserts: dict[str, Any] = {}  # dialect name -> statement, built once
_INSERT_CHUNKS = sa.insert(t.metric_chunks)


def insert_series(
    conn: sa.Connection,
    run_id: str,
    series: dict[str, tuple[array[int], array[int], array[float]]],
) -> None:
    """Write checked series as one chunk per key and fold them into the summaries."""
    insert_series_rows(conn, series_rows(run_id, series))


# (chunk rows, summary rows) of some series: plain values only (ints, floats, text, bytes)
SeriesRows = tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]
NO_SERIES: SeriesRows = ((), ())


def series_rows(
    run_id: str, series: dict[str, tuple[array[int], array[int], array[float]]]
) -> SeriesRows:
    """The rows that ``insert_series`` writes for checked series, made now.

    A run's end queues these rather than the arrays until the next flush: rows of plain
    values in tuples are containers the garbage collector stops tracking, while the arrays
    (three a metric) stayed tracked, and a sweep's queue of them, promoted to the oldest
    generation, set off a full collection every few hundred runs.
    """
    chunks = tuple(
        {
            "run_id": run_id,
            "key": key,
            "first_step": steps[0] if len(steps) == 1 else min(steps),
            "last_step": steps[0] if len(steps) == 1 else max(steps),
            "count": len(steps),
            "steps": pack(steps),
            "timestamps": pack(times),
            "values": pack(values),
        }
        for key, (steps, times, values) in series.items()
        if len(steps)
    )
    summaries = tuple(_summary_row(run_id, key, *s) for key, s in series.items() if len(s[0]))
    return chunks, summaries


def insert_series_rows(conn: sa.Connection, *rows: SeriesRows) -> None:
    """Write ``series_rows`` of any number of runs: two statements in all."""
    chunks = [c for r in rows for c in r[0]]
    if not chunks:
        return
    summaries = [s for r in rows for s in r[1]]
    upsert = _summary_upserts.get(conn.dialect.name)
    if upsert is None:
        upsert = _summary_upserts[conn.dialect.name] = _merge_summaries(
            SqlCore._insert(conn, t.metric_summaries)
        )
    execute_plain_many(conn, _INSERT_CHUNKS, chunks)
    execute_plain_many(conn, upsert, summaries)


class MetricsMixin(SqlCore):
    def log_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """Store a batch as one chunk per key and fold it into the summaries, atomically."""
        validate.name("run_id", run_id)
        self._write_series(run_id, validate.metric_series(points))

    def log_metric_series(
        self,
        run_id: str,
        series: MetricColumns,
    ) -> None:
        """The columnar form of ``log_metrics``: ``{key: (steps, timestamps_ms, values)}``."""
        validate.name("run_id", run_id)
        self._write_series(run_id, validate.metric_columns(series))

    def _write_series(
        self, run_id: str, series: dict[str, tuple[array[int], array[int], array[float]]]
    ) -> None:
        with self._write() as conn:
            self._require_run(conn, run_id)
            insert_series(conn, run_id, series)

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every point of one series, ordered by step, then timestamp, then logging order."""
        validate.name("run_id", run_id)
        validate.name("metric key", key)
        c = t.metric_chunks.c
        with self._read() as conn:
            rows = conn.execute(
                sa.select(c.steps, c.timestamps, c["values"])
                .where(c.run_id == run_id, c.key == key)
                .order_by(c.id)
            ).all()
            if not rows:
                self._require_run(conn, run_id)
                raise MetricNotFound(run_id, key)
        points = [
            MetricPoint(key, step, ts, value)
            for steps, times, values in rows
            for step, ts, value in zip(
                unpack("q", steps), unpack("q", times), unpack("d", values), strict=True
            )
        ]
        points.sort(key=lambda p: (p.step, p.timestamp_ms))
        return points

    def get_metric_summaries(self, run_id: str) -> dict[str, MetricSummary]:
        validate.name("run_id", run_id)
        s = t.metric_summaries.c
        with self._read() as conn:
            rows = conn.execute(
                sa.select(*_SUMMARY_COLUMNS).where(s.run_id == run_id).order_by(s.key)
            ).all()
            if not rows:
                self._require_run(conn, run_id)
        return {r[0]: _summary(*r) for r in rows}

    def get_metric_summaries_many(self, run_ids: Sequence[str]) -> dict[str, MetricSummaries]:
        """Summaries of several runs in one query (a batch of 500); runs without metrics map to
        an empty mapping. Each run's are made into ``MetricSummary`` objects when first read."""
        s = t.metric_summaries.c
        rows_of: dict[str, list[Any]] = {rid: [] for rid in run_ids}
        with self._read() as conn:
            sqlite = conn.dialect.name == "sqlite"
            for start in range(0, len(run_ids), IN_BATCH):
                batch = list(run_ids[start : start + IN_BATCH])
                if sqlite:  # SQL text: no statement to build, no `in` list to expand
                    rows = fetch_sql(conn, _SUMMARIES_OF.format(marks=marks(len(batch))), batch)
                else:
                    rows = fetch_plain(
                        conn,
                        sa.select(s.run_id, *_SUMMARY_COLUMNS)
                        .where(s.run_id.in_(batch))
                        .order_by(s.run_id, s.key),  # the primary key's order: no sort step
                    )
                for row in rows:
                    rows_of[row[0]].append(row)
        return {rid: MetricSummaries(rows) for rid, rows in rows_of.items()}


# `_SUMMARY_COLUMNS` of many runs, in the primary key's order (no sort step)
_SUMMARIES_OF = (
    "SELECT run_id, key, last_value, last_step, last_timestamp_ms, min_value, max_value, count"
    " FROM metric_summaries WHERE run_id IN ({marks}) ORDER BY run_id, key"
)
