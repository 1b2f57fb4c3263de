"""Run search: the filter AST (``tether.store.filter``) compiled to one SQL query.

Each field becomes a correlated scalar subquery on the run's row (``params``, ``tags``,
``metric_summaries`` by primary key), so a run that lacks the key yields NULL and does not match.
Params compared with a number use ``params.value_num``, filled when the param is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tether.store import validate
from tether.store.entities import Run
from tether.store.errors import InvalidField
from tether.store.filter import (
    And,
    Compare,
    Expr,
    Field,
    In,
    IsNull,
    Like,
    Not,
    Or,
    OrderBy,
    Scalar,
)
from tether.store.sql import schema as t
from tether.store.sql.core import SqlCore
from tether.store.sql.runs import _RUN_COLUMNS, _key_values, _run

_METRIC_COLUMN = {"last": "last_value", "min": "min_value", "max": "max_value"}
_OPS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _key_value(table: sa.Table, key: str, column: str = "value") -> Any:
    return (
        sa.select(table.c[column])
        .where(table.c.run_id == t.runs.c.id, table.c.key == key)
        .scalar_subquery()
    )


def _is_number(value: Scalar) -> bool:
    return isinstance(value, float) and not isinstance(value, bool)


def _text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    return value


def _time(field: Field, value: Scalar) -> datetime:
    if isinstance(value, bool):
        raise InvalidField(field.key, "compare times with an ISO date such as '2026-01-31'")
    if isinstance(value, float):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidField(
            field.key, f"{value!r} is not an ISO date or time such as '2026-01-31T12:00'"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _column(field: Field, sample: Scalar | None) -> Any:
    """The SQL expression for ``field``, typed by the literal it is compared with."""
    if field.namespace == "metrics":
        if sample is not None and not _is_number(sample):
            raise InvalidField(f"metrics.{field.key}", "metrics compare with numbers only")
        return _key_value(t.metric_summaries, field.key, _METRIC_COLUMN[field.aggregate])
    if field.namespace == "params":
        if sample is not None and _is_number(sample):
            return _key_value(t.params, field.key, "value_num")
        return _key_value(t.params, field.key)
    if field.namespace == "tags":
        return _key_value(t.tags, field.key)
    return t.runs.c[field.key]


def _literal(field: Field, value: Scalar) -> Any:
    if field.namespace == "attributes" and field.key in ("start_time", "end_time"):
        return _time(field, value)
    if field.namespace in ("metrics",) or (field.namespace == "params" and _is_number(value)):
        return value
    return _text(value)


def compile_filter(expr: Expr) -> Any:
    if isinstance(expr, And):
        return sa.and_(*(compile_filter(e) for e in expr.items))
    if isinstance(expr, Or):
        return sa.or_(*(compile_filter(e) for e in expr.items))
    if isinstance(expr, Not):
        return sa.not_(compile_filter(expr.item))
    if isinstance(expr, Compare):
        column = _column(expr.field, expr.value)
        return _OPS[expr.op](column, _literal(expr.field, expr.value))
    if isinstance(expr, In):
        numeric = all(_is_number(v) for v in expr.values)
        column = _column(expr.field, expr.values[0] if numeric else "")
        values = [_literal(expr.field, v) if numeric else _text(v) for v in expr.values]
        clause = column.in_(values)
        return sa.not_(clause) if expr.negated else clause
    if isinstance(expr, Like):
        if expr.field.namespace == "metrics":
            raise InvalidField(f"metrics.{expr.field.key}", "'like' applies to text, not metrics")
        clause = _column(expr.field, "").like(expr.pattern)
        return sa.not_(clause) if expr.negated else clause
    if isinstance(expr, IsNull):
        column = _column(expr.field, None)
        return column.is_not(None) if expr.negated else column.is_(None)
    raise TypeError(f"not a filter expression: {expr!r}")


def compile_order(orders: Sequence[OrderBy]) -> list[Any]:
    clauses: list[Any] = []
    for order in orders:
        column = _column(order.field, 0.0 if order.field.namespace == "metrics" else None)
        clauses.append(column.is_(None))  # runs without the key go last
        clauses.append(column.desc() if order.descending else column.asc())
    clauses.append(t.runs.c.id.desc())
    return clauses


class SearchMixin(SqlCore):
    def search_runs(
        self,
        project: str,
        filter: Expr | None = None,
        order_by: Sequence[OrderBy] = (),
        *,
        limit: int = 1000,
        experiment: str | None = None,
    ) -> list[Run]:
        validate.name("project", project)
        validate.optional_name("experiment", experiment)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidField("limit", f"expected a positive whole number, got {limit!r}")
        query = sa.select(*_RUN_COLUMNS).join(t.projects).where(t.projects.c.name == project)
        if experiment is not None:
            query = query.where(t.runs.c.experiment == experiment)
        if filter is not None:
            query = query.where(compile_filter(filter))
        query = query.order_by(*compile_order(order_by)).limit(limit)
        with self._read() as conn:
            self._project_id(conn, project)
            rows = conn.execute(query).all()
            ids = [r.id for r in rows]
            params = _key_values(conn, t.params, ids)
            tags = _key_values(conn, t.tags, ids)
        return [_run(r, params[r.id], tags[r.id]) for r in rows]
