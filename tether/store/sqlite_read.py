"""One model version read from a SQLite store with the standard library's ``sqlite3``: what a
fresh process that only loads a model (``tether.models.load("churn@champion")``, ``tether
serve``) asks of the registry, without importing SQLAlchemy (about 0.2 s) or checking migrations.

It answers only when the answer is plain: a ``sqlite:///PATH`` URL whose file exists, tables
that have the columns read, and a row found. Anything else (another database, a missing file
or row, a schema it cannot read, a busy or damaged file) is ``None``, and the caller asks the
full store, which creates, migrates, and raises the error that names what is missing.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from tether.store.entities import ModelVersion

_COLUMNS = "v.version, v.artifact_digest, v.flavor, v.signature, v.run_id, v.created_at"
_FROM = (
    "FROM projects p JOIN models m ON m.project_id = p.id "
    "JOIN model_versions v ON v.model_id = m.id "
)
_BY_ALIAS = (
    f"SELECT {_COLUMNS} {_FROM}"
    "JOIN aliases a ON a.model_id = m.id AND a.version = v.version "
    "WHERE p.name = ? AND m.name = ? AND a.alias = ?"
)
_BY_VERSION = f"SELECT {_COLUMNS} {_FROM}WHERE p.name = ? AND m.name = ? AND v.version = ?"


def sqlite_path(url: str) -> Path | None:
    """The database file of a plain ``sqlite:///PATH`` URL (no query); else ``None``."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("sqlite", "sqlite+pysqlite") or "?" in rest:
        return None
    database = rest[1:] if rest.startswith("/") else ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def read_model_version(
    url: str,
    project: str,
    model: str,
    *,
    alias: str | None = None,
    version: int | None = None,
    busy_timeout_s: float = 30.0,
) -> ModelVersion | None:
    """The version ``alias`` (or ``version``) of ``model`` names, in one query; ``None`` when
    this read cannot tell (see the module's docstring)."""
    path = sqlite_path(url)
    if path is None or (alias is None) == (version is None) or not path.is_file():
        return None
    query, key = (_BY_ALIAS, alias) if alias is not None else (_BY_VERSION, version)
    try:  # mode=rw: never create a database here
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=busy_timeout_s
        )
    except sqlite3.Error:
        return None
    try:
        row = conn.execute(query, (project, model, key)).fetchone()
    except sqlite3.Error:  # no such table or column, busy, not a database: the store decides
        return None
    finally:
        conn.close()
    if row is None:
        return None
    number, digest, flavor, signature, run_id, created = row
    try:
        return ModelVersion(
            project=project,
            model=model,
            version=int(number),
            artifact_digest=str(digest),
            flavor=str(flavor),
            signature=None if signature is None else json.loads(signature),
            run_id=run_id,
            created_at=_utc(created),
        )
    except (TypeError, ValueError):  # a value this read does not know how to take
        return None


def _utc(value: object) -> datetime:
    """A stored time (SQLAlchemy writes SQLite datetimes as naive UTC text) as aware UTC."""
    if not isinstance(value, str):
        raise TypeError(f"a stored time is a {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def sqlite_time(value: datetime) -> str:
    """An aware time as the store keeps it on SQLite: naive UTC text with microseconds (what
    SQLAlchemy's SQLite ``DATETIME`` writes, and ``_utc`` reads back)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
