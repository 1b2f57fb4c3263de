"""Authoring and running: graphs from calls, outputs, parallel branches, tracking, lineage."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tether.pipelines import InvalidPipeline, PipelineRun
from tether.pipelines.errors import NotImportable
from tether.tracking.lineage import Node, trace
from tether.tracking.session import open_session

from .conftest import WriteModule

FLOW = """
from tether.pipelines import step, pipeline

def helper(v):
    return v * 10

@step
def load(n: int = 3) -> list:
    print("loading", n)
    return list(range(n))

@step(outputs=("total", "count"))
def stats(xs: list):
    return sum(xs), len(xs)

@step(outputs=("lo", "hi"))
def split(xs: list):
    return {"lo": xs[:1], "hi": xs[1:]}

@step
def scale(v: int, factor: int = 2) -> int:
    return helper(v) * factor

@step
def pair(a: int, b: int) -> tuple[int, int]:
    return a, b

@pipeline
def flow(n: int = 3):
    xs = load(n=n)
    total, count = stats(xs)
    parts = split(xs)
    big = scale(total)
    small = scale(count, factor=1)
    first, second = pair(big, small)
    return {"big": big, "lo": parts["lo"], "first": first}
"""


def test_a_pipeline_runs_and_returns_its_steps(write_module: WriteModule, executor: str) -> None:
    mod = write_module(FLOW)
    run = mod.flow(n=4, executor=executor)
    assert isinstance(run, PipelineRun)
    assert run.status == "finished"
    assert list(run.steps) == ["load", "stats", "split", "scale", "scale_2", "pair"]
    assert all(s.status == "finished" and not s.cached for s in run.steps.values())
    assert run.steps["stats"].load() == {"total": 6, "count": 4}
    assert run.steps["stats"].load("total") == 6
    assert run.steps["scale"].load() == 120
    assert run.steps["scale_2"].load() == 40
    assert run.steps["pair"].load("output_1") == 40
    assert run.output() == {"big": 120, "lo": [0], "first": 120}
    assert run.output("split.hi") == [1, 2, 3]
    assert set(run.steps["stats"].outputs) == {"total", "count"}
    assert run.steps["load"].duration_s is not None
    assert "loading 4" in run.steps["load"].logs()


def test_steps_and_pipeline_are_tracked_runs(write_module: WriteModule, executor: str) -> None:
    mod = write_module(FLOW)
    run = mod.flow(executor=executor)
    session = open_session()
    parent = session.store.get_run(run.id)
    assert parent.status == "finished"
    assert parent.tags["tether.pipeline"] == "flow"
    assert parent.params == {"n": "3"}
    child = session.store.get_run(run.steps["scale_2"].run_id or "")
    assert child.parent_id == run.id
    assert child.params == {"factor": "1"}
    assert child.tags["tether.step.cached"] == "false"
    ios = session.store.list_run_io(child.id)
    names = {(io.direction, io.name) for io in ios}
    assert ("input", "v") in names
    assert ("output", "output") in names
    assert ("output", "logs") in names
    # lineage walks from the last step back to the first
    graph = trace(session, Node("run", run.steps["pair"].run_id or ""))
    upstream_runs = {a.ref for a, _, _ in graph.edges if a.kind == "run"}
    assert run.steps["load"].run_id in upstream_runs


def test_a_step_outside_a_pipeline_is_the_plain_function(write_module: WriteModule) -> None:
    mod = write_module(FLOW)
    assert mod.scale(3) == 60
    assert mod.stats([1, 2]) == (3, 2)


def test_independent_steps_run_at_the_same_time(write_module: WriteModule, tmp_path: Path) -> None:
    """Each of three independent steps waits until all three have started: they can only
    finish if the executor runs them at once (one after the other, the first would wait for
    ever; the 60 s bound only keeps a broken executor from hanging the suite)."""
    mod = write_module(
        f"""
        import time
        from pathlib import Path
        from tether.pipelines import step, pipeline

        MEETING = Path({str(tmp_path / "meeting")!r})

        @step
        def meet(i: int) -> int:
            (MEETING / str(i)).touch()
            give_up = time.monotonic() + 60
            while len(list(MEETING.iterdir())) < 3:
                if time.monotonic() > give_up:
                    raise RuntimeError(f"step {{i}} waited alone: the steps ran one by one")
                time.sleep(0.01)
            return i

        @step
        def join(met: list) -> list:
            return met

        @pipeline
        def fan():
            return join([meet(i) for i in range(3)])
        """
    )
    (tmp_path / "meeting").mkdir()
    run = mod.fan(executor="processes", max_workers=3)
    assert run.status == "finished", {n: s.error for n, s in run.steps.items()}
    assert run.output() == [0, 1, 2]
    assert sorted(p.name for p in (tmp_path / "meeting").iterdir()) == ["0", "1", "2"]


def test_an_interrupted_pipeline_ends_its_running_steps_killed(
    write_module: WriteModule, tmp_path: Path
) -> None:
    """Ctrl-C while a step runs (here raised by the on_step callback when another step ends)
    stops the workers and records the running step's run as killed, not left running."""
    mod = write_module(
        f"""
        import time
        from pathlib import Path
        from tether.pipelines import step, pipeline

        @step
        def quick() -> int:
            return 1

        @step
        def stuck() -> int:
            Path({str(tmp_path / "stuck-started")!r}).touch()
            time.sleep(600)
            return 2

        @pipeline
        def both():
            return quick(), stuck()
        """
    )

    def interrupt(state: Any) -> None:
        if state.name == "quick":
            give_up = time.monotonic() + 60  # a guard: the other step must be running
            while not (tmp_path / "stuck-started").exists() and time.monotonic() < give_up:
                time.sleep(0.01)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mod.both.run(executor="processes", max_workers=2, on_step=interrupt)
    session = open_session()
    runs = {r.tags.get("tether.step"): r for r in session.store.list_runs(session.project)}
    assert runs["stuck"].status == "killed" and runs["stuck"].error == "interrupted"
    assert runs["quick"].status == "finished"


