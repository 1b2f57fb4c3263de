"""The registry read without SQLAlchemy (``tether.store.sqlite_read``): the same model version
the store returns, or ``None`` whenever the store has to answer (and no file is ever made)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.store import open_store
from tether.store.sqlite_read import read_model_version


@pytest.fixture
def url(sqlite_store_url: str) -> str:
    store = open_store(sqlite_store_url)
    try:
        store.get_or_create_project("p")
        run = store.create_run("p")
        for digest in ("a" * 64, "b" * 64):
            store.create_model_version(
                "p",
                "churn",
                artifact_digest=digest,
                flavor="sklearn",
                signature={"inputs": {"kind": "ndarray", "specs": []}},
                run_id=run.id,
            )
        store.create_model_version("p", "plain", artifact_digest="c" * 64, flavor="python")
        store.set_alias("p", "churn", "champion", 1, actor="me")
        store.set_alias("p", "churn", "champion", 2, actor="me", reason="better")
    finally:
        store.close()
    return sqlite_store_url


def test_it_returns_what_the_store_returns(url: str) -> None:
    store = open_store(url)
    try:
        expected = [
            (store.get_alias("p", "churn", "champion"), {"alias": "champion"}),
            (store.get_model_version("p", "churn", 1), {"version": 1}),
            (store.get_model_version("p", "plain", 1), {"version": 1}),
        ]
    finally:
        store.close()
    for version, key in expected:
        got = read_model_version(url, "p", version.model, **key)  # type: ignore[arg-type]
        assert got == version
    assert read_model_version(url, "p", "churn", alias="champion").version == 2  # type: ignore[union-attr]


def test_what_it_cannot_find_is_left_to_the_store(url: str) -> None:
    for project, model, key in [
        ("p", "churn", {"alias": "staging"}),
        ("p", "churn", {"version": 3}),
        ("p", "nope", {"alias": "champion"}),
        ("other", "churn", {"alias": "champion"}),
    ]:
        assert read_model_version(url, project, model, **key) is None  # type: ignore[arg-type]


def test_other_databases_and_odd_files_are_left_to_the_store(tmp_path: Path, url: str) -> None:
    path = tmp_path / "absent.db"
    assert read_model_version(f"sqlite:///{path}", "p", "churn", alias="a") is None
    assert not path.exists()  # the store creates databases, this read never does
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all, not even close to one" * 100)
    for other in [
        f"sqlite:///{empty}",
        f"sqlite:///{junk}",
        "sqlite://",
        "sqlite:///:memory:",
        f"{url}?timeout=5",
        "postgresql://u@localhost/db",
    ]:
        assert read_model_version(other, "p", "churn", alias="champion") is None, other
    assert empty.read_bytes() == b""  # left as it was, for the store to report
    assert read_model_version(url, "p", "churn") is None  # neither alias nor version


def test_a_schema_without_the_columns_it_reads_is_left_to_the_store(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.close()
    assert read_model_version(f"sqlite:///{path}", "p", "churn", alias="champion") is None
