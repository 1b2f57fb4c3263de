"""Values in and out of the object store, by type; untrusted estimators are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tether.pipelines import (
    MalformedValue,
    NoMaterializer,
    UntrustedTypes,
    register_materializer,
    unregister_materializer,
)
from tether.pipelines import materializers as mats
from tether.pipelines.values import load_value, store_value
from tether.tracking.session import open_session

from .conftest import WriteModule


def _round_trip(workspace: Path, value: Any) -> Any:
    session = open_session(workspace)
    stored = store_value(session.objects, value, "test value", workspace / "scratch")
    return load_value(session.objects, stored.digest, workspace / "cache"), stored


def test_builtin_round_trips(workspace: Path) -> None:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    for value in [{"a": [1, 2.5, None, "x"]}, 3, b"\x00bytes"]:
        assert _round_trip(workspace, value)[0] == value
    arr = np.arange(12, dtype="float32").reshape(3, 4)
    back, stored = _round_trip(workspace, arr)
    assert stored.materializer == "numpy" and back.dtype == arr.dtype
    np.testing.assert_array_equal(back, arr)
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=[10, 20])
    back, stored = _round_trip(workspace, frame)
    assert stored.materializer == "pandas"
    pd.testing.assert_frame_equal(back, frame)
    table = pa.table({"a": [1, 2, 3]})
    back, stored = _round_trip(workspace, table)
    assert stored.materializer == "arrow" and back.equals(table)


def test_equal_values_share_one_digest(workspace: Path) -> None:
    assert _round_trip(workspace, [1, 2])[1].digest == _round_trip(workspace, [1, 2])[1].digest


def test_paths_round_trip_files_and_folders(workspace: Path) -> None:
    folder = workspace / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"w" * 100)
    (folder / "sub" / "config.json").write_text("{}")
    back, stored = _round_trip(workspace, folder)
    assert stored.materializer == "path" and back.name == "model"
    assert (back / "weights.bin").read_bytes() == b"w" * 100
    assert (back / "sub" / "config.json").read_text() == "{}"
    back, _ = _round_trip(workspace, folder / "weights.bin")
    assert back.name == "weights.bin" and back.read_bytes() == b"w" * 100


def test_sklearn_estimators_through_skops(workspace: Path) -> None:
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).random((40, 3))
    y = (X[:, 0] > 0.5).astype(int)
    model = LogisticRegression().fit(X, y)
    back, stored = _round_trip(workspace, model)
    assert stored.materializer == "sklearn"
    np.testing.assert_array_equal(back.predict(X), model.predict(X))

    forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(X, y)
    with pytest.raises(UntrustedTypes, match=r"sklearn\.tree\._tree\.Tree.*trust_types"):
        _round_trip(workspace, forest)
    mats.trust_types(["sklearn.tree._tree.Tree"])
    try:
        back, _ = _round_trip(workspace, forest)
        np.testing.assert_array_equal(back.predict(X), forest.predict(X))
    finally:
        mats._trusted.clear()


def test_unknown_types_are_refused_with_a_hint(workspace: Path) -> None:
    with pytest.raises(NoMaterializer, match="register_materializer"):
        _round_trip(workspace, object())
    import numpy as np

    with pytest.raises(Exception, match="dtype object"):
        _round_trip(workspace, np.array([object()]))


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y


class PointMaterializer:
    name = "point"
    version = "1"

    def can_save(self, value: Any) -> bool:
        return isinstance(value, Point)

    def save(self, value: Any, folder: Path) -> None:
        (folder / "point.txt").write_text(f"{value.x},{value.y}")

    def load(self, folder: Path) -> Any:
        x, y = (folder / "point.txt").read_text().split(",")
        return Point(int(x), int(y))


def test_user_materializers_come_first(workspace: Path) -> None:
    register_materializer(PointMaterializer())
    try:
        back, stored = _round_trip(workspace, Point(2, 3))
        assert stored.materializer == "point" and (back.x, back.y) == (2, 3)
    finally:
        unregister_materializer("point")


def test_steps_pass_arrays_frames_and_models(write_module, executor: str) -> None:  # type: ignore[no-untyped-def]
    mod = write_module(
        """
        import numpy as np
        import pandas as pd
        from tether.pipelines import step, pipeline

        @step
        def make(n: int) -> pd.DataFrame:
            rng = np.random.default_rng(0)
            return pd.DataFrame({"x": rng.random(n), "y": rng.integers(0, 2, n)})

        @step
        def train(frame: pd.DataFrame):
            from sklearn.linear_model import LogisticRegression
            return LogisticRegression().fit(frame[["x"]], frame["y"])

        @step
        def predict(model, frame: pd.DataFrame) -> np.ndarray:
            return model.predict(frame[["x"]])

        @pipeline
        def ml(n: int = 30):
            frame = make(n)
            return predict(train(frame), frame)
        """
    )
    run = mod.ml(executor=executor)
    assert run.status == "finished", run.steps
    assert run.output().shape == (30,)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a zip", "no-schema", "bad-schema"],
    ids=["empty", "garbage", "no-schema", "bad-schema"],
)
def test_a_malformed_skops_file_is_named_as_malformed(tmp_path: Path, content: Any) -> None:
    import zipfile

    path = tmp_path / "model.skops"
    if content == "no-schema":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("x", "y")
    elif content == "bad-schema":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("schema.json", '{"__class__": 1}')
    else:
        path.write_bytes(content)
    with pytest.raises(MalformedValue, match=f"{path} is malformed: not a readable skops"):
        mats.SklearnMaterializer().load(tmp_path)


def test_a_npy_needing_pickle_or_malformed_is_refused(tmp_path: Path) -> None:
    import numpy as np

    path = tmp_path / "array.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(MalformedValue, match="allow_pickle"):
        mats.NumpyMaterializer().load(tmp_path)
    path.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(MalformedValue, match=f"{path} is malformed"):
        mats.NumpyMaterializer().load(tmp_path)


REFIT = """
import numpy as np
from sklearn.linear_model import LogisticRegression
from tether.pipelines import step, pipeline

@step(cache=False)
def fit(seed: int) -> LogisticRegression:
    rng = np.random.RandomState(seed)
    x = rng.rand(40, 3)
    return LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(int))

@step
def score(model: LogisticRegression) -> float:
    return float(model.coef_.sum())

@pipeline
def flow(seed: int = 0):
    return score(fit(seed))
"""


@pytest.mark.parametrize("executor", ["inline", pytest.param("processes", marks=pytest.mark.slow)])
def test_a_refitted_equal_estimator_does_not_rerun_downstream(
    write_module: WriteModule, executor: str
) -> None:
    pytest.importorskip("skops")
    mod = write_module(REFIT)
    first = mod.flow(executor=executor)
    again = mod.flow(executor=executor)
    assert not again.steps["fit"].cached
    # skops names arrays by id() and stamps times: other bytes, same estimator
    assert again.steps["fit"].outputs != first.steps["fit"].outputs
    assert again.steps["score"].cached
    assert mod.flow(seed=1, executor=executor).steps["score"].cached is False
