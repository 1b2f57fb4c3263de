"""Conformance: the objects a store refers to (garbage collection's roots)."""

from __future__ import annotations

from tether.store import ObjectRecord, Store


def _d(c: str) -> str:
    return c * 64


def test_roots_are_what_live_datasets_runs_and_models_refer_to(store: Store) -> None:
    store.get_or_create_project("p")
    store.get_or_create_project("q")
    store.create_dataset_version("p", "live", tree_digest=_d("1"), file_count=1, total_size=1)
    store.create_dataset_version("q", "live", tree_digest=_d("2"), file_count=1, total_size=1)
    store.create_dataset_version("p", "gone", tree_digest=_d("3"), file_count=1, total_size=1)
    store.delete_dataset("p", "gone")
    info = {
        "code": {"diff_digest": _d("4"), "commit": "abc"},
        "env": {"packages_digest": _d("5")},
        "step": {"outputs": {"out": [_d("6"), 10, 1, "json"]}, "logs": [_d("7"), 3]},
    }
    run = store.create_run("p", info=info, io=[("input", "object", _d("8"), "in.csv")])
    store.add_run_io(run.id, "output", "object", _d("9"), name="model")
    store.add_run_io(run.id, "input", "dataset_version", "live@1")
    dead = store.create_run("p", info={"env": {"packages_digest": _d("a")}})
    store.add_run_io(dead.id, "output", "object", _d("b"))
    store.delete_run(dead.id)
    store.create_model_version("p", "m", artifact_digest=_d("c"), flavor="sklearn")
    store.record_objects([ObjectRecord(_d("9"), 5, "tree"), ObjectRecord(_d("8"), 5, "blob")])

    roots = {r.digest: r for r in store.object_roots()}

    assert set(roots) == {_d(c) for c in "12456789c"}
    assert roots[_d("1")].tree is True and "live v1" in roots[_d("1")].what
    assert roots[_d("4")].tree is False and "diff" in roots[_d("4")].what
    assert roots[_d("6")].tree is True and "step output out" in roots[_d("6")].what
    assert roots[_d("7")].tree is False
    assert roots[_d("9")].tree is True  # recorded as a tree
    assert roots[_d("8")].tree is False  # recorded as a blob
    assert roots[_d("c")].tree is None  # not recorded: the collector looks
    assert store.tree_digests() == {_d("9")}


def test_restoring_a_dataset_or_run_makes_it_a_root_again(store: Store) -> None:
    store.get_or_create_project("p")
    store.create_dataset_version("p", "a", tree_digest=_d("1"), file_count=1, total_size=1)
    run = store.create_run("p", io=[("output", "object", _d("2"), None)])
    store.delete_dataset("p", "a")
    store.delete_run(run.id)
    assert store.object_roots() == []
    store.restore_dataset("p", "a")
    store.restore_run(run.id)
    assert {r.digest for r in store.object_roots()} == {_d("1"), _d("2")}


def test_reference_profiles_are_recorded_and_roots_while_their_dataset_lives(store: Store) -> None:
    store.get_or_create_project("p")
    store.create_dataset_version("p", "a", tree_digest=_d("1"), file_count=1, total_size=1)
    assert store.get_reference_profile(_d("1"), 1) is None
    store.set_reference_profile(_d("1"), 1, _d("2"))
    store.set_reference_profile(_d("1"), 1, _d("3"))  # recomputed: replaces the record
    store.set_reference_profile(_d("1"), 2, _d("4"))  # another format beside it
    store.set_reference_profile(_d("5"), 1, _d("6"))  # content no dataset version holds
    assert store.get_reference_profile(_d("1"), 1) == _d("3")
    assert store.get_reference_profile(_d("1"), 2) == _d("4")
    roots = {r.digest: r for r in store.object_roots()}
    assert set(roots) == {_d("1"), _d("3"), _d("4")}
    assert roots[_d("3")].tree is False and "reference profile" in roots[_d("3")].what
    store.delete_dataset("p", "a")
    assert store.object_roots() == []
