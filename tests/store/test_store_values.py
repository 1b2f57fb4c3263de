"""Text the databases refuse (NUL, lone surrogates, runaway lengths) is refused at the call,
and a queued batch that the database still refuses loses only the run it cannot store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tether.errors import InvalidInput
from tether.store import Store, open_store
from tether.store.errors import DeferredWriteFailed
from tether.store.validate import MAX_TEXT

BAD_TEXT = [
    pytest.param("a\x00b", "NUL", id="nul"),
    pytest.param("bad \udc80 bytes", "surrogate", id="lone-surrogate"),
    pytest.param("x" * (MAX_TEXT + 1), "longer than", id="over-long"),
]


@pytest.fixture
def other(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()


@pytest.mark.parametrize(("value", "problem"), BAD_TEXT)
def test_bad_param_and_tag_values_are_refused_at_the_call(
    store: Store, value: str, problem: str
) -> None:
    store.get_or_create_project("p")
    with pytest.raises(InvalidInput, match=rf"params\['x'\].*{problem}"):
        store.create_run("p", params={"x": value}, defer=True)
    run = store.create_run("p", defer=True)
    with pytest.raises(InvalidInput, match=problem):
        store.log_params(run.id, {"x": value})
    with pytest.raises(InvalidInput, match=problem):
        store.set_tags(run.id, {"x": value})
    store.flush()  # nothing bad was queued: the batch writes
    assert store.get_run(run.id).params == {}


@pytest.mark.parametrize(
    "field", ["experiment", "name", "param key", "tag key", "metric key", "message"]
)
@pytest.mark.parametrize("value", ["a\x00b", "a\udc80b"], ids=["nul", "surrogate"])
def test_bad_names_are_refused_at_the_call(store: Store, field: str, value: str) -> None:
    store.get_or_create_project("p")
    run = store.create_run("p")
    with pytest.raises(InvalidInput):
        if field == "experiment":
            store.create_run("p", experiment=value, defer=True)
        elif field == "name":
            store.create_run("p", name=value, defer=True)
        elif field == "param key":
            store.log_params(run.id, {value: "1"})
        elif field == "tag key":
            store.set_tags(run.id, {value: "1"})
        elif field == "metric key":
            store.log_metric_series(run.id, {value: ([0], [0], [1.0])})
        else:
            store.create_dataset_version(
                "p", "d", tree_digest="0" * 64, file_count=1, total_size=1, message=value
            )


def test_a_bad_error_text_is_escaped_not_refused(store: Store, other: Store) -> None:
    store.get_or_create_project("p")
    run = store.create_run("p", defer=True)
    store.finish_run(run.id, "failed", error="boom \x00 \udc80", defer=True)
    store.flush()
    assert other.get_run(run.id).error == "boom \\x00 \\udc80"


def test_a_run_the_database_refuses_in_a_batch_loses_only_itself(
    store: Store, other: Store
) -> None:
    store.get_or_create_project("p")
    before = store.create_run("p", params={"a": "1"}, defer=True)
    bad = store.create_run("p", params={"b": "ok"}, defer=True)
    after = store.create_run("p", params={"c": "3"}, defer=True)
    child = store.create_run("p", parent_id=after.id, defer=True)
    store.finish_run(before.id, "finished", defer=True)
    # A value that got past the checks (as from an older Tether) and that both databases
    # refuse: the whole batch used to fail on every flush, losing every run of the process.
    store._deferred._runs[bad.id].params[0]["value"] = "x\x00\udc80"  # type: ignore[attr-defined]
    with pytest.raises(DeferredWriteFailed, match=rf"1 of 4 .*run {bad.id}"):
        store.flush()
    assert {r.id for r in other.list_runs("p")} == {before.id, after.id, child.id}
    assert other.get_run(before.id).status == "finished"
    assert other.get_run(after.id).params == {"c": "3"}
    store.flush()  # the bad run is not retried forever
    later = store.create_run("p", defer=True)
    store.flush()
    assert other.get_run(later.id).id == later.id
