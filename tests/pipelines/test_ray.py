"""The Ray executor on a real local Ray cluster that these tests start and stop.

Ray is the ``[ray]`` extra; CI installs it, so a missing ray fails these tests (it does not skip).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tether.errors import MissingDependency
from tether.pipelines import make_executor
from tether.pipelines.executors.ray import parse_memory, ray_options

from .conftest import WriteModule

pytestmark = pytest.mark.slow


def _ray() -> Any:
    ray: Any = None
    with contextlib.suppress(ImportError):
        import ray
    if ray is None:
        pytest.fail("the Ray executor tests need ray: pip install 'tether[ray]'", pytrace=False)
    return ray


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """A real local Ray cluster: 2 CPUs, a small object store, no dashboard."""
    ray = _ray()
    assert not ray.is_initialized()
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=200 * 1000**2,
        logging_level=logging.WARNING,
        log_to_driver=False,
    )
    try:
        yield ray
    finally:
        ray.shutdown()


def test_resources_become_ray_options() -> None:
    assert ray_options({"cpus": 2, "gpus": 0.5, "memory": "512MB"}) == {
        "num_cpus": 2,
        "num_gpus": 0.5,
        "memory": 512 * 1000**2,
    }
    assert parse_memory("2GiB") == 2 * 1024**3
    assert parse_memory("1.5 gb") == 1_500_000_000
    assert parse_memory(1024) == 1024
    for bad in ("lots", "5XB", -1, 0, True):
        with pytest.raises(Exception, match="memory"):
            parse_memory(bad)


def test_steps_run_on_nodes_without_the_callers_files(tmp_path: Path) -> None:
    from tether.pipelines.executors.ray import _localise
    from tether.pipelines.task import FunctionRef, ObjectsSpec, StepTask

    gone = str(tmp_path / "elsewhere")
    task = StepTask(
        step="s",
        kind="python",
        target=FunctionRef("flows", "train", f"{gone}/flows.py"),
        shell=None,
        params={},
        inputs={},
        packs={},
        outputs=("output",),
        multi_output=False,
        objects=ObjectsSpec("s3://bucket/objects"),
        cache_dir=f"{gone}/.tether/cache",
        scratch_dir=f"{gone}/.tether/tmp",
        cwd=gone,
    )
    local = _localise(task)
    assert local.target == FunctionRef("flows", "train", None)  # imported by name
    assert local.cwd == os.getcwd() and not local.cache_dir.startswith(gone)
    here = dataclasses.replace(task, cwd=str(tmp_path), target=FunctionRef("m", "f", __file__))
    assert _localise(here) is here


def test_ray_is_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    code = "import sys, tether, tether.pipelines; assert 'ray' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails
    with pytest.raises(MissingDependency, match=r"pip install 'tether\[ray\]'"):
        make_executor("ray")


def test_the_executor_starts_and_stops_its_own_cluster(tmp_path: Path) -> None:
    """Without a cluster (and without RAY_ADDRESS) the executor starts one and stops it."""
    _ray()
    code = """
import ray
from tether.pipelines.executors.ray import RayExecutor
assert not ray.is_initialized()
with RayExecutor(max_workers=1) as ex:
    assert not ray.is_initialized()  # Ray starts on the first step, not before
    ex.connect()
    assert ex.started_cluster and ex.max_workers == 1
    assert ray.cluster_resources()["CPU"] == 1
assert not ray.is_initialized()
print("ok")
"""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-3000:]


DEMO = """
import os

import numpy as np
import pandas as pd
import ray
from tether.pipelines import pipeline, step


@step
def generate(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y})


@step
def validate(frame: pd.DataFrame) -> pd.DataFrame:
    assert not frame.isna().any().any(), "missing values"
    print(f"validated {len(frame)} rows")
    return frame


