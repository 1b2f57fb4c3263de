"""Conformance: short run ids (the random tail), soft delete and restore of runs and datasets."""

from __future__ import annotations

import pytest

from tether.store import AmbiguousRunId, Store
from tether.store.filter import parse_filter
from tether.store.ids import short_id


def test_short_id_is_the_random_tail_and_resolves(store: Store) -> None:
    store.get_or_create_project("p")
    ids = [store.create_run("p").id for _ in range(5)]
    # UUIDv7 ids made together share their start; their tails differ
    assert len({i[:8] for i in ids}) < 5
    assert len({short_id(i) for i in ids}) == 5
    for rid in ids:
        assert store.resolve_run_id(short_id(rid)) == rid
        assert store.resolve_run_id(rid[-8:].upper()) == rid
        assert store.get_run(store.resolve_run_id(short_id(rid))).id == rid


def test_ambiguous_short_id_lists_candidates(store: Store) -> None:
    store.get_or_create_project("p")
    a = store.create_run("p").id
    b = store.create_run("p").id
    with pytest.raises(AmbiguousRunId) as err:
        store.resolve_run_id(a[:4])  # made in the same second: the same first characters
    assert a in str(err.value) and b in str(err.value)
    assert "more characters" in str(err.value)


def test_deleted_runs_are_hidden_and_restorable(store: Store) -> None:
    store.get_or_create_project("p")
    parent = store.create_run("p", name="pipe")
    child = store.create_run("p", name="step", parent_id=parent.id)
    other = store.create_run("p", name="other")

    assert sorted(store.delete_run(parent.id)) == sorted([parent.id, child.id])
    assert [r.id for r in store.list_runs("p")] == [other.id]
    assert [r.id for r in store.search_runs("p", parse_filter(""))] == [other.id]
    everything = store.search_runs("p", parse_filter(""), include_deleted=True)
    assert {r.id for r in everything} == {parent.id, child.id, other.id}
    assert len(store.list_runs("p", include_deleted=True)) == 3
    deleted = store.get_run(parent.id)  # still readable, marked
    assert deleted.deleted_at is not None and deleted.name == "pipe"
    assert store.resolve_run_id(short_id(child.id)) == child.id  # found to be restored

    assert sorted(store.restore_run(parent.id)) == sorted([parent.id, child.id])
    assert {r.id for r in store.list_runs("p")} == {parent.id, child.id, other.id}
    assert store.get_run(child.id).deleted_at is None


def test_deleted_datasets_are_hidden_and_restorable(store: Store) -> None:
    store.get_or_create_project("p")
    for name in ("a", "b"):
        store.create_dataset_version("p", name, tree_digest="d" * 64, file_count=1, total_size=1)
    store.delete_dataset("p", "a")
    assert store.list_datasets("p") == ["b"]
    assert store.list_datasets("p", include_deleted=True) == ["a", "b"]
    assert store.get_dataset_version("p", "a", 1).version == 1  # versions are kept
    store.restore_dataset("p", "a")
    assert store.list_datasets("p") == ["a", "b"]

    store.delete_dataset("p", "b")
    store.create_dataset_version("p", "b", tree_digest="e" * 64, file_count=1, total_size=1)
    assert store.list_datasets("p") == ["a", "b"]  # a new version brings it back
