"""Opening stores: URL schemes, unreachable databases, settings, cost of import and reopen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tether.config import load_settings
from tether.errors import ConfigError, StorageError
from tether.store import (
    MetricPoint,
    StoreUnavailable,
    UnknownStoreScheme,
    open_store,
    open_store_from_settings,
)
from tether.store.errors import InvalidStoreOption, StoreDamaged
from tether.store.sql.engine import parse_url


@pytest.mark.parametrize("url", ["mysql://u@h/db", "foo://bar", "/just/a/path"])
def test_unknown_scheme(url: str) -> None:
    with pytest.raises(UnknownStoreScheme) as e:
        open_store(url)
    assert isinstance(e.value, ConfigError)
    message = str(e.value)
    assert "sqlite" in message and "postgresql" in message
    if "://" in url:
        assert repr(url.split("://")[0]) in message


@pytest.mark.parametrize(
    "url",
    [
        "postgres://u:pw@h:5433/db",
        "postgresql://u:pw@h:5433/db",
        "postgresql+psycopg://u:pw@h:5433/db",
        "POSTGRESQL://u:pw@h:5433/db",
    ],
)
def test_postgres_urls_use_psycopg3(url: str) -> None:
    parsed = parse_url(url)
    assert parsed.drivername == "postgresql+psycopg"
    assert (parsed.host, parsed.port, parsed.database, parsed.password) == ("h", 5433, "db", "pw")


def test_unreachable_postgres_names_url_without_password() -> None:
    url = "postgresql://tether:hunter2-secret@127.0.0.1:1/metadata?connect_timeout=3"
    with pytest.raises(StoreUnavailable) as e:
        open_store(url)
    message = str(e.value)
    assert isinstance(e.value, StorageError)
    assert "hunter2-secret" not in message
    assert "postgresql+psycopg://tether:***@127.0.0.1:1/metadata" in message
    assert "check that the server is running" in message
    assert e.value.__cause__ is None and e.value.__suppress_context__


def test_unopenable_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/folder/tether.db"
    with pytest.raises(StoreUnavailable, match="folder exists"):
        open_store(url)
    (tmp_path / "junk.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError):
        open_store(f"sqlite:///{tmp_path}/junk.db")


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ("empty", "the file is empty \\(0 bytes\\)"),
        ("garbage", "not a SQLite database"),
        ("half", "malformed"),
        ("header-only", "malformed"),
    ],
)
def test_a_damaged_sqlite_file_is_reported_not_replaced(
    sqlite_store_url: str, damage: str, problem: str
) -> None:
    path = Path(sqlite_store_url.removeprefix("sqlite:///"))
    with open_store(sqlite_store_url) as store:
        store.get_or_create_project("p")
        for _ in range(50):
            store.create_run("p", params={f"k{i}": "x" * 100 for i in range(20)})
    whole = path.read_bytes()
    damaged = {
        "empty": b"",
        "garbage": b"not a database at all" * 100,
        "half": whole[: len(whole) // 2],
        "header-only": whole[:100],
    }[damage]
    path.write_bytes(damaged)
    with pytest.raises(StoreDamaged, match=f"is damaged: .*{problem}.*restore it from a backup"):
        open_store(sqlite_store_url)
    assert path.read_bytes() == damaged  # left as it was, for the user to rescue


def test_a_new_sqlite_store_file_is_created_whole(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/new.db") as store:
        store.get_or_create_project("p")
    assert (tmp_path / "new.db").read_bytes().startswith(b"SQLite format 3\x00")
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("new.db")) == []


def test_in_memory_sqlite() -> None:
    with open_store("sqlite://") as store:
        store.get_or_create_project("p")
        run = store.create_run("p")
        store.log_metrics(run.id, [MetricPoint("a", 0, 0, 1.0)])
        assert store.get_metric_summaries(run.id)["a"].count == 1


def test_open_from_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    settings = load_settings(
        None,
        flags={"store.url": url, "store.busy_timeout_s": 2.5},
        env={"XDG_CONFIG_HOME": str(tmp_path)},
    )
    with open_store_from_settings(settings) as store:
        assert store.list_projects() == []
    assert (tmp_path / "s.db").exists()


def test_sqlite_pragmas(sqlite_store_url: str) -> None:
    import sqlalchemy as sa

    from tether.store.sql.store import SqlStore

    store = open_store(sqlite_store_url, busy_timeout_s=4)
    assert isinstance(store, SqlStore)
    with store._read() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    store.close()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 4000,
    }


_SYNCHRONOUS = {"OFF": 0, "NORMAL": 1, "FULL": 2, "EXTRA": 3}


@pytest.mark.parametrize("level", ["off", "NORMAL", "Full", "EXTRA"])
def test_sqlite_synchronous_setting_is_in_effect(tmp_path: Path, level: str) -> None:
    settings = load_settings(
        None,
        flags={"store.url": f"sqlite:///{tmp_path}/s.db"},
        env={"XDG_CONFIG_HOME": str(tmp_path), "TETHER_STORE_SQLITE_SYNCHRONOUS": level},
    )
    assert settings["store.sqlite_synchronous"] == level.upper()
    with open_store_from_settings(settings) as store:
        store.get_or_create_project("p")  # a write: the writer's connection too
        engine = store._engine  # type: ignore[attr-defined]
        with engine.connect() as a, engine.connect() as b:  # every pooled connection
            got = {c.exec_driver_sql("PRAGMA synchronous").scalar() for c in (a, b)}
    assert got == {_SYNCHRONOUS[level.upper()]}


def test_sqlite_synchronous_default_is_normal(tmp_path: Path) -> None:
    settings = load_settings(
        None, flags={"store.url": f"sqlite:///{tmp_path}/s.db"}, env={"XDG_CONFIG_HOME": "/x"}
    )
    assert settings.resolved["store.sqlite_synchronous"].value == "NORMAL"
    assert settings.resolved["store.sqlite_synchronous"].source == "default"


def test_invalid_sqlite_synchronous_is_a_clear_error(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path), "TETHER_STORE_SQLITE_SYNCHRONOUS": "fast"}
    with pytest.raises(ConfigError) as e:
        load_settings(None, env=env)
    message = str(e.value)
    assert "store.sqlite_synchronous" in message and "TETHER_STORE_SQLITE_SYNCHRONOUS" in message
    assert "OFF, NORMAL, FULL, EXTRA" in message and "'fast'" in message
    with pytest.raises(InvalidStoreOption, match="OFF, NORMAL, FULL, EXTRA"):
        open_store(f"sqlite:///{tmp_path}/s.db", sqlite_synchronous="2; DROP TABLE runs")
    assert not (tmp_path / "s.db").exists()  # rejected before the file is created


def test_reopening_an_up_to_date_store_is_fast(store_url: str) -> None:
    open_store(store_url).close()  # warm the imports
    # Fast because it costs one query, the schema revision: no migration run, no table
    # reflected (and alembic not even imported: the next test). No clock: counted statements.
    import sqlalchemy as sa

    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(" ".join(statement.split()))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    try:
        open_store(store_url).close()
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)
    queries = [s for s in statements if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK"))]
    assert queries == ["SELECT version_num FROM alembic_version"]


def test_import_is_cheap_and_reopen_skips_alembic(sqlite_store_url: str) -> None:
    code = (
        "import sys, tether.store\n"
        "assert 'sqlalchemy' not in sys.modules, 'import tether.store loaded sqlalchemy'\n"
        f"tether.store.open_store({sqlite_store_url!r}).close()\n"
        "assert 'alembic' not in sys.modules, 'opening an up-to-date store imported alembic'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_new_store_is_created_without_alembic(tmp_path: Path) -> None:
    """The first open after `tether init` makes the tables from schema.py in one transaction
    (running every migration cost ~0.2 s of each first command)."""
    url = f"sqlite:///{tmp_path}/new.db"
    code = (
        "import sys, tether.store\n"
        f"tether.store.open_store({url!r}).close()\n"
        "assert 'alembic' not in sys.modules, 'creating a new store imported alembic'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_opening_a_second_store_on_a_file_keeps_the_first_ones_writes_visible(
    tmp_path: Path,
) -> None:
    """Checking the file's header must not drop this process's SQLite locks: another process
    closing its connection would then delete the write-ahead log under the first store."""
    url = f"sqlite:///{tmp_path}/shared.db"
    reader = [sys.executable, "-c", READ_PROJECTS, str(tmp_path / "shared.db")]
    with open_store(url) as first:
        first.get_or_create_project("a")
        with open_store(url) as second:
            second.get_or_create_project("b")
        assert subprocess.run(reader, capture_output=True, text=True, check=True).stdout
        first.get_or_create_project("c")
        done = subprocess.run(reader, capture_output=True, text=True, check=True)
        assert done.stdout.split() == ["a", "b", "c"]


READ_PROJECTS = """
import sqlite3, sys
for (name,) in sqlite3.connect(sys.argv[1]).execute("select name from projects order by name"):
    print(name)
"""
