"""Conformance: dataset versions, model versions and aliases."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest

from tether.errors import InvalidInput
from tether.store import (
    AliasNotFound,
    DatasetNotFound,
    DatasetVersion,
    DatasetVersionConflict,
    DatasetVersionNotFound,
    ModelNotFound,
    ModelVersionNotFound,
    ProjectNotFound,
    RunNotFound,
    Store,
    open_store,
)


def _dataset_version(store: Store, dataset: str = "images", **kw: object) -> int:
    return store.create_dataset_version(
        "p",
        dataset,
        tree_digest="t" * 64,
        file_count=3,
        total_size=100,
        **kw,  # type: ignore[arg-type]
    ).version


def test_dataset_versions(store: Store) -> None:
    store.get_or_create_project("p")
    run = store.create_run("p")
    v1 = store.create_dataset_version(
        "p", "images", tree_digest="a" * 64, file_count=2, total_size=10, message="first"
    )
    v2 = store.create_dataset_version(
        "p", "images", tree_digest="b" * 64, file_count=3, total_size=20, run_id=run.id
    )
    assert (v1.version, v2.version) == (1, 2)
    assert v2.run_id == run.id and v1.message == "first" and v1.project == "p"
    assert store.get_dataset_version("p", "images") == v2
    assert store.get_dataset_version("p", "images", 1) == v1
    assert store.list_dataset_versions("p", "images") == [v1, v2]
    _dataset_version(store, "tables")
    assert store.list_datasets("p") == ["images", "tables"]


def test_dataset_not_found(store: Store) -> None:
    with pytest.raises(ProjectNotFound):
        _dataset_version(store)
    store.get_or_create_project("p")
    with pytest.raises(DatasetNotFound, match=r"'images'.*'p'"):
        store.get_dataset_version("p", "images")
    with pytest.raises(DatasetNotFound):
        store.list_dataset_versions("p", "images")
    _dataset_version(store)
    with pytest.raises(DatasetVersionNotFound, match="version 7"):
        store.get_dataset_version("p", "images", 7)
    with pytest.raises(RunNotFound):
        _dataset_version(store, run_id="r0")
    assert store.list_datasets("p") == ["images"]
    with pytest.raises(InvalidInput, match="file_count"):
        store.create_dataset_version("p", "d", tree_digest="t", file_count=-1, total_size=0)
    with pytest.raises(InvalidInput, match="version"):
        store.get_dataset_version("p", "images", 0)


def test_register_dataset_versions_keeps_numbers_and_never_replaces(store: Store) -> None:
    """Versions pulled from a remote keep their numbers, times and messages; idempotent."""
    from dataclasses import replace
    from datetime import UTC, datetime

    store.get_or_create_project("p")
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    def made(version: int, tree: str, message: str | None = None) -> DatasetVersion:
        return DatasetVersion("p", "images", version, tree * 64, 2, 10, message, None, when)

    v1, v3 = made(1, "a", "first"), made(3, "c")
    assert store.register_dataset_versions([v3, v1]) == [v3, v1]
    assert store.list_dataset_versions("p", "images") == [v1, v3]
    assert store.get_dataset_version("p", "images") == v3  # the latest is the highest number
    assert store.register_dataset_versions([v1, made(1, "a", "other message")]) == []
    assert store.get_dataset_version("p", "images", 1).message == "first"
    with pytest.raises(DatasetVersionConflict, match=f"version 3 with tree {'c' * 64}"):
        store.register_dataset_versions([made(2, "b"), made(3, "d")])
    assert [v.version for v in store.list_dataset_versions("p", "images")] == [1, 3]  # no 2
    assert _dataset_version(store) == 4  # a version added here follows the registered ones
    with pytest.raises(InvalidInput, match="created_at"):
        store.register_dataset_versions([replace(made(5, "e"), created_at=datetime(2026, 1, 1))])
    with pytest.raises(RunNotFound):
        store.register_dataset_versions([replace(made(5, "e"), run_id="r0")])


def test_concurrent_dataset_versions_are_unique_and_dense(store_url: str) -> None:
    """Writers on separate connections never get the same number and leave no gaps."""
    stores = [open_store(store_url) for _ in range(4)]
    stores[0].get_or_create_project("p")
    try:
        with ThreadPoolExecutor(8) as pool:
            versions = list(pool.map(lambda i: _dataset_version(stores[i % 4]), range(40)))
        assert sorted(versions) == list(range(1, 41))
        listed = stores[1].list_dataset_versions("p", "images")
        assert [v.version for v in listed] == list(range(1, 41))
    finally:
        for s in stores:
            s.close()


def _model(store: Store, model: str = "clf", **kw: object) -> int:
    return store.create_model_version(
        "p",
        model,
        artifact_digest="d" * 64,
        flavor="sklearn",
        **kw,  # type: ignore[arg-type]
    ).version


def test_model_versions(store: Store) -> None:
    store.get_or_create_project("p")
    run = store.create_run("p")
    signature = {"inputs": [{"name": "x", "type": "double", "shape": [-1, 4]}]}
    m1 = store.create_model_version(
        "p",
        "clf",
        artifact_digest="a" * 64,
        flavor="sklearn",
        signature=signature,
        run_id=run.id,
    )
    m2 = store.create_model_version("p", "clf", artifact_digest="b" * 64, flavor="onnx")
    assert (m1.version, m2.version) == (1, 2) and m1.signature == signature
    assert store.get_model_version("p", "clf", 1) == m1
    assert store.list_model_versions("p", "clf") == [m1, m2]
    _model(store, "reg")
    assert store.list_models("p") == ["clf", "reg"]
    with pytest.raises(ModelNotFound, match="'nope'"):
        store.get_model_version("p", "nope", 1)
    with pytest.raises(ModelVersionNotFound, match="version 3"):
        store.get_model_version("p", "clf", 3)
    with pytest.raises(RunNotFound):
        _model(store, run_id="r0")


def test_aliases(store: Store) -> None:
    store.get_or_create_project("p")
    for _ in range(3):
        _model(store)
    first = store.set_alias("p", "clf", "champion", 1, actor="ana", reason="baseline")
    assert (first.from_version, first.to_version, first.actor) == (None, 1, "ana")
    moved = store.set_alias("p", "clf", "champion", 3, actor="bot")
    assert (moved.from_version, moved.to_version, moved.reason) == (1, 3, None)
    store.set_alias("p", "clf", "challenger", 2, actor="ana")
    assert store.get_alias("p", "clf", "champion").version == 3
    assert store.get_alias("p", "clf", "challenger").version == 2
    assert store.list_alias_events("p", "clf", "champion") == [first, moved]
    assert [e.alias for e in store.list_alias_events("p", "clf")] == [
        "champion",
        "champion",
        "challenger",
    ]


def test_alias_errors(store: Store) -> None:
    store.get_or_create_project("p")
    _model(store)
    with pytest.raises(AliasNotFound, match="'champion'"):
        store.get_alias("p", "clf", "champion")
    with pytest.raises(ModelVersionNotFound, match="version 5"):
        store.set_alias("p", "clf", "champion", 5, actor="ana")
    with pytest.raises(ModelNotFound):
        store.set_alias("p", "other", "champion", 1, actor="ana")
    with pytest.raises(InvalidInput, match="alias"):
        store.set_alias("p", "clf", "12", 1, actor="ana")
    with pytest.raises(InvalidInput, match="actor"):
        store.set_alias("p", "clf", "champion", 1, actor="")
    assert store.list_alias_events("p", "clf") == []


def test_alias_move_and_event_are_one_transaction(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tether.store.sql import registry

    store.get_or_create_project("p")
    _model(store)
    _model(store)
    store.set_alias("p", "clf", "champion", 1, actor="ana")

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("event insert failed")

    monkeypatch.setattr(registry, "_record_alias_event", fail)
    with pytest.raises(RuntimeError):
        store.set_alias("p", "clf", "champion", 2, actor="ana")
    monkeypatch.undo()
    assert store.get_alias("p", "clf", "champion").version == 1
    assert len(store.list_alias_events("p", "clf")) == 1


def test_concurrent_alias_moves_form_one_chain(store_url: str) -> None:
    """Each event's from_version is the previous event's to_version: no lost moves."""
    stores = [open_store(store_url) for _ in range(4)]
    s0 = stores[0]
    s0.get_or_create_project("p")
    for _ in range(5):
        _model(s0)
    try:
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda i: stores[i % 4].set_alias("p", "clf", "champion", i % 5 + 1, actor="t"),
                    range(40),
                )
            )
        events = s0.list_alias_events("p", "clf", "champion")
        assert len(events) == 40 and events[0].from_version is None
        for before, after in itertools.pairwise(events):
            assert after.from_version == before.to_version
        assert s0.get_alias("p", "clf", "champion").version == events[-1].to_version
    finally:
        for s in stores:
            s.close()


@pytest.mark.parametrize("bad", ["bad/name", "", " x", "tab\there", "a@1", "..", "back\\slash"])
def test_dataset_model_and_experiment_names_follow_one_rule(store: Store, bad: str) -> None:
    store.get_or_create_project("p")
    rule = r"not a valid name: dataset, model and experiment names are 1 to 250 characters"
    with pytest.raises(InvalidInput, match=rf"invalid dataset name: .*{rule}"):
        _dataset_version(store, bad)
    with pytest.raises(InvalidInput, match=rf"invalid model name: .*{rule}"):
        _model(store, bad)
    with pytest.raises(InvalidInput, match=rf"invalid experiment name: .*{rule}"):
        store.create_run("p", experiment=bad)
    with pytest.raises(InvalidInput, match=rf"invalid experiment name: .*{rule}"):
        store.list_runs("p", experiment=bad)
    with pytest.raises(InvalidInput, match=rf"invalid dataset name: .*{rule}"):
        store.get_dataset_version("p", bad)
    assert store.list_datasets("p") == [] and store.list_models("p") == []
    assert store.list_runs("p") == []


def test_a_reserved_model_version_is_created_under_its_number(store: Store) -> None:
    store.get_or_create_project("p")
    reserved = store.reserve_model_version("p", "m")
    assert reserved == 1
    later = store.create_model_version("p", "m", artifact_digest="b" * 64, flavor="sklearn")
    assert later.version == 2  # the reserved number is not handed out again
    made = store.create_model_version(
        "p", "m", artifact_digest="a" * 64, flavor="sklearn", version=reserved
    )
    assert made.version == 1
    assert [v.version for v in store.list_model_versions("p", "m")] == [1, 2]
    with pytest.raises(InvalidInput, match="already has a version 1"):
        store.create_model_version("p", "m", artifact_digest="a" * 64, flavor="x", version=1)
    with pytest.raises(InvalidInput, match="never reserved"):
        store.create_model_version("p", "m", artifact_digest="a" * 64, flavor="x", version=7)
    with pytest.raises(InvalidInput, match="never reserved"):
        store.create_model_version("p", "new", artifact_digest="a" * 64, flavor="x", version=1)
    assert [v.version for v in store.list_model_versions("p", "m")] == [1, 2]


def test_set_alias_with_expect_is_a_compare_and_set(store: Store, store_url: str) -> None:
    from tether.store import AliasMoved

    store.get_or_create_project("p")
    for _ in range(3):
        store.create_model_version("p", "m", artifact_digest="a" * 64, flavor="sklearn")
    store.set_alias("p", "m", "prod", 1, actor="a", expect=None)
    with pytest.raises(AliasMoved, match="is at version 1, not unset"):
        store.set_alias("p", "m", "prod", 2, actor="a", expect=None)
    with pytest.raises(AliasMoved, match="is at version 1, not at version 2"):
        store.set_alias("p", "m", "prod", 3, actor="a", expect=2)
    assert store.set_alias("p", "m", "prod", 3, actor="a", expect=1).from_version == 1
    assert [e.to_version for e in store.list_alias_events("p", "m")] == [1, 3]

    def move(version: int) -> bool:  # many movers, all expecting 3: one wins
        with open_store(store_url) as own:
            try:
                own.set_alias("p", "m", "prod", version, actor="t", expect=3)
                return True
            except AliasMoved:
                return False

    with ThreadPoolExecutor(4) as pool:
        won = list(pool.map(move, [1, 2, 1, 2]))
    assert won.count(True) == 1
    assert len(store.list_alias_events("p", "m")) == 3
