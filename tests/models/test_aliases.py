"""Aliases: moves recorded with who, why, from and to; rollback; concurrent moves lose nothing."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import tether.models as tm
from tether.errors import InvalidInput, NotFound
from tether.store import AliasMoved, open_store
from tether.tracking.lineage import resolve_node, trace
from tether.tracking.session import open_session

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def three(ws: Path, clf: Any) -> None:
    for _ in range(3):
        tm.log(clf, "churn")


def test_history_records_every_move(three: None) -> None:
    tm.set_alias("churn", "champion", 1, reason="first")
    tm.set_alias("churn", "champion", 3, reason="better on accuracy")
    tm.set_alias("churn", "staging", 2)
    events = tm.history("churn")
    assert [(e.alias, e.from_version, e.to_version, e.reason) for e in events] == [
        ("champion", None, 1, "first"),
        ("champion", 1, 3, "better on accuracy"),
        ("staging", None, 2, None),
    ]
    assert all(e.actor for e in events)
    assert [e.to_version for e in tm.history("churn", "staging")] == [2]
    assert tm.load("churn@champion").version.version == 3  # type: ignore[union-attr]


def test_rollback_returns_to_the_previous_version_and_is_recorded(three: None) -> None:
    tm.set_alias("churn", "champion", 1)
    tm.set_alias("churn", "champion", 2)
    event = tm.rollback("churn", "champion", reason="v2 broke checkout")
    assert (event.from_version, event.to_version, event.reason) == (2, 1, "v2 broke checkout")
    assert tm.model_version("churn@champion").version == 1
    assert len(tm.history("churn")) == 3
    assert tm.rollback("churn", "champion").reason == "rollback from version 1"


def test_a_rollback_from_a_version_the_alias_left_changes_nothing(three: None) -> None:
    tm.set_alias("churn", "champion", 1)
    tm.set_alias("churn", "champion", 2)
    with pytest.raises(AliasMoved, match="is at version 2, not at version 3"):
        tm.rollback("churn", "champion", expect=3)
    assert tm.rollback("churn", "champion", expect=2).to_version == 1
    with pytest.raises(AliasMoved):  # the same rollback again: done once only
        tm.rollback("churn", "champion", expect=2)
    assert [e.to_version for e in tm.history("churn")] == [1, 2, 1]


def test_nothing_to_roll_back_changes_nothing(three: None) -> None:
    tm.set_alias("churn", "champion", 1)
    with pytest.raises(tm.NothingToRollBack, match="no earlier version"):
        tm.rollback("churn", "champion")
    with pytest.raises(NotFound, match="alias 'staging'"):
        tm.rollback("churn", "staging")
    assert len(tm.history("churn")) == 1


@pytest.mark.parametrize(
    ("name", "alias", "version", "error"),
    [
        ("nope", "champion", 1, NotFound),
        ("churn", "champion", 9, NotFound),
        ("churn", "12", 1, InvalidInput),
        ("churn", "", 1, InvalidInput),
        ("churn", "latest", 1, InvalidInput),
    ],
)
def test_a_bad_move_changes_nothing(
    three: None, name: str, alias: str, version: int, error: type
) -> None:
    with pytest.raises(error):
        tm.set_alias(name, alias, version)
    assert tm.history("churn") == []


def test_concurrent_moves_never_lose_an_event(three: None, store_url: str) -> None:
    """Threads with their own store connections move one alias at once."""
    threads, moves = 4, 10
    errors: list[BaseException] = []

    def mover(i: int) -> None:
        try:
            with open_store(store_url) as store:
                for j in range(moves):
                    store.set_alias("proj", "churn", "champion", 1 + (i + j) % 3, actor=f"t{i}")
        except BaseException as e:  # reported below
            errors.append(e)

    workers = [threading.Thread(target=mover, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    events = tm.history("churn", "champion")
    assert len(events) == threads * moves
    assert events[0].from_version is None
    for before, after in itertools.pairwise(events):
        assert after.from_version == before.to_version  # each move saw the one before it
    assert tm.model_version("churn@champion").version == events[-1].to_version


def test_lineage_follows_an_alias_to_the_run_that_made_it(ws: Path, clf: Any) -> None:
    import tether

    with tether.run(name="train") as run:
        tm.log(clf, "churn")
    tm.set_alias("churn", "champion", 1)
    session = open_session(ws)
    node = resolve_node(session, "churn@champion")
    assert (node.kind, node.ref) == ("model_version", "churn@1")
    graph = trace(session, node)
    assert ("run", run.id) in {(a.kind, a.ref) for a, _, _ in graph.edges}


def test_a_compare_and_set_move_that_finds_the_alias_elsewhere_changes_nothing(
    three: None,
) -> None:
    tm.set_alias("churn", "champion", 1, expect=None)  # only if unset
    with pytest.raises(AliasMoved, match="is at version 1, not unset"):
        tm.set_alias("churn", "champion", 2, expect=None)
    with pytest.raises(AliasMoved, match="is at version 1, not at version 3"):
        tm.set_alias("churn", "champion", 2, expect=3)
    assert [e.to_version for e in tm.history("churn")] == [1]
    event = tm.set_alias("churn", "champion", 2, expect=1)
    assert (event.from_version, event.to_version) == (1, 2)


ROLLBACK = """
import sys, time
from pathlib import Path
import tether.models as tm
from tether.store import AliasMoved
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.005)
try:
    e = tm.rollback("churn", "champion", expect=3)
    print("moved", e.from_version, e.to_version)
