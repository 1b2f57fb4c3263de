"""Database fixtures shared by every layer's tests.

``store`` / ``store_url`` run a test against SQLite and PostgreSQL (marked ``postgres``). Each
SQLite test gets a copy of a database migrated once per session; each PostgreSQL test session
works in its own schema (``tether_test_<pid>_<random>``, chosen by ``search_path``) that is
emptied before every test and dropped at the end, so concurrent test runs cannot collide.
PostgreSQL must be running on 127.0.0.1:5432 (trust auth, database ``test``); set
``TETHER_TEST_POSTGRES_URL`` to use another server. If it cannot be reached, PostgreSQL tests
fail with the reason; they are never skipped. Deselect them with ``-m "not postgres"``.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tether.store import Store, open_store

POSTGRES_ENV = "TETHER_TEST_POSTGRES_URL"
POSTGRES_DEFAULTS = (
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg://root@127.0.0.1:5432/test",
)


def _engine(url: str) -> Any:
    import sqlalchemy as sa

    return sa.create_engine(url, connect_args={"connect_timeout": 5}, poolclass=sa.NullPool)


def with_search_path(server_url: str, schema: str) -> str:
    """``server_url`` with every connection's ``search_path`` set to ``schema``."""
    from sqlalchemy.engine import make_url

    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """A URL of the test PostgreSQL server (no schema chosen); fails loudly if unreachable."""
    import sqlalchemy as sa

    candidates = [os.environ[POSTGRES_ENV]] if os.environ.get(POSTGRES_ENV) else POSTGRES_DEFAULTS
    errors = []
    for url in candidates:
        engine = _engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return url
        except sa.exc.SQLAlchemyError as e:
            reason = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
            errors.append(f"  {url}: {reason}")
        finally:
            engine.dispose()
    pytest.fail(
        "PostgreSQL tests need a server on 127.0.0.1:5432 with trust auth and a database "
        f"`test` (or set {POSTGRES_ENV}); deselect them with -m 'not postgres'. "
        "Connection attempts:\n" + "\n".join(errors),
        pytrace=False,
    )


def create_schema(server_url: str, prefix: str = "tether_test") -> str:
    import sqlalchemy as sa

    schema = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    engine = _engine(server_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return schema


def drop_schema(server_url: str, schema: str) -> None:
    import sqlalchemy as sa

    engine = _engine(server_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_session_url(postgres_server_url: str) -> Iterator[str]:
    """This session's own schema, migrated once; dropped at the end."""
    schema = create_schema(postgres_server_url)
    url = with_search_path(postgres_server_url, schema)
    try:
        open_store(url).close()
        yield url
    finally:
        drop_schema(postgres_server_url, schema)


@pytest.fixture
def postgres_store_url(postgres_session_url: str) -> str:
    """The session schema, emptied: every test starts from a fresh database."""
    from tether.store.sql.schema import metadata

    # DELETE beats TRUNCATE on tables this small (TRUNCATE rewrites 15 files every time)
    sql = "; ".join(f'DELETE FROM "{t.name}"' for t in reversed(metadata.sorted_tables))
    engine = _engine(postgres_session_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()
    return postgres_session_url


@pytest.fixture
def fresh_postgres_url(postgres_server_url: str) -> Iterator[str]:
    """An empty schema of its own (no tables at all), for migration tests."""
    schema = create_schema(postgres_server_url, "tether_fresh")
    try:
        yield with_search_path(postgres_server_url, schema)
    finally:
        drop_schema(postgres_server_url, schema)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store-template") / "tether.db"
    open_store(f"sqlite:///{path}").close()
    return path


@pytest.fixture
def sqlite_store_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite database (a copy of the session's template)."""
    path = tmp_path / "tether.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """The URL of a fresh, migrated metadata store: once on SQLite, once on PostgreSQL."""
    url = request.getfixturevalue(f"{request.param}_store_url")
    assert isinstance(url, str)
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """A real S3-protocol server (moto) on 127.0.0.1, free port; fails loudly if it cannot start.

    Returns its endpoint URL; each suite creates the buckets it needs with :func:`s3_bucket`.
    """
    import threading

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    starter = threading.Thread(target=server.start, daemon=True)
    starter.start()
    starter.join(timeout=20)
    if starter.is_alive():
        pytest.fail("the moto S3 server did not start within 20 s", pytrace=False)
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def s3_bucket(moto_s3: str) -> Callable[[str], str]:
    """``s3_bucket(name)`` creates a bucket on the shared moto server; returns the endpoint."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=moto_s3,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )

    def make(name: str) -> str:
        client.create_bucket(Bucket=name)
        return moto_s3

    return make
