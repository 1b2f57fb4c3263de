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

import contextlib
import os
import secrets
import shutil
import subprocess
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


# -- cloud object-store emulators: GCS (gcp-storage-emulator) and Azure Blob (Azurite) ------

ROOT = Path(__file__).resolve().parent.parent
AZURITE_INSTALL = "npm install --prefix .ci/node azurite@3"
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (  # Azurite's published development key: the same on every machine, no secret
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def _serve(name: str, command: list[str], url: str, folder: Path) -> Iterator[None]:
    """Run ``command`` (a server answering HTTP at ``url``) until the session ends.

    Fails the tests, with the end of its log, if it exits or does not answer within 30 s.
    """
    import subprocess
    import time
    import urllib.error
    import urllib.request

    log_path = folder / f"{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except urllib.error.HTTPError:
                break  # it answers, if only to say that / is not a resource
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                state = (
                    f"exited with {proc.returncode}"
                    if proc.poll() is not None
                    else ("did not answer within 30 s")
                )
                pytest.fail(f"the {name} server {state}; its log ends:\n{tail}", pytrace=False)
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gcp-storage-emulator (in memory) on a free loopback port; returns its endpoint URL."""
    import sys

    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1",
               "--port", str(port), "--in-memory"]  # fmt: skip
    with _serve("gcs", command, endpoint, tmp_path_factory.mktemp("gcs")):
        yield endpoint


@pytest.fixture(scope="session")
def gcs_bucket(gcs_emulator: str) -> Callable[[str], str]:
    """``gcs_bucket(name)`` creates a bucket on the GCS emulator; returns the endpoint."""
    import json
    import urllib.error
    import urllib.request

    def make(name: str) -> str:
        request = urllib.request.Request(
            f"{gcs_emulator}/storage/v1/b?project=test",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except urllib.error.HTTPError as e:
            if e.code != 409:  # 409: it exists already
                raise
        return gcs_emulator

    return make


def azurite_binary() -> str:
    """The azurite-blob that .ci/run installs; fails (never skips) when it is not there."""
    found = ROOT / ".ci" / "node" / "node_modules" / ".bin" / "azurite-blob"
    if found.exists():
        return str(found)
    on_path = shutil.which("azurite-blob")
    if on_path:
        return on_path
    # installed on first use from the npm registry, so `python -m pytest` alone works on a
    # fresh machine; a failure is reported, never skipped
    reason = "npm is not on PATH (needs node >= 18 and npm)"
    if shutil.which("npm"):
        done = subprocess.run(
            [*AZURITE_INSTALL.split(), "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode == 0 and found.exists():
            return str(found)
        reason = (done.stderr or done.stdout).strip()[-500:]
    pytest.fail(
        f"Azurite (the Azure Blob emulator) is not installed: the Azure tests need {found}; "
        f"`{AZURITE_INSTALL}` in {ROOT} failed: {reason}; install it by hand (`.ci/run` does "
        "it), or deselect these tests with -m 'not azure'",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Azurite's blob service (in memory) on a free loopback port; returns a connection string."""
    binary = azurite_binary()
    port = _free_port()
    folder = tmp_path_factory.mktemp("azurite")
    endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    # --skipApiVersionCheck: the azure-storage-blob SDK may be newer than the Azurite release
    command = [binary, "--blobHost", "127.0.0.1", "--blobPort", str(port),
               "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry",
               "--silent"]  # fmt: skip
    with _serve("azurite", command, f"http://127.0.0.1:{port}/", folder):
        yield (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};"
        )


@pytest.fixture(scope="session")
def azure_container(azurite: str) -> Callable[[str], str]:
    """``azure_container(name)`` creates a container on Azurite; returns the connection string."""
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(azurite)

    def make(name: str) -> str:
        with contextlib.suppress(ResourceExistsError):
            client.create_container(name)
        return azurite

    return make
