"""Evaluations of registered versions as runs; gate and promote_if_better on a real workspace
(SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import tether.models as tm
from tests.objects.conftest import tamper
from tests.support import isolate_from_machine
from tether.config import init_workspace
from tether.errors import TetherError
from tether.objects.errors import CorruptObject
from tether.store import Store
from tether.store.errors import AliasNotFound, DatasetNotFound, ModelNotFound, ModelVersionNotFound
from tether.tracking import lifecycle
from tether.tracking.session import close_sessions
from tether.workspace import open_workspace

from .registrykit import churn, register, strong_and_weak

POLICY = {"primary": "accuracy", "resamples": 200, "slices": ["segment == 'b'"]}


@pytest.fixture(scope="module")
def models() -> tuple[pd.DataFrame, Any, Any]:
    frame = churn(300)
    strong, weak = strong_and_weak(frame)
    return frame, strong, weak


@pytest.fixture
def ws(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "ws"
    init_workspace(root, project="proj")
    monkeypatch.chdir(root)
    isolate_from_machine(monkeypatch, tmp_path)
    monkeypatch.setenv("TETHER_STORE_URL", store_url)
    yield root
    for run in lifecycle.running():
        run.end("killed")
    close_sessions()


@pytest.fixture
def registered(ws: Path, models: tuple[pd.DataFrame, Any, Any]) -> Store:
    """``m@1`` weak, ``m@2`` strong, ``eval.parquet`` and dataset ``churn@1`` holding it."""
    from tether.tracking.datasets import add

    frame, strong, weak = models
    sample = frame.drop(columns=["y"]).head(20)
    register("m", weak, sample)
    register("m", strong, sample)
    (ws / "data").mkdir()
    frame.to_parquet(ws / "data" / "eval.parquet")
    add(ws / "data", "churn")
    return open_workspace().store


def _events(store: Store) -> list[tuple[int | None, int, str | None]]:
    return [(e.from_version, e.to_version, e.reason) for e in store.list_alias_events("proj", "m")]


def test_evaluating_a_reference_records_a_run_with_the_model_and_data_versions(
    registered: Store,
) -> None:
    from tether.tracking.lineage import Node, trace
    from tether.tracking.session import open_session

    ev = tm.evaluate("m@2", "churn@1", target="y", slices=["segment == 'b'"], latency=False)

    assert isinstance(ev, tm.TrackedEvaluation) and ev.model == "m@2" and ev.source == "churn@1"
    registered.flush()
    inputs = {(io.kind, io.ref) for io in registered.list_run_io(ev.run_id, "input")}
    assert inputs == {("model_version", "m@2"), ("dataset_version", "churn@1")}
    run = registered.get_run(ev.run_id)
    assert run.status == "finished" and run.experiment == "evaluation"
    assert run.tags["tether.evaluation.of"] == "m@2"
    summaries = registered.get_metric_summaries(ev.run_id)
    assert summaries["accuracy"].last_value == pytest.approx(ev.metrics["accuracy"])
    assert summaries["slices/segment == 'b'/accuracy"].last_value == pytest.approx(
        ev.slices["segment == 'b'"].metrics["accuracy"]
    )
    found = registered.search_runs("proj", None)
    assert [r.id for r in found if r.tags.get("tether.evaluation.of") == "m@2"] == [ev.run_id]
    graph = trace(open_session(), Node("model_version", "m@2"))
    assert Node("run", ev.run_id) in graph.nodes()


def test_an_alias_reference_evaluates_the_version_it_points_at(registered: Store) -> None:
    registered.set_alias("proj", "m", "champion", 1, actor="t")
    ev = tm.evaluate("m@champion", "data/eval.parquet", target="y", latency=False)
    assert isinstance(ev, tm.TrackedEvaluation) and ev.model == "m@1"


def test_a_model_object_is_evaluated_without_a_run(
    models: tuple[pd.DataFrame, Any, Any],
) -> None:
    frame, strong, _ = models
    ev = tm.evaluate(strong, frame, target="y", latency=False)
    assert type(ev) is tm.Evaluation and ev.metrics["accuracy"] > 0.8


def test_a_model_object_reads_a_dataset_reference_without_a_run(
    registered: Store, models: tuple[pd.DataFrame, Any, Any]
) -> None:
    _, strong, _ = models
    ev = tm.evaluate(strong, "churn@1", target="y", latency=False)
    assert type(ev) is tm.Evaluation and ev.source == "churn@1" and ev.rows == 300
    with pytest.raises(tm.DataNotFound, match=r"'missing\.parquet' does not exist"):
        tm.evaluate(strong, "missing.parquet", target="y")
    registered.flush()
    assert registered.search_runs("proj", None) == []


def test_gate_on_references_evaluates_both_as_runs(registered: Store) -> None:
    decision = tm.gate("m@2", "m@1", "churn@1", POLICY, target="y")
    assert decision.passed, decision.reasons
    chal, champ = decision.challenger, decision.champion
    assert isinstance(chal, tm.TrackedEvaluation) and isinstance(champ, tm.TrackedEvaluation)
    registered.flush()
    assert registered.get_run(chal.run_id).tags["tether.gate.against"] == "m@1"
    assert registered.get_run(champ.run_id).tags["tether.gate.role"] == "champion"
    assert registered.list_alias_events("proj", "m") == []  # a gate alone moves nothing


def test_promote_if_better_moves_the_alias_only_when_the_gate_passes(registered: Store) -> None:
    first = tm.promote_if_better("m@1", "champion", "churn@1", POLICY, target="y")
    assert first.passed and "no alias 'champion' yet" in first.reasons[0]
    assert registered.get_alias("proj", "m", "champion").version == 1

    better = tm.promote_if_better(
        "m@2", "champion", "churn@1", POLICY, target="y", reason="weekly retrain"
    )
    assert better.passed
    assert registered.get_alias("proj", "m", "champion").version == 2
    event = registered.list_alias_events("proj", "m", "champion")[-1]
    assert (event.from_version, event.to_version) == (1, 2)
    assert event.reason is not None
    lines = event.reason.splitlines()
    assert lines[0] == "weekly retrain"
    assert lines[1].startswith("m@2: gate passed against m@1")
    assert lines[2:] == better.reasons

    before = _events(registered)
    worse = tm.promote_if_better("m@1", "champion", "churn@1", POLICY, target="y")
    assert not worse.passed
    assert registered.get_alias("proj", "m", "champion").version == 2
    assert _events(registered) == before


def test_a_first_promotion_still_obeys_the_latency_ceiling(registered: Store) -> None:
    policy = {**POLICY, "max_latency_p99_ms": 1e-9}
    decision = tm.promote_if_better("m@2", "champion", "churn@1", policy, target="y")
    assert not decision.passed
    assert [r.name for r in decision.rules if not r.passed] == ["latency"]
    with pytest.raises(AliasNotFound):
        registered.get_alias("proj", "m", "champion")


def _cache(ws: Path, version: int) -> Path:
    digest = open_workspace().store.get_model_version("proj", "m", version).artifact_digest
    return ws / ".tether" / "cache" / "models" / digest


def _corrupt_artifact(version: int) -> None:
    """Damage the largest file of the version's artifact in the object store."""
    w = open_workspace()
    tree = w.objects.read_tree(w.store.get_model_version("proj", "m", version).artifact_digest)
    victim = max(tree.entries, key=lambda e: e.size)
    tamper(w.objects, victim.digest, b"x")


