"""``tether.models.log`` and ``tether.models.load``: versions bound to runs, loaded by reference."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tether
import tether.models as tm
from tether.errors import IntegrityError, InvalidInput, NotFound
from tether.tracking.session import open_session

ROOT = Path(__file__).resolve().parents[2]


def test_log_outside_a_run_makes_a_run_for_the_version(ws: Path, clf: Any, xy: Any) -> None:
    x, _ = xy
    mv = tm.log(clf, "churn", sample=x[:5], metrics={"acc": 0.9}, tags={"team": "a"})
    assert (mv.model, mv.version, mv.flavor) == ("churn", 1, "sklearn")
    assert mv.signature is not None and mv.signature["inputs"]["specs"][0]["shape"] == [-1, 20]
    session = open_session(ws)
    run = session.store.get_run(mv.run_id)
    assert (run.experiment, run.status) == ("models", "finished")
    assert run.tags["team"] == "a"
    assert session.store.get_metric_summaries(run.id)["acc"].last_value == 0.9
    outputs = session.store.list_run_io(run.id, "output")
    assert [(o.kind, o.ref) for o in outputs] == [("model_version", "churn@1")]
    assert session.store.get_object_record(mv.artifact_digest).kind == "tree"
    assert tm.log(clf, "churn").version == 2


def test_log_inside_a_run_is_an_output_of_that_run(ws: Path, clf: Any) -> None:
    with tether.run(name="train") as run:
        mv = tm.log(clf, "churn")
    assert mv.run_id == run.id
    store = open_session(ws).store
    assert [o.ref for o in store.list_run_io(run.id, "output")] == ["churn@1"]
    assert len(store.search_runs("proj", None)) == 1  # no extra run was made


@pytest.mark.parametrize("name", ["a@b", "a/b", "", " x"])
def test_a_bad_name_is_refused_and_nothing_is_stored(ws: Path, clf: Any, name: str) -> None:
    with pytest.raises(InvalidInput, match="model name"):
        tm.log(clf, name)
    store = open_session(ws).store
    assert store.list_models("proj") == []
    assert store.search_runs("proj", None) == []


def test_a_pickle_model_needs_trust_to_be_registered(ws: Path, clf: Any) -> None:
    with pytest.raises(tm.UntrustedModel, match="trust=True"):
        tm.log(clf, "p", flavor="pickle")
    assert open_session(ws).store.list_models("proj") == []


def test_a_pickle_version_loads_only_with_trust(ws: Path, clf: Any, xy: Any) -> None:
    x, _ = xy
    tm.log(clf, "p", flavor="pickle", trust=True)
    with pytest.raises(tm.UntrustedModel):
        tm.load("p")
    with pytest.warns(tm.TrustedLoadWarning):
        model = tm.load("p", trust=True)
    np.testing.assert_array_equal(model.predict(x), clf.predict(x))


def test_load_by_name_version_alias_and_latest(ws: Path, clf: Any, clf2: Any, xy: Any) -> None:
    x, _ = xy
    tm.log(clf, "churn", sample=x[:5])
    tm.log(clf2, "churn", sample=x[:5])
    tm.set_alias("churn", "champion", 1)
    expected1, expected2 = clf.predict(x), clf2.predict(x)
    assert not np.array_equal(expected1, expected2)
    for ref, expected, version in [
        ("churn", expected2, 2),
        ("churn@latest", expected2, 2),
        ("churn@1", expected1, 1),
        ("churn@champion", expected1, 1),
    ]:
        model = tm.load(ref)
        assert model.version is not None and model.version.version == version
        np.testing.assert_array_equal(model.predict(x), expected)


@pytest.mark.parametrize(
    ("ref", "error", "message"),
    [
        ("nope", NotFound, "model 'nope' does not exist"),
        ("churn@9", NotFound, "has no version 9"),
        ("churn@staging", NotFound, "has no alias 'staging'"),
        ("churn@", tm.BadModelRef, "ends with '@'"),
        ("churn@0", tm.BadModelRef, "versions start at 1"),
        ("@1", tm.BadModelRef, "valid model name"),
    ],
)
def test_a_bad_reference_names_what_is_missing(
    ws: Path, clf: Any, ref: str, error: type, message: str
) -> None:
    tm.log(clf, "churn")
    with pytest.raises(error, match=message):
        tm.load(ref)


def test_the_registry_is_not_imported_by_import_tether() -> None:
    code = (
        "import sys, tether; tether.TetherError\n"
        "print(sorted(m for m in sys.modules if m.startswith('tether.models')))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_second_load_reads_the_cached_tree(ws: Path, clf: Any, xy: Any) -> None:
    x, _ = xy
    mv = tm.log(clf, "churn", sample=x[:5])
    tm.load("churn")
    cached = ws / ".tether" / "cache" / "models" / mv.artifact_digest
    assert (cached / "tether-model.json").is_file()
    objects = ws / ".tether" / "objects"
    for path in [p for p in objects.rglob("*") if p.is_file()]:
        path.chmod(0o644)
        path.unlink()  # the object store is gone: only the cache can answer
    np.testing.assert_array_equal(tm.load("churn@1").predict(x), clf.predict(x))


def test_a_corrupted_artifact_is_refused(ws: Path, clf: Any) -> None:
    tm.log(clf, "churn")
    objects = ws / ".tether" / "objects"
    for path in sorted(p for p in objects.rglob("*") if p.is_file()):
        if path.stat().st_size > 1000:  # the model file (the manifest and tree are smaller)
            path.chmod(0o644)
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0xFF
            path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        tm.load("churn")
    assert not any((ws / ".tether" / "cache" / "models").glob("*"))


def test_a_changed_cached_file_is_never_loaded_but_fetched_again(ws: Path, clf: Any) -> None:
    mv = tm.log(clf, "churn")
    tm.load("churn")
    model_file = ws / ".tether" / "cache" / "models" / mv.artifact_digest / "model.skops"
    good = model_file.read_bytes()
    model_file.chmod(0o644)
    model_file.write_bytes(good[:-10])
    assert tm.load("churn").predict is not None  # the cache is rebuilt from verified objects
    assert model_file.read_bytes() == good


def test_load_inside_a_run_records_the_version_as_an_input(ws: Path, clf: Any) -> None:
    tm.log(clf, "churn")
    with tether.run(name="eval") as run:
        tm.load("churn")
    store = open_session(ws).store
    assert [(i.kind, i.ref) for i in store.list_run_io(run.id, "input")] == [
        ("model_version", "churn@1")
    ]


@pytest.mark.slow  # two fresh interpreters import scikit-learn and skops
def test_log_and_load_in_fresh_processes(ws: Path, clf: Any, xy: Any, tmp_path: Path) -> None:
    x, _ = xy
    np.save(tmp_path / "x.npy", x, allow_pickle=False)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    log_code = (
        "import numpy as np, tether.models as tm\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "x = np.load(r'{}')\n"
        "clf = LogisticRegression().fit(x, (x[:, 0] + x[:, 1] > 0).astype('int64'))\n"
        "mv = tm.log(clf, 'churn', sample=x[:5])\n"
        "tm.set_alias('churn', 'champion', mv.version)\n"
        "np.save(r'{}', clf.predict(x))\n"
    ).format(tmp_path / "x.npy", tmp_path / "expected.npy")
    load_code = (
        "import numpy as np, tether.models as tm\n"
        "x = np.load(r'{}')\n"
        "np.save(r'{}', tm.load('churn@champion').predict(x))\n"
        "import sys; print('sqlalchemy' in sys.modules)\n"
    ).format(tmp_path / "x.npy", tmp_path / "got.npy")
    for code in (log_code, load_code):
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ws, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "got.npy"), np.load(tmp_path / "expected.npy"))
    # on SQLite, a process that only loads resolves the alias with one query, no SQLAlchemy
    sqlite = os.environ["TETHER_STORE_URL"].startswith("sqlite")
    assert done.stdout.split() == [str(not sqlite)]


STEP_MODULE = """
import numpy as np
import tether.models as tm
from tether.pipelines import pipeline, step


