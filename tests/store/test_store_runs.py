"""Conformance: projects and runs (runs on every Store implementation)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tether.errors import Conflict, InvalidInput, NotFound
from tether.store import ParamConflict, ProjectNotFound, RunNotFound, Store


def test_projects(store: Store) -> None:
    a = store.get_or_create_project("alpha")
    assert a.name == "alpha" and a.created_at.tzinfo is UTC
    assert store.get_or_create_project("alpha") == a
    store.get_or_create_project("beta")
    assert store.get_project("alpha") == a
    assert [p.name for p in store.list_projects()] == ["alpha", "beta"]
    with pytest.raises(ProjectNotFound, match="'gamma'"):
        store.get_project("gamma")


@pytest.mark.parametrize("bad", ["", " x", "x\n", "a\x00b", "x" * 251, 3])
def test_project_name_is_checked(store: Store, bad: object) -> None:
    with pytest.raises(InvalidInput, match="project"):
        store.get_or_create_project(bad)  # type: ignore[arg-type]


def test_create_and_get_run(store: Store) -> None:
    store.get_or_create_project("p")
    before = datetime.now(UTC)
    run = store.create_run(
        "p",
        experiment="exp",
        name="first",
        params={"lr": "0.1"},
        tags={"team": "a"},
        info={"host": {"name": "h"}, "n": 3},
    )
    assert run.status == "running" and run.end_time is None and run.error is None
    assert before <= run.start_time <= datetime.now(UTC)
    got = store.get_run(run.id)
    assert got == run
    assert got.params == {"lr": "0.1"} and got.tags == {"team": "a"}
    assert got.info == {"host": {"name": "h"}, "n": 3}


def test_run_needs_existing_project_and_parent(store: Store) -> None:
    with pytest.raises(ProjectNotFound, match="'nope'"):
        store.create_run("nope")
    store.get_or_create_project("p")
    with pytest.raises(RunNotFound, match="'missing-parent'"):
        store.create_run("p", parent_id="missing-parent")
    parent = store.create_run("p")
    child = store.create_run("p", parent_id=parent.id)
    assert store.get_run(child.id).parent_id == parent.id


def test_unknown_run(store: Store) -> None:
    for call in (
        lambda: store.get_run("r0"),
        lambda: store.set_run_status("r0", "finished"),
        lambda: store.log_params("r0", {"a": "1"}),
        lambda: store.set_tags("r0", {"a": "1"}),
        lambda: store.update_run_info("r0", {"a": 1}),
    ):
        with pytest.raises(RunNotFound, match="'r0'"):
            call()


def test_run_ids_are_time_ordered(store: Store) -> None:
    store.get_or_create_project("p")
    ids = [store.create_run("p").id for _ in range(20)]
    assert ids == sorted(ids)
    assert [r.id for r in store.list_runs("p")] == ids[::-1]


def test_status(store: Store) -> None:
    store.get_or_create_project("p")
    run = store.create_run("p")
    failed = store.set_run_status(run.id, "failed", error="boom")
    assert failed.status == "failed" and failed.error == "boom"
    assert failed.end_time is not None and failed.end_time >= run.start_time
    assert store.get_run(run.id) == failed
    for status in ("finished", "killed"):
        assert store.set_run_status(run.id, status).end_time is not None
    again = store.set_run_status(run.id, "running")
    assert again.end_time is None and again.error is None
    with pytest.raises(InvalidInput, match="status"):
        store.set_run_status(run.id, "done")


def test_params_are_immutable(store: Store) -> None:
    store.get_or_create_project("p")
    run = store.create_run("p", params={"a": "1"})
    store.log_params(run.id, {"a": "1", "b": "2"})  # same value again is fine
    with pytest.raises(ParamConflict, match="'a'") as e:
        store.log_params(run.id, {"c": "3", "a": "9"})
    assert isinstance(e.value, Conflict) and e.value.key == "a"
    assert store.get_run(run.id).params == {"a": "1", "b": "2"}  # the failed call left nothing
    store.log_params(run.id, {})


def test_param_values_must_be_strings(store: Store) -> None:
    store.get_or_create_project("p")
    run = store.create_run("p")
    with pytest.raises(InvalidInput, match=r"params\['lr'\]"):
        store.log_params(run.id, {"lr": 0.1})  # type: ignore[dict-item]
    with pytest.raises(InvalidInput, match="params key"):
        store.log_params(run.id, {"": "x"})


def test_tags_overwrite(store: Store) -> None:
    store.get_or_create_project("p")
    run = store.create_run("p", tags={"a": "1", "b": "2"})
    store.set_tags(run.id, {"a": "10", "c": "3"})
    assert store.get_run(run.id).tags == {"a": "10", "b": "2", "c": "3"}


def test_info_merges(store: Store) -> None:
    store.get_or_create_project("p")
    run = store.create_run("p", info={"code": {"commit": "abc"}, "host": "h1"})
    store.update_run_info(run.id, {"host": "h2", "env": {"python": "3.11"}})
    assert store.get_run(run.id).info == {
        "code": {"commit": "abc"},
        "host": "h2",
        "env": {"python": "3.11"},
    }
    with pytest.raises(InvalidInput, match="info"):
        store.update_run_info(run.id, {"x": object()})
    with pytest.raises(InvalidInput, match="info"):
        store.update_run_info(run.id, {"x": float("nan")})


def test_list_runs(store: Store) -> None:
    store.get_or_create_project("p")
    store.get_or_create_project("q")
    a = store.create_run("p", experiment="e1", params={"k": "a"})
    b = store.create_run("p", experiment="e2", tags={"t": "b"})
    c = store.create_run("p", experiment="e1")
    store.create_run("q")
    assert [r.id for r in store.list_runs("p")] == [c.id, b.id, a.id]
    assert [r.id for r in store.list_runs("p", experiment="e1")] == [c.id, a.id]
    assert [r.id for r in store.list_runs("p", limit=2)] == [c.id, b.id]
    listed = {r.id: r for r in store.list_runs("p")}
    assert listed[a.id].params == {"k": "a"} and listed[b.id].tags == {"t": "b"}
    assert store.list_runs("p", experiment="none") == []
    with pytest.raises(InvalidInput, match="limit"):
        store.list_runs("p", limit=0)
    with pytest.raises(NotFound):
        store.list_runs("zzz")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"experiment": ""}, "experiment"),
        ({"name": "a\tb"}, "name"),
        ({"tags": {"k": 1}}, "tags"),
        ({"info": ["not", "a", "dict"]}, "info"),
    ],
)
def test_create_run_checks_input(store: Store, kwargs: dict[str, object], field: str) -> None:
    store.get_or_create_project("p")
    with pytest.raises(InvalidInput, match=field):
        store.create_run("p", **kwargs)  # type: ignore[arg-type]
