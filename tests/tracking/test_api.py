"""The tracking API as a training script uses it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import tether
from tether.errors import Conflict, InvalidInput, NotFound
from tether.tracking.session import Session


def test_a_run_records_params_metrics_tags_and_artifacts(workspace: Path) -> None:
    (workspace / "model").mkdir()
    (workspace / "model" / "weights.bin").write_bytes(b"\x00\x01" * 100)
    with tether.run(
        experiment="exp", name="first", params={"lr": 0.1, "layers": [2, 3]}, tags={"team": "a"}
    ) as run:
        for step in range(5):
            run.log_metrics({"loss": 1.0 / (step + 1), "acc": step / 10}, step=step)
        run.log_metric("lr_now", 0.05)
        run.set_tags({"stage": "dev"})
        digest = run.log_artifact(workspace / "model")

    got = tether.get_run(run.id)
    assert (got.name, got.experiment, got.status, got.project) == (
        "first",
        "exp",
        "finished",
        "proj",
    )
    assert got.params == {"lr": "0.1", "layers": "[2, 3]"}
    assert got.tags == {"team": "a", "stage": "dev"}
    assert got.metrics == {"loss": 0.2, "acc": 0.4, "lr_now": 0.05}
    assert [(p.step, p.value) for p in got.metric_history("loss")][:2] == [(0, 1.0), (1, 0.5)]
    assert [(o.kind, o.ref, o.name) for o in got.outputs] == [("object", digest, "model")]
    assert got.end_time is not None and got.duration_s is not None and got.duration_s >= 0
    assert got.env is not None and got.env.python and len(got.env.packages or "") == 64
    assert got.command["argv"]


def test_steps_default_to_one_more_than_the_last(workspace: Path) -> None:
    with tether.run() as run:
        run.log_metric("loss", 3.0)
        run.log_metric("loss", 2.0)
        run.log_metrics({"loss": 1.0, "acc": 0.5})
        run.log_metric("acc", 0.6, step=10)
        run.log_metric("acc", 0.7)
    got = tether.get_run(run.id)
    assert [p.step for p in got.metric_history("loss")] == [0, 1, 2]
    assert [p.step for p in got.metric_history("acc")] == [2, 10, 11]


def test_module_level_functions_act_on_the_active_run(workspace: Path) -> None:
    with pytest.raises(InvalidInput, match="no active run"):
        tether.log_metrics({"x": 1})
    with tether.run(name="outer") as outer:
        tether.log_metrics({"x": 1.0})
        tether.log_params({"p": 1})
        tether.set_tags({"t": "v"})
        assert tether.active_run() is outer
        with tether.run(name="inner") as inner:
            tether.log_metric("y", 2.0)
            assert tether.active_run() is inner
        with tether.run(name="detached", parent=None) as detached:
            pass
        assert tether.active_run() is outer
    assert tether.active_run() is None
    assert tether.get_run(inner.id).parent_id == outer.id
    assert tether.get_run(detached.id).parent_id is None
    assert tether.get_run(inner.id).metrics == {"y": 2.0}
    got = tether.get_run(outer.id)
    assert (got.metrics, got.params, got.tags) == ({"x": 1.0}, {"p": "1"}, {"t": "v"})


def test_an_exception_fails_the_run_and_propagates(workspace: Path) -> None:
    with pytest.raises(ZeroDivisionError), tether.run() as run:
        run.log_metric("before", 1.0)
        _ = 1 / 0
    got = tether.get_run(run.id)
    assert got.status == "failed"
    assert got.error is not None and "ZeroDivisionError: division by zero" in got.error
    assert "Traceback" in got.error
    assert got.metrics == {"before": 1.0}  # what was logged before the failure is kept


def test_ctrl_c_kills_the_run(workspace: Path) -> None:
    with pytest.raises(KeyboardInterrupt), tether.run() as run:
        raise KeyboardInterrupt
    assert tether.get_run(run.id).status == "killed"


def test_secret_looking_params_and_tags_are_redacted(workspace: Path) -> None:
    with tether.run(
        params={"api_key": "sk-123", "tokenizer": "bpe"}, tags={"db_password": "hunter2"}
    ) as run:
        run.log_params({"aws_secret_access_key": "abc"})
    got = tether.get_run(run.id)
    assert got.params == {
        "api_key": "***redacted***",
        "tokenizer": "bpe",
        "aws_secret_access_key": "***redacted***",
    }
    assert got.tags == {"db_password": "***redacted***"}


def test_nested_params_and_error_messages_are_redacted(workspace: Path) -> None:
    with (
        pytest.raises(RuntimeError),
        tether.run(
            params={"db": {"host": "h", "password": "hunter2"}, "urls": ["https://u:tok@h/x"]}
        ) as run,
    ):
        raise RuntimeError("cannot connect to postgresql://me:hunter2@db/app")
    got = tether.get_run(run.id)
    assert "hunter2" not in got.params["db"] and "***redacted***" in got.params["db"]
    assert got.params["urls"] == '["https://h/x"]'
    assert got.error is not None and "postgresql://me@db/app" in got.error
    assert "hunter2" not in got.error


def test_bad_input_is_refused_at_the_call(workspace: Path) -> None:
    with tether.run(params={"lr": 0.1}) as run:
        with pytest.raises(InvalidInput, match="'loss' must be a number"):
            run.log_metrics({"loss": "high"})
        with pytest.raises(InvalidInput, match="step must be a whole number"):
            run.log_metric("loss", 1.0, step=1.5)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="non-empty string"):
            run.log_metrics({"": 1.0})
        with pytest.raises(Conflict, match="'lr'"):
            run.log_params({"lr": 0.2})
        with pytest.raises(InvalidInput, match="not a file or folder"):
            run.log_artifact("missing.bin")
        run.log_metric("nan_is_fine", math.nan)
    with pytest.raises(InvalidInput, match="has ended"):
        run.log_metric("late", 1.0)
    assert math.isnan(tether.get_run(run.id).metrics["nan_is_fine"])


def test_inputs_record_lineage(workspace: Path, session: Session) -> None:
    data = workspace / "data" / "train.csv"
    data.parent.mkdir()
    data.write_text("x,y\n1,2\n")
    tree = session.objects.put_tree(data.parent)
    session.store.create_dataset_version(
        "proj", "train", tree_digest=tree.digest, file_count=1, total_size=8
    )
    with tether.run() as producer:
        pass
    with tether.run() as run:
        digest = run.log_input("data/train.csv")
        run.log_input("train@1")
        run.log_input(producer.id)
        with pytest.raises(InvalidInput, match="needs a version number"):
            run.log_input("train@latest")
        with pytest.raises(NotFound):
            run.log_input("train@7")
    inputs = {(io.kind, io.ref, io.name) for io in tether.get_run(run.id).inputs}
    assert inputs == {
        ("object", digest, "data/train.csv"),
        ("dataset_version", "train@1", None),
        ("run", producer.id, None),
    }


def test_code_is_captured_inside_git(workspace: Path) -> None:
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=workspace, check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x")
    (workspace / "new.py").write_text("print()\n")
    with tether.run() as run:
        pass
    code = tether.get_run(run.id).code
    assert code is not None and code.commit and len(code.commit) == 40
    assert code.dirty is False and code.diff is None and "new.py" in code.untracked


def test_search_runs(workspace: Path) -> None:
    for i, model in enumerate(["a", "b", "a"]):
        with tether.run(name=f"r{i}", params={"model": model}) as run:
            run.log_metric("acc", 0.5 + i / 10)
    found = tether.search_runs("params.model = 'a'", order_by="metrics.acc desc")
    assert isinstance(found, list) and [r.name for r in found] == ["r2", "r0"]
    frame = tether.search_runs("metrics.acc >= 0.6").to_pandas()
    assert sorted(frame["name"]) == ["r1", "r2"]
    assert set(frame.columns) >= {"run_id", "status", "params.model", "metrics.acc"}
    with pytest.raises(InvalidInput, match="position 13"):
        tether.search_runs("metrics.acc >")


def test_search_runs_loads_metrics_without_a_query_per_run(
    workspace: Path, session: Session
) -> None:
    import sqlalchemy as sa

    for i in range(12):
        with tether.run(name=f"r{i}", params={"model": "a"}) as run:
            run.log_metrics({"acc": i / 100, "loss": 1 - i / 100})
    tether.flush()
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    def search(limit: int) -> tuple[int, list[dict[str, float]]]:
        statements.clear()
        found = tether.search_runs("params.model = 'a'", order_by="metrics.acc desc", limit=limit)
        metrics = [r.metrics for r in found]  # loaded with the runs: no query here
        return len(statements), metrics

    engine = session.store._engine  # type: ignore[attr-defined]
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        few, few_metrics = search(2)
        many, many_metrics = search(12)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert few_metrics == [{"acc": 0.11, "loss": 0.89}, {"acc": 0.1, "loss": 0.9}]
    assert len(many_metrics) == 12 and many_metrics[-1] == {"acc": 0.0, "loss": 1.0}
    assert many == few  # the same queries for 12 runs as for 2: none per run


def test_flush_makes_runs_durable_for_other_processes(workspace: Path, session: Session) -> None:
    from tether.store import open_store

    other = open_store(session.settings.store_url)
    try:
        with tether.run(params={"lr": 0.1}) as run:
            run.log_metrics({"acc": 0.5})
            child = tether.run(name="child")
            child.log_metric("loss", 1.0)
            tether.flush()  # the active runs' metrics and both records, now
            assert other.get_run(child.id).parent_id == run.id
            assert other.get_metric_summaries(child.id)["loss"].last_value == 1.0
            child.end()
        tether.flush()
        assert other.get_run(run.id).status == "finished"
        assert other.get_metric_summaries(run.id)["acc"].last_value == 0.5
        assert other.get_run(child.id).status == "finished"
    finally:
        other.close()


def test_a_bad_experiment_name_is_refused_before_anything_is_stored(workspace: Path) -> None:
    with pytest.raises(InvalidInput, match=r"invalid experiment name: 'team/exp' is not a valid"):
        tether.run("team/exp")
    assert tether.active_run() is None


def test_each_workspace_gets_the_environment_object_its_runs_name(
    tmp_path: Path, workspace: Path
) -> None:
    """The package list is stored once per object store, not once per process: a second
    workspace in the same process holds the object its runs point at."""
    from tether.config import init_workspace

    other = tmp_path / "other"
    init_workspace(other, project="proj")
    digests = []
    for root in (workspace, other):
        with tether.run(name="r", workspace=root) as run:
            pass
        digest = run.session.store.get_run(run.id).info["env"]["packages_digest"]
        digests.append(digest)
        assert run.session.objects.exists(digest), root
    assert digests[0] == digests[1]
