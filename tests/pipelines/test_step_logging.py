"""What a step logs (metrics, params, tags, artifacts, returned Metrics) lands on its own run."""

from __future__ import annotations

from pathlib import Path

import tether

from .conftest import WriteModule

LOGS = """
from pathlib import Path

import tether
from tether.pipelines import step, pipeline

@step
def train(n: int) -> dict:
    for epoch in range(3):
        tether.log_metrics({"loss": 1.0 / (epoch + 1)})
    tether.log_params({"alpha": 0.5})
    tether.set_tags({"stage": "train"})
    Path("model.txt").write_text(f"model {n}")
    tether.log_artifact("model.txt")
    return tether.Metrics(accuracy=0.5 + n / 100)

@step
def report(scores: dict) -> str:
    return f"acc={scores['accuracy']:.2f}"

@pipeline
def flow(n: int = 10):
    return report(train(n))
"""


def test_step_logs_go_to_the_step_run_and_survive_the_cache(
    write_module: WriteModule, workspace: Path, executor: str
) -> None:
    mod = write_module(LOGS)
    first = mod.flow(executor=executor)
    assert first.output() == "acc=0.60"
    for run in (first, mod.flow(executor=executor)):
        step = tether.get_run(run.steps["train"].run_id)
        assert step.metrics == {"loss": 1.0 / 3, "accuracy": 0.6}
        assert [p.value for p in step.metric_history("loss")] == [1.0, 0.5, 1.0 / 3]
        assert step.params["alpha"] == "0.5" and step.params["n"] == "10"
        assert step.tags["stage"] == "train"
        assert "model.txt" in {io.name for io in step.outputs}
        parent = tether.get_run(run.id)
        assert "accuracy" not in parent.metrics  # the step's, not the pipeline's
    assert mod.flow(executor=executor).steps["train"].cached
    mod.flow(n=30, executor=executor)
    found = tether.search_runs("metrics.accuracy > 0.55", order_by="metrics.accuracy desc")
    assert [r.metrics["accuracy"] for r in found][:2] == [0.8, 0.6]


def test_active_run_in_a_step_is_the_step_run(write_module: WriteModule, executor: str) -> None:
    mod = write_module(
        """
        import tether
        from tether.pipelines import step, pipeline

        @step
        def who() -> str:
            return tether.active_run().id

        @pipeline
        def flow():
            return who()
        """
    )
    run = mod.flow(executor=executor)
    assert run.output() == run.steps["who"].run_id


def test_resume_keeps_what_reused_steps_logged(
    write_module: WriteModule, workspace: Path, executor: str
) -> None:
    from tether.pipelines import resume

    mod = write_module(
        """
        from pathlib import Path
        import tether
        from tether.pipelines import step, pipeline

        @step
        def train(n: int) -> int:
            tether.log_metrics({"loss": 0.25})
            return n

        @step
        def publish(n: int) -> int:
            if Path("BROKEN").exists():
                raise RuntimeError("broken")
            return n

        @pipeline
        def flow(n: int = 1):
            return publish(train(n))
        """
    )
    (workspace / "BROKEN").write_text("")
    failed = mod.flow(executor=executor, raise_on_failure=False)
    assert failed.status == "failed"
    (workspace / "BROKEN").unlink()
    resumed = resume(failed.id, executor=executor)
    assert resumed.status == "finished"
    assert resumed.steps["train"].cached
    assert tether.get_run(resumed.steps["train"].run_id).metrics == {"loss": 0.25}


def test_returned_metrics_rank_pipeline_runs(write_module: WriteModule, executor: str) -> None:
    mod = write_module(
        """
        import tether
        from tether.pipelines import step, pipeline

        @step
        def evaluate(c: float) -> dict:
            return tether.Metrics(auc=c, loss=1 - c)

        @pipeline
        def tune(c: float = 0.5):
            return evaluate(c)
        """
    )
    runs = {c: mod.tune(c, executor=executor) for c in (0.7, 0.9, 0.8)}
    assert runs[0.9].output() == {"auc": 0.9, "loss": 1 - 0.9}  # downstream: a plain dict
    best = tether.search_runs(
        "tags.`tether.pipeline` = 'tune'", order_by="metrics.auc desc", limit=1
    )
    assert [r.id for r in best] == [runs[0.9].id]
    cached = mod.tune(0.9, executor=executor)
    assert cached.steps["evaluate"].cached
    assert tether.get_run(cached.id).metrics == {"auc": 0.9, "loss": 1 - 0.9}