@step
def train(n: int) -> int:
    import tether
    from sklearn.linear_model import LogisticRegression

    frame = tether.dataset("table").to_pandas()
    x = frame[["a", "b"]].to_numpy()
    clf = LogisticRegression().fit(x, frame["y"].to_numpy())
    return tm.log(clf, "stepped", sample=x[:5], metrics={"acc": 1.0}).version


@pipeline
def flow(n: int = 1):
    return train(n)
"""


@pytest.mark.parametrize("executor", ["inline", pytest.param("processes", marks=pytest.mark.slow)])
def test_a_model_logged_in_a_pipeline_step_is_made_by_the_steps_run(
    ws: Path, executor: str
) -> None:
    import pandas as pd

    from tether.pipelines.loader import load_file

    frame = pd.DataFrame(
        {"a": [0.0, 1, 2, 3, 4, 5], "b": [1.0, 0, 1, 0, 1, 0], "y": [0, 0, 0, 1, 1, 1]}
    )
    frame.to_parquet(ws / "table.parquet")
    tether.Workspace(ws).add(ws / "table.parquet", "table")
    (ws / "flows_reg.py").write_text(STEP_MODULE)
    module = load_file(ws / "flows_reg.py", f"flows_reg_{os.getpid()}")
    result = module.flow(executor=executor)
    assert result.status == "finished"
    step_run = result.steps["train"].run_id
    mv = tm.model_version("stepped")
    assert (mv.version, mv.run_id) == (1, step_run)
    assert result.output() == 1  # the number log returned inside the step
    listed = _ls_versions()
    assert listed == {"stepped": 1}
    store = open_session(ws).store
    assert ("model_version", "stepped@1") in {
        (o.kind, o.ref) for o in store.list_run_io(step_run, "output")
    }
    assert ("dataset_version", "table@1") in {
        (o.kind, o.ref) for o in store.list_run_io(step_run, "input")
    }
    again = module.flow(executor=executor)  # cached: the step made no second version
    assert again.steps["train"].cached
    assert [v.version for v in tm.history("stepped")] == []
    assert len(store.list_model_versions("proj", "stepped")) == 1
    again = module.flow(n=2, executor=executor)  # a new version: its number, as ls shows it
    assert again.output() == 2 == _ls_versions()["stepped"]


FAILING_STEP = """
import tether.models as tm
from tether.pipelines import pipeline, step


