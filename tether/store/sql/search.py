"""Run search: the filter AST (``tether.store.filter``) compiled to one SQL query.

A comparison that must hold for a run to match (one of the top-level ``and`` terms) on a metric,
param or tag becomes an inner join on that table's primary key (run, key): the database can then
start from the most selective index, e.g. ``metric_summaries (key, last_value)`` for
``metrics.acc > 0.9``, and walk it in the order asked for. Fields used elsewhere (under ``or`` or
``not``, in ``in``/``like``/``is null``) are correlated scalar subqueries, so a run that lacks the
key yields NULL and does not match; sort keys not already joined are outer joins, missing last.
Params compared with a number use ``params.value_num``, filled when the param is stored.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
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
from tether.store.sql.core import SqlCore, plain_query
from tether.store.sql.runs import _RUN_COLUMNS, load_runs

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


def _literal(field: Field, value: Scalar) -> Any:
    if field.namespace == "attributes" and field.key in ("start_time", "end_time"):
        return _time(field, value)
    if field.namespace == "metrics" or (field.namespace == "params" and _is_number(value)):
        return value
    return _text(value)


_TABLES = {"metrics": t.metric_summaries, "params": t.params, "tags": t.tags}


def _source(field: Field, sample: Scalar | None) -> tuple[str, str]:
    """(namespace, column) that holds ``field``, typed by the literal it is compared with."""
    if field.namespace == "metrics":
        if sample is not None and not _is_number(sample):
            raise InvalidField(f"metrics.{field.key}", "metrics compare with numbers only")
        return "metrics", _METRIC_COLUMN[field.aggregate]
    if field.namespace == "params" and sample is not None and _is_number(sample):
        return "params", "value_num"
    return field.namespace, "value"


MAX_JOINS = 30  # keys joined for comparisons and sorting; the others are subqueries


class _Compiler:
    """Builds the FROM clause (joins) while it compiles the filter and the sort keys."""

    def __init__(self) -> None:
        # (namespace, key) -> (alias, inner join?)
        self.joins: dict[tuple[str, str], tuple[Any, bool]] = {}
        # columns a required comparison already keeps non-NULL: sorting needs no NULL test,
        # and without one the database can read them in index order and stop at the limit
        self.not_null: set[tuple[str, str, str]] = set()

    def _joined(self, namespace: str, key: str, inner: bool) -> Any:
        found = self.joins.get((namespace, key))
        if found is None:
            alias = _TABLES[namespace].alias(f"j{len(self.joins)}")
            self.joins[(namespace, key)] = (alias, inner)
            return alias
        alias, was_inner = found
        if inner and not was_inner:
            self.joins[(namespace, key)] = (alias, True)
        return alias

    def column(self, field: Field, sample: Scalar | None, *, required: bool) -> Any:
        if field.namespace == "attributes":
            return t.runs.c[field.key]
        namespace, column = _source(field, sample)
        if required and (
            len(self.joins) < MAX_JOINS or (namespace, field.key) in self.joins
        ):  # past MAX_JOINS keys, a subquery (SQLite joins at most 64 tables)
            self.not_null.add((namespace, field.key, column))
            return self._joined(namespace, field.key, inner=True).c[column]
        return _key_value(_TABLES[namespace], field.key, column)

    def where(self, expr: Expr, *, required: bool = True) -> Any:
        if isinstance(expr, And):
            return sa.and_(*(self.where(e, required=required) for e in expr.items))
        if isinstance(expr, Or):
            return sa.or_(*(self.where(e, required=False) for e in expr.items))
        if isinstance(expr, Not):
            return sa.not_(self.where(expr.item, required=False))
        if isinstance(expr, Compare):
            column = self.column(expr.field, expr.value, required=required)
            return _OPS[expr.op](column, _literal(expr.field, expr.value))
        if isinstance(expr, In):
            numeric = all(_is_number(v) for v in expr.values)
            column = self.column(
                expr.field,
                expr.values[0] if numeric else "",
                required=required and not expr.negated,
            )
            values = [_literal(expr.field, v) if numeric else _text(v) for v in expr.values]
            clause = column.in_(values)
            return sa.not_(clause) if expr.negated else clause
        if isinstance(expr, Like):
            if expr.field.namespace == "metrics":
                raise InvalidField(
                    f"metrics.{expr.field.key}", "'like' applies to text, not metrics"
                )
            column = self.column(expr.field, "", required=required and not expr.negated)
            clause = column.like(expr.pattern)
            return sa.not_(clause) if expr.negated else clause
        if isinstance(expr, IsNull):
            column = self.column(expr.field, None, required=False)
            return column.is_not(None) if expr.negated else column.is_(None)
        raise TypeError(f"not a filter expression: {expr!r}")

    def order(self, orders: Sequence[OrderBy]) -> list[Any]:
        clauses: list[Any] = []
        for order in orders:
            field = order.field
            if field.namespace == "attributes":
                column = t.runs.c[field.key]
                nullable = field.key in ("name", "end_time", "parent_id")
            else:
                namespace, name = _source(field, 0.0 if field.namespace == "metrics" else None)
                column = self._joined(namespace, field.key, inner=False).c[name]
                nullable = (namespace, field.key, name) not in self.not_null
            if nullable:
                clauses.append(column.is_(None))  # runs without the key go last
            clauses.append(column.desc() if order.descending else column.asc())
        clauses.append(self._tiebreak(orders).desc())
        return clauses

    def _tiebreak(self, orders: Sequence[OrderBy]) -> Any:
        """The run id, last sort key: from the first sort key's inner join where there is one
        (the same value), so that an index on (key, value, run_id), as metric summaries have,
        gives the whole order and the database needs no sort step before the limit."""
        if orders and orders[0].field.namespace != "attributes":
            field = orders[0].field
            namespace, _ = _source(field, 0.0 if field.namespace == "metrics" else None)
            alias, inner = self.joins[(namespace, field.key)]
            if inner:
                return alias.c.run_id
        return t.runs.c.id

    def from_clause(self) -> Any:
        joined: Any = t.runs.join(t.projects)
        for (_, key), (alias, inner) in self.joins.items():
            on = sa.and_(alias.c.run_id == t.runs.c.id, alias.c.key == key)
            joined = joined.join(alias, on, isouter=not inner)
        return joined


def compile_filter(expr: Expr) -> Any:
    """The filter as a WHERE clause of correlated subqueries (no joins needed)."""
    return _Compiler().where(expr, required=False)


# SQLite: (project, experiment, include_deleted, limit, filter, order) -> SQL text and
# parameters (None: not plain), the most recent first out; building and compiling a search's
# statement costs more than running it, and the same search is often run again
_SQL_CACHE: OrderedDict[tuple[Any, ...], tuple[str, tuple[Any, ...]] | None] = OrderedDict()
_SQL_CACHE_SIZE = 256
_sql_lock = threading.Lock()


def _cached_sql(key: tuple[Any, ...]) -> tuple[bool, tuple[str, tuple[Any, ...]] | None]:
    """(whether ``key`` is cached, its SQL or None if it is not plain)."""
    with _sql_lock:
        if key not in _SQL_CACHE:
            return False, None
        _SQL_CACHE.move_to_end(key)
        return True, _SQL_CACHE[key]


def _cache_sql(key: tuple[Any, ...], value: tuple[str, tuple[Any, ...]] | None) -> None:
    with _sql_lock:
        _SQL_CACHE[key] = value
        while len(_SQL_CACHE) > _SQL_CACHE_SIZE:
            _SQL_CACHE.popitem(last=False)


class SearchMixin(SqlCore):
    def search_runs(
        self,
        project: str,
        filter: Expr | None = None,
        order_by: Sequence[OrderBy] = (),
        *,
        limit: int = 1000,
        experiment: str | None = None,
        include_deleted: bool = False,
    ) -> list[Run]:
        validate.name("project", project)
        validate.optional_entity_name("experiment name", experiment)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidField("limit", f"expected a positive whole number, got {limit!r}")
        args = (project, filter, order_by, limit, experiment, include_deleted)
        if self._engine.dialect.name != "sqlite":
            query = _query(*args)
            with self._read() as conn:
                self._project_id(conn, project)
                return load_runs(conn, query)
        # repr, not the objects: 1.0 == True, but `= 1` and `= true` are other searches
        key = (project, experiment, include_deleted, limit, repr(filter), repr(order_by))
        cached, sql = _cached_sql(key)
        query = None if sql is not None else _query(*args)
        with self._read() as conn:
            self._project_id(conn, project)
            if not cached:
                sql = plain_query(conn, query)
                _cache_sql(key, sql)
            # None: a parameter that SQLAlchemy must process (a time)
            return load_runs(conn, query if sql is None else sql)


def _query(
    project: str,
    filter: Expr | None,
    order_by: Sequence[OrderBy],
    limit: int,
    experiment: str | None,
    include_deleted: bool,
) -> Any:
    compiler = _Compiler()
    conditions = [t.projects.c.name == project]
    if experiment is not None:
        conditions.append(t.runs.c.experiment == experiment)
    if not include_deleted:
        conditions.append(t.runs.c.deleted_at.is_(None))
    if filter is not None:
        conditions.append(compiler.where(filter))
    ordering = compiler.order(order_by)
    return (
        sa.select(*_RUN_COLUMNS)
        .select_from(compiler.from_clause())
        .where(*conditions)
        .order_by(*ordering)
        .limit(limit)
    )