except AliasMoved:
    print("lost")
"""


@pytest.mark.parametrize("how", ["threads", "processes"])
def test_concurrent_rollbacks_roll_back_once(
    three: None, ws: Path, tmp_path: Path, how: str
) -> None:
    """Several rollbacks "from 3" of one alias at once: one moves it, the others change
    nothing, whether they read the alias before the winner moved it or after."""
    for v in (1, 2, 3):
        tm.set_alias("churn", "champion", v)
    n = 4
    if how == "threads":
        start = threading.Barrier(n)
        outcomes: list[str] = []

        def roll() -> None:
            start.wait()
            try:
                e = tm.rollback("churn", "champion", expect=3)
                outcomes.append(f"moved {e.from_version} {e.to_version}")
            except AliasMoved:
                outcomes.append("lost")
            except BaseException as e:  # reported below
                outcomes.append(repr(e))

        workers = [threading.Thread(target=roll) for _ in range(n)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    else:
        go = tmp_path / "go"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", ROLLBACK, str(go)],
                cwd=ws,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(n)
        ]
        go.touch()
        outcomes = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
            outcomes.append(out.strip())
    assert sorted(outcomes) == ["lost"] * (n - 1) + ["moved 3 2"]
    events = tm.history("churn", "champion")
    assert [(e.from_version, e.to_version) for e in events] == [(None, 1), (1, 2), (2, 3), (3, 2)]
    assert tm.model_version("churn@champion").version == 2


def test_a_rollback_racing_a_promotion_never_loses_a_move(three: None, store_url: str) -> None:
    """A promotion from 3 (compare and set, as promote_if_better moves) and a rollback from 3
    race: one of them moves the alias, the history stays one chain."""
    tm.set_alias("churn", "champion", 2)
    tm.set_alias("churn", "champion", 3)
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def promote() -> None:
        with open_store(store_url) as store:
            start.wait()
            try:
                store.set_alias("proj", "churn", "champion", 1, actor="p", expect=3)
                outcomes["promote"] = "moved"
            except AliasMoved:
                outcomes["promote"] = "lost"

    def roll() -> None:
        start.wait()
        try:
            tm.rollback("churn", "champion", expect=3)
            outcomes["rollback"] = "moved"
        except AliasMoved:
            outcomes["rollback"] = "lost"

    workers = [threading.Thread(target=promote), threading.Thread(target=roll)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(outcomes.values()) == ["lost", "moved"]
    events = tm.history("churn", "champion")
    assert len(events) == 3
    for before, after in itertools.pairwise(events):
        assert after.from_version == before.to_version
    winner = 1 if outcomes["promote"] == "moved" else 2
    assert events[-1].to_version == tm.model_version("churn@champion").version == winner