@step
def train() -> int:
    from sklearn.dummy import DummyClassifier

    tm.log(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), "flaky")
    raise RuntimeError("the step fails after logging")


@step
def train_ok() -> int:
    from sklearn.dummy import DummyClassifier

    return tm.log(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), "flaky").version


@pipeline
def failing():
    return train()


@pipeline
def passing():
    return train_ok()
"""


def test_a_failed_step_creates_no_version_and_leaves_its_number_unused(ws: Path) -> None:
    from tether.pipelines.loader import load_file

    (ws / "flows_fail.py").write_text(FAILING_STEP)
    module = load_file(ws / "flows_fail.py", f"flows_fail_{os.getpid()}")
    assert module.failing(raise_on_failure=False).status == "failed"
    with pytest.raises(NotFound):
        tm.model_version("flaky")
    assert module.passing().output() == 2  # number 1 was reserved by the failed step
    assert [v.version for v in open_session(ws).store.list_model_versions("proj", "flaky")] == [2]
    assert tm.model_version("flaky").version == 2


ELSEWHERE_STEP = """
import os
import tether.models as tm
from tether.pipelines import pipeline, step


@step
def train() -> int:
    from sklearn.dummy import DummyClassifier

    model = DummyClassifier().fit([[0.0], [1.0]], [0, 1])
    return tm.log(model, "m", workspace=os.environ["OTHER_WS"]).version


@pipeline
def elsewhere():
    return train()
"""


def test_a_number_reserved_elsewhere_falls_back_to_the_next_version(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A step that logs naming another workspace (here: another project) reserves its number
    there; the pipeline's store then creates the version under its own next number, and says
    so, rather than failing the step."""
    from sklearn.dummy import DummyClassifier

    from tether.config import init_workspace
    from tether.pipelines.loader import load_file

    other = tmp_path / "other"
    init_workspace(other, project="elsewhere")
    model = DummyClassifier().fit([[0.0], [1.0]], [0, 1])
    tm.log(model, "m", workspace=other)
    tm.log(model, "m", workspace=other)
    monkeypatch.setenv("OTHER_WS", str(other))
    (ws / "flows_else.py").write_text(ELSEWHERE_STEP)
    module = load_file(ws / "flows_else.py", f"flows_else_{os.getpid()}")
    with caplog.at_level("WARNING", logger="tether.pipelines"):
        result = module.elsewhere()
    assert result.status == "finished"
    assert result.output() == 3  # reserved in the other project
    assert "created as the next version instead" in caplog.text
    assert tm.model_version("m").version == 1


def _ls_versions() -> dict[str, int]:
    """``tether models ls --json``, in a fresh process: model -> latest version."""
    import json

    done = subprocess.run(
        [sys.executable, "-m", "tether", "models", "ls", "--json"],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return {r["model"]: r["latest_version"] for r in json.loads(done.stdout)}
