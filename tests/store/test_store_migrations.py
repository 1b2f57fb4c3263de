"""Schema migrations: they match schema.py, keep data, run once under concurrent first opens."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tether.store import SchemaError, open_store
from tether.store.filter import parse_filter
from tether.store.sql.engine import create_engine, parse_url
from tether.store.sql.migrate import HEAD, alembic_config, current_revision, upgrade
from tether.store.sql.schema import metadata

FIRST = "0001"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database without any tables."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/empty.db"
    url = request.getfixturevalue("fresh_postgres_url")
    assert isinstance(url, str)
    return url


@pytest.fixture
def second_fresh_postgres_url(postgres_server_url: str) -> Iterator[str]:
    from tests.conftest import create_schema, drop_schema, with_search_path

    schema = create_schema(postgres_server_url, "tether_fresh")
    try:
        yield with_search_path(postgres_server_url, schema)
    finally:
        drop_schema(postgres_server_url, schema)


@pytest.fixture
def engine(empty_url: str) -> Iterator[sa.Engine]:
    e = create_engine(parse_url(empty_url), busy_timeout_s=30)
    yield e
    e.dispose()


def test_head_constant_is_the_newest_revision() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [HEAD]
    assert script.get_base() == FIRST


def test_migrations_produce_schema_py(empty_url: str, engine: sa.Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade(engine, HEAD)  # an explicit revision: every migration runs, from an empty database
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
    assert diffs == []


def _schema(engine: sa.Engine) -> dict[str, Any]:
    """Everything inspection sees of every table, in a comparable form."""
    inspector = sa.inspect(engine)
    out: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        out[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(table)
            ],
            "pk": inspector.get_pk_constraint(table),
            "fks": sorted(
                (
                    str(fk["name"]),
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    str(sorted(fk.get("options", {}).items())),
                )
                for fk in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (str(ix["name"]), tuple(map(str, ix["column_names"])), bool(ix["unique"]))
                for ix in inspector.get_indexes(table)
            ),
            "uniques": sorted(
                (str(uq["name"]), tuple(uq["column_names"]))
                for uq in inspector.get_unique_constraints(table)
            ),
            "checks": sorted(
                (str(ck["name"]), " ".join(str(ck["sqltext"]).split()))
                for ck in inspector.get_check_constraints(table)
            ),
        }
    with engine.connect() as conn:
        out["version"] = list(conn.execute(sa.text("SELECT * FROM alembic_version")))
    return out


def test_new_database_equals_one_built_by_every_migration(
    empty_url: str, engine: sa.Engine, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A new database is made from schema.py and stamped at HEAD (no Alembic run); it must be
    the database that replaying every migration gives."""
    if engine.dialect.name == "sqlite":
        other_url = f"sqlite:///{tmp_path}/migrated.db"
    else:
        other_url = request.getfixturevalue("second_fresh_postgres_url")
    migrated = create_engine(parse_url(other_url), busy_timeout_s=30)
    try:
        open_store(empty_url).close()
        upgrade(migrated, HEAD)
        made, replayed = _schema(engine), _schema(migrated)
    finally:
        migrated.dispose()
    assert set(made) == set(metadata.tables) | {"alembic_version", "version"}
    assert made == replayed


def test_upgrade_keeps_data(empty_url: str, engine: sa.Engine) -> None:
    upgrade(engine, FIRST)
    assert current_revision(engine) == FIRST
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO projects (name, created_at) VALUES ('p', :t)"),
            {"t": "2024-01-02 03:04:05"},
        )
        pid = conn.execute(sa.text("SELECT id FROM projects")).scalar()
        conn.execute(
            sa.text(
                "INSERT INTO runs (id, project_id, experiment, status, start_time, info) "
                "VALUES ('r1', :pid, 'e', 'finished', :t, '{\"k\": 1}')"
            ),
            {"pid": pid, "t": "2024-01-02 03:04:05"},
        )
        conn.execute(sa.text("INSERT INTO params (run_id, key, value) VALUES ('r1', 'lr', '0.1')"))
    with open_store(empty_url) as store:
        assert current_revision(engine) == HEAD
        run = store.get_run("r1")
        assert (run.project, run.status, run.params, run.info) == (
            "p",
            "finished",
            {"lr": "0.1"},
            {"k": 1},
        )
        assert run.start_time.year == 2024 and run.start_time.tzinfo is not None
        # 0002 filled in the numeric value of existing params, so number filters find them
        found = store.search_runs("p", parse_filter("params.lr > 0.05 and params.lr < 0.2"))
        assert [r.id for r in found] == ["r1"]
        assert run.heartbeat_at is None


def test_database_from_a_newer_tether(empty_url: str, engine: sa.Engine) -> None:
    open_store(empty_url).close()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(SchemaError, match="newer Tether"):
        open_store(empty_url)


def _open(url: str) -> str:
    with open_store(url) as store:
        store.get_or_create_project("p")
    return "ok"


def _version_rows(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def test_concurrent_first_open_sqlite_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/race.db"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        assert pool.map(_open, [url] * 4) == ["ok"] * 4
    engine = create_engine(parse_url(url), busy_timeout_s=30)
    assert _version_rows(engine) == [HEAD]
    engine.dispose()


def test_concurrent_first_open_threads(empty_url: str, engine: sa.Engine) -> None:
    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(_open, [empty_url] * 6)) == ["ok"] * 6
    assert _version_rows(engine) == [HEAD]
