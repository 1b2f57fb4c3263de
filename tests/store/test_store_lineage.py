"""Conformance: run inputs/outputs, object records and the audit log."""

from __future__ import annotations

import pytest

from tether.errors import InvalidInput
from tether.store import ObjectRecord, ObjectRecordNotFound, RunIO, RunNotFound, Store


def test_run_io(store: Store) -> None:
    store.get_or_create_project("p")
    run = store.create_run("p").id
    a = store.add_run_io(run, "input", "dataset_version", "p/images@2", name="train")
    b = store.add_run_io(run, "output", "model_version", "p/clf@1")
    c = store.add_run_io(run, "input", "object", "ab" * 32)
    assert a == RunIO(run, "input", "dataset_version", "p/images@2", "train")
    assert store.add_run_io(run, "input", "dataset_version", "p/images@2") == a  # idempotent
    assert store.list_run_io(run) == [a, b, c]
    assert store.list_run_io(run, "input") == [a, c]
    assert store.list_run_io(run, "output") == [b]
    other = store.create_run("p").id
    assert store.list_run_io(other) == []


def test_run_io_errors(store: Store) -> None:
    with pytest.raises(RunNotFound):
        store.add_run_io("r0", "input", "object", "x")
    with pytest.raises(RunNotFound):
        store.list_run_io("r0")
    store.get_or_create_project("p")
    run = store.create_run("p").id
    with pytest.raises(InvalidInput, match="direction"):
        store.add_run_io(run, "sideways", "object", "x")
    with pytest.raises(InvalidInput, match="kind"):
        store.add_run_io(run, "input", "file", "x")
    with pytest.raises(InvalidInput, match="ref"):
        store.add_run_io(run, "input", "object", "")
    with pytest.raises(InvalidInput, match="direction"):
        store.list_run_io(run, "up")


def test_objects(store: Store) -> None:
    records = [ObjectRecord(f"{i:064x}", i * 10, "blob") for i in range(2500)]
    records.append(ObjectRecord("f" * 64, 99, "tree"))
    store.record_objects(iter(records))
    store.record_objects([*records[:10], ObjectRecord("e" * 64, 1)])  # idempotent, in bulk
    assert store.get_object_record(f"{7:064x}") == ObjectRecord(f"{7:064x}", 70, "blob")
    assert store.get_object_record("f" * 64).kind == "tree"
    assert store.get_object_record("e" * 64).size == 1
    store.record_objects([])
    with pytest.raises(ObjectRecordNotFound, match="'0123'"):
        store.get_object_record("0123")
    with pytest.raises(InvalidInput, match="kind"):
        store.record_objects([ObjectRecord("a" * 64, 1, "link")])
    with pytest.raises(InvalidInput, match="size"):
        store.record_objects([ObjectRecord("a" * 64, -1)])


def test_audit(store: Store) -> None:
    first = store.record_audit(
        actor="ana", action="run.create", target="run/1", outcome="ok", project="p"
    )
    second = store.record_audit(
        actor="bob",
        action="model.promote",
        target="p/clf@2",
        outcome="denied",
        detail={"reason": "role viewer"},
    )
    third = store.record_audit(actor="ana", action="x", target="y", outcome="ok", project="p")
    assert first.id < second.id < third.id and first.time <= second.time
    assert store.list_audit() == [third, second, first]
    assert store.list_audit(project="p") == [third, first]
    assert store.list_audit(limit=1) == [third]
    assert second.detail == {"reason": "role viewer"} and second.project is None
    with pytest.raises(InvalidInput, match="actor"):
        store.record_audit(actor="", action="a", target="t", outcome="ok")
    with pytest.raises(InvalidInput, match="limit"):
        store.list_audit(limit=-5)