def test_bad_calls_are_refused_while_building(write_module: WriteModule) -> None:
    mod = write_module(
        """
        from tether.pipelines import step, pipeline

        @step(outputs=("a", "b"))
        def two() -> tuple:
            return 1, 2

        @step
        def one(x: int) -> int:
            return x

        @pipeline
        def whole():
            return one(two())

        @pipeline
        def unknown_arg():
            return one(y=1)
        """
    )
    with pytest.raises(InvalidPipeline, match="pass one of them"):
        mod.whole(executor="inline")
    with pytest.raises(InvalidPipeline, match=r"required argument|unexpected keyword"):
        mod.unknown_arg(executor="inline")


def test_local_steps_need_the_inline_executor(write_module: WriteModule) -> None:
    from tether.pipelines import pipeline, step

    @step
    def local(x: int) -> int:
        return x + 1

    @pipeline
    def p():
        return local(1)

    with pytest.raises(NotImportable, match="module level"):
        p(executor="processes")
    assert p(executor="inline").output() == 2


def test_secret_step_params_are_redacted_inside_nested_values(write_module: WriteModule) -> None:
    mod = write_module(
        """
from tether.pipelines import step, pipeline

@step
def connect(db: dict) -> str:
    return db["host"]

@pipeline
def flow(db: dict):
    return connect(db=db)
"""
    )
    run = mod.flow(db={"host": "h", "password": "hunter2"}, executor="inline")
    assert run.output() == "h"  # the step itself got the real value
    store = open_session().store
    for run_id in (run.id, run.steps["connect"].run_id or ""):
        stored = store.get_run(run_id).params["db"]
        assert "hunter2" not in stored and "***redacted***" in stored


def test_a_bad_experiment_name_is_refused_at_definition() -> None:
    from tether.errors import InvalidInput
    from tether.pipelines import pipeline

    with pytest.raises(InvalidInput, match=r"invalid experiment name: 'a/b' is not a valid"):
        pipeline(experiment="a/b")(lambda: None)