def test_a_damaged_cached_copy_is_fetched_again(registered: Store, ws: Path) -> None:
    tm.evaluate("m@2", "churn@1", target="y", latency=False)
    victim = max(
        (p for p in _cache(ws, 2).rglob("*") if p.is_file()), key=lambda p: p.stat().st_size
    )
    victim.chmod(0o644)
    victim.write_bytes(b"garbage")
    again = tm.evaluate("m@2", "churn@1", target="y", latency=False)
    assert again.metrics["accuracy"] > 0.8


BAD: dict[str, tuple[str, dict[str, Any], str, type[TetherError]]] = {
    # case: (challenger, policy changes, data, error)
    "unknown model": ("nope@2", {}, "churn@1", ModelNotFound),
    "missing version": ("m@9", {}, "churn@1", ModelVersionNotFound),
    "unknown metric": ("m@2", {"max_regression": {"logloss": 0.1}}, "churn@1", tm.InvalidPolicy),
    "malformed slice": ("m@2", {"slices": ["segment =="]}, "churn@1", tm.InvalidPolicy),
    "no target": ("m@2", {}, "data-no-target", tm.MissingTarget),
    "corrupt artifact": ("m@3", {}, "churn@1", CorruptObject),
    "unknown dataset": ("m@2", {}, "nodata@1", DatasetNotFound),
}