@step(resources={"cpus": 1, "memory": "64MB"})
def features(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["ab"] = out["a"] * out["b"]
    return out


@step
def profile(frame: pd.DataFrame) -> dict:
    # an independent branch from validate
    return {"rows": len(frame), "positive": int(frame["y"].sum())}


@step(outputs=("train_set", "test_set"))
def split(frame: pd.DataFrame, test_size: float = 0.25):
    cut = int(len(frame) * (1 - test_size))
    return frame[:cut], frame[cut:]


@step(resources={"cpus": 1})
def train(frame: pd.DataFrame, c: float = 1.0):
    from sklearn.linear_model import LogisticRegression

    cols = ["a", "b", "c", "ab"]
    return LogisticRegression(C=c).fit(frame[cols], frame["y"])


@step
def evaluate(model, frame: pd.DataFrame) -> dict:
    return {"accuracy": float(model.score(frame[["a", "b", "c", "ab"]], frame["y"]))}


@step(resources={"cpus": 1, "memory": "64MB"})
def where() -> dict:
    ctx = ray.get_runtime_context()
    return {"pid": os.getpid(), "resources": ctx.get_assigned_resources()}


@pipeline
def demo(c: float = 1.0):
    valid = validate(generate())
    train_set, test_set = split(features(valid))
    report = evaluate(train(train_set, c=c), test_set)
    return {"report": report, "profile": profile(valid), "where": where()}
"""


def test_the_demo_pipeline_runs_on_ray_and_is_cached(
    ray_cluster: Any, write_module: WriteModule
) -> None:
    mod = write_module(DEMO)
    run = mod.demo(executor="ray")
    steps = ["generate", "validate", "features", "profile", "split", "train", "evaluate", "where"]
    assert set(run.steps) == set(steps)
    errors = {n: s.error for n, s in run.steps.items() if s.status != "finished"}
    assert run.status == "finished", errors
    assert all(s.status == "finished" and not s.cached for s in run.steps.values())

    out = run.output()
    assert out["report"]["accuracy"] > 0.8
    assert out["profile"]["rows"] == 300
    frame = run.steps["features"].load()
    assert list(frame.columns) == ["a", "b", "c", "y", "ab"] and len(frame) == 300
    model = run.steps["train"].load()
    assert model.predict(frame[["a", "b", "c", "ab"]][:5]).shape == (5,)
    assert len(run.steps["split"].load("test_set")) == 75

    # ran on Ray workers, with the step's resources
    where = out["where"]
    assert where["pid"] != os.getpid()
    assert where["resources"]["CPU"] == 1
    assert where["resources"]["memory"] == 64 * 1000**2
    assert "validated 300 rows" in run.steps["validate"].logs()
    assert ray_cluster.is_initialized()  # the executor leaves a cluster it did not start

    again = mod.demo(executor="ray")
    assert again.status == "finished"
    assert all(s.cached for s in again.steps.values())
    assert again.output()["report"] == out["report"]
    assert again.steps["validate"].logs() == run.steps["validate"].logs()


FAILING = """
import os
import sys
import time
from pathlib import Path

from tether.pipelines import pipeline, shell_step, step


@step
def source() -> int:
    return 1


@step
def fragile(v: int) -> int:
    print("fragile starts with", v)
    print("a warning on stderr", file=sys.stderr)
    os.system("echo from a subprocess")
    raise ValueError("fragile is broken")


@step
def after(v: int) -> int:
    return v * 10


@step
def other(v: int) -> int:
    return v - 1


@step(retries=1)
def flaky() -> int:
    p = Path("tries")
    n = int(p.read_text()) + 1 if p.exists() else 1
    p.write_text(str(n))
    if n < 2:
        raise RuntimeError(f"attempt {n} fails")
    return n


@step(timeout=1)
def slow() -> int:
    print("slow starts", flush=True)
    try:
        time.sleep(30)
    except Exception:
        pass  # a step can't swallow its timeout
    time.sleep(30)
    return 1


@pipeline
def flow():
    s = source()
    words = shell_step(
        "printf 'a b\\nc d e\\n' | awk '{ n += NF } END { print n }' > {out}",
        outputs={"out": "words.txt"},
        name="words",
    )
    return after(fragile(s)), other(s), flaky(), slow(), words
"""


def test_failures_logs_retries_and_timeouts_on_ray(
    ray_cluster: Any, write_module: WriteModule
) -> None:
    mod = write_module(FAILING)
    run = mod.flow(executor="ray", raise_on_failure=False)
    statuses = {n: s.status for n, s in run.steps.items()}
    assert statuses == {
        "source": "finished",
        "fragile": "failed",
        "after": "skipped",
        "other": "finished",
        "flaky": "finished",
        "slow": "failed",
        "words": "finished",
    }
    assert sorted(run.failed) == ["fragile", "slow"]

    fragile = run.steps["fragile"]
    assert "fragile is broken" in (fragile.error or "")
    logs = fragile.logs()
    assert "fragile starts with 1" in logs
    assert "a warning on stderr" in logs
    assert "from a subprocess" in logs

    assert run.steps["flaky"].attempts == 2 and run.steps["flaky"].load() == 2
    slow = run.steps["slow"]
    assert "timed out after 1" in (slow.error or "")
    assert "slow starts" in slow.logs()  # the interrupted step keeps its logs
    assert run.steps["other"].load() == 0
    assert run.steps["words"].load().read_text().strip() == "5"  # a shell step on Ray


def test_an_interrupted_run_cancels_its_ray_tasks(ray_cluster: Any, tmp_path: Path) -> None:
    from tether.pipelines.executors.ray import RayExecutor
    from tether.pipelines.task import ObjectsSpec, ShellSpec, StepTask

    marker = tmp_path / "finished"
    task = StepTask(
        step="sleeper",
        kind="shell",
        target=None,
        shell=ShellSpec(f"sleep 20 && touch {marker}", {}),
        params={},
        inputs={},
        packs={},
        outputs=(),
        multi_output=False,
        objects=ObjectsSpec(str(tmp_path / "objects")),
        cache_dir=str(tmp_path / "cache"),
        scratch_dir=str(tmp_path / "tmp"),
        cwd=str(tmp_path),
    )
    ex = RayExecutor()
    future = ex.submit(task)
    assert not ex.started_cluster  # it uses the cluster this process is connected to
    time.sleep(1)
    ex.shutdown(cancel=True)
    result = future.result(timeout=5)
    assert not result.ok and "cancelled" in (result.error or "")
    assert ray_cluster.is_initialized()  # not stopped: this executor did not start it


def test_tether_demo_runs_on_ray(
    ray_cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tether demo --executor ray`: the README's main job, its steps on the Ray cluster."""
    from tether.demo import run_demo
    from tether.tracking.session import close_sessions

    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    lines: list[str] = []
    try:
        result = run_demo(tmp_path / "demo", echo=lines.append, executor="ray")
    finally:
        close_sessions()
    out = "\n".join(lines)
    assert "4 of 4 steps cached" in out and result.accuracy > 0.9
    assert "dataset demo-points@1" in out  # lineage reaches the data version


LOGGED = """
import tether
from tether.pipelines import step, pipeline

@step
def count(ref: str) -> dict:
    rows = tether.dataset(ref).path().joinpath("rows.txt").read_text().splitlines()
    tether.log_metrics({"rows": len(rows)})
    tether.log_params({"source": ref})
    return tether.Metrics(rows_seen=len(rows))

@pipeline
def flow(ref: str = "events"):
    return count(ref)
"""


def test_dataset_reads_and_metrics_of_steps_on_ray(
    ray_cluster: Any, write_module: WriteModule, workspace: Path
) -> None:
    import tether
    from tether.tracking.datasets import add

    def version(lines: int) -> None:
        folder = workspace / "events"
        folder.mkdir(exist_ok=True)
        (folder / "rows.txt").write_text("x\n" * lines)
        add(folder, "events")

    version(3)
    mod = write_module(LOGGED)
    run = mod.flow(executor="ray")
    assert run.status == "finished", {n: s.error for n, s in run.steps.items()}
    step = tether.get_run(run.steps["count"].run_id)
    assert step.metrics == {"rows": 3.0, "rows_seen": 3.0}
    assert step.params["source"] == "events"
    assert {io.ref for io in step.inputs if io.kind == "dataset_version"} == {"events@1"}
    assert tether.get_run(run.id).metrics == {"rows_seen": 3.0}
    assert mod.flow(executor="ray").steps["count"].cached
    version(5)
    again = mod.flow(executor="ray")
    assert not again.steps["count"].cached
    assert tether.get_run(again.steps["count"].run_id).metrics["rows"] == 5.0