def test_bad_input_is_a_clear_error_and_changes_nothing(
    registered: Store, ws: Path, models: tuple[pd.DataFrame, Any, Any]
) -> None:
    frame, strong, _ = models
    register("m", strong, frame.drop(columns=["y"]).head(20))
    _corrupt_artifact(3)
    frame.drop(columns=["y"]).to_parquet(ws / "data-no-target")
    registered.set_alias("proj", "m", "champion", 1, actor="t", reason="start")
    registered.flush()
    before = _events(registered)
    runs = len(registered.search_runs("proj", None))
    for case, (challenger, changes, data, error) in BAD.items():
        with pytest.raises(error):
            tm.promote_if_better(challenger, "champion", data, {**POLICY, **changes}, target="y")
        assert registered.get_alias("proj", "m", "champion").version == 1, case
        assert _events(registered) == before, case
    with pytest.raises(AliasNotFound):
        tm.gate("m@2", "m@nope", "churn@1", POLICY, target="y")
    registered.flush()
    assert len(registered.search_runs("proj", None)) == runs  # no half-made evaluation run
    assert not _cache(ws, 3).exists()  # nothing of the damaged artifact written


def test_racing_promotions_leave_one_chain_of_events(
    registered: Store, ws: Path, models: tuple[pd.DataFrame, Any, Any]
) -> None:
    frame, strong, _ = models
    register("m", strong, frame.drop(columns=["y"]).head(20))  # m@3, as good as m@2
    tm.promote_if_better("m@1", "champion", "churn@1", POLICY, target="y")
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def promote(ref: str) -> None:
        try:
            start.wait()
            tm.promote_if_better(ref, "champion", "churn@1", POLICY, target="y", workspace=ws)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=promote, args=(ref,)) for ref in ("m@2", "m@3")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    events = registered.list_alias_events("proj", "m", "champion")
    assert 2 <= len(events) <= 3
    for previous, event in itertools.pairwise(events):
        assert event.from_version == previous.to_version
        assert event.reason is not None and f"against m@{event.from_version}" in event.reason
    assert registered.get_alias("proj", "m", "champion").version == events[-1].to_version
    assert events[-1].to_version in (2, 3)


def test_an_alias_moved_during_the_gate_is_gated_against_again(
    registered: Store, ws: Path, models: tuple[pd.DataFrame, Any, Any]
) -> None:
    frame, strong, _ = models
    register("m", strong, frame.drop(columns=["y"]).head(20))  # m@3, as good as m@2
    registered.set_alias("proj", "m", "champion", 1, actor="t")

    def moving(ref: str) -> Path:  # the data is read after the champion was: move it now
        registered.set_alias("proj", "m", "champion", 3, actor="other", reason="meanwhile")
        return ws / "data" / "eval.parquet"

    decision = tm.promote_if_better(
        "m@2", "champion", "eval-data", POLICY, target="y", resolver=moving
    )
    assert isinstance(decision.champion, tm.TrackedEvaluation)
    assert decision.champion.model == "m@3"  # gated again, against the new holder
    assert not decision.passed  # m@2 does not beat its equal
    events = registered.list_alias_events("proj", "m", "champion")
    assert [(e.from_version, e.to_version) for e in events] == [(None, 1), (1, 3)]
