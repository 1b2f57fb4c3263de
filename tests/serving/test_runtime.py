"""What the server holds per model version: where its batches run (the event loop or a model
thread), chosen at warm-up on a batch as large as the batcher makes."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tether.models import load_model, save_model
from tether.serving.runtime import Options, Version
from tether.serving.tensors import full_batch, rows_of


class PerRowCost:
    """Cheap on a few rows, slow on many: ``seconds_per_row`` of work for each row."""

    def __init__(self, seconds_per_row: float) -> None:
        self.seconds_per_row = seconds_per_row

    def predict(self, x: Any) -> Any:
        time.sleep(self.seconds_per_row * len(x))
        return np.asarray(x).sum(axis=1)

    def get_state(self) -> dict[str, Any]:
        return {"seconds_per_row": self.seconds_per_row}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PerRowCost:
        return cls(float(state["seconds_per_row"]))


def _version(folder: Path, opts: Options) -> Version:
    pool = ThreadPoolExecutor(1)
    v = Version("m", 1, load_model(folder), pool, opts)
    v.warm_up()
    pool.shutdown()
    return v


@pytest.fixture
def per_row_model(tmp_path: Path) -> Path:
    folder = tmp_path / "per_row"
    X = np.random.default_rng(0).normal(size=(50, 3))
    # a few rows (the stored example) take well under the loop's 2 ms; 1,024 take 20 ms
    save_model(PerRowCost(20e-6), folder, sample=X)
    return folder


def test_a_model_slow_on_a_full_batch_runs_in_its_thread(per_row_model: Path) -> None:
    model = load_model(per_row_model)
    example = model.input_example()
    model.predict(example)
    started = time.perf_counter()
    model.predict(example)
    assert time.perf_counter() - started < 0.002  # fast on the example alone
    assert not _version(per_row_model, Options(max_batch=1024)).in_loop


def test_the_same_model_with_small_batches_runs_in_the_loop(per_row_model: Path) -> None:
    assert _version(per_row_model, Options(max_batch=8)).in_loop


def test_a_linear_model_runs_in_the_loop_and_an_explicit_choice_is_kept(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).normal(size=(200, 20))
    save_model(LogisticRegression().fit(X, X[:, 0] > 0), tmp_path / "lr", sample=X)
    assert _version(tmp_path / "lr", Options()).in_loop
    assert not _version(tmp_path / "lr", Options(model_thread=True)).in_loop


@pytest.mark.parametrize(
    "value",
    [
        np.arange(15.0).reshape(5, 3),
        pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}),
        {"a": np.arange(4), "b": np.arange(8.0).reshape(4, 2)},
        pa.table({"a": [1, 2, 3]}),
    ],
    ids=["ndarray", "dataframe", "dict", "arrow"],
)
def test_full_batch_repeats_the_example_to_the_rows_asked(value: Any) -> None:
    batch = full_batch(value, 1024)
    assert rows_of(batch) == 1024
    first = rows_of(value)
    if isinstance(value, np.ndarray):
        assert np.array_equal(batch[first : 2 * first], value)
    elif isinstance(value, pd.DataFrame):
        assert batch.iloc[first : 2 * first].reset_index(drop=True).equals(value)
    elif isinstance(value, dict):
        assert np.array_equal(batch["b"][first : 2 * first], value["b"])
    else:
        assert batch.slice(first, first).equals(value)


def test_full_batch_leaves_larger_and_empty_values_alone() -> None:
    big = np.zeros((2000, 2))
    assert full_batch(big, 1024) is big
    empty = np.zeros((0, 2))
    assert full_batch(empty, 1024) is empty


class FailsOnMany:
    """Answers a few rows, fails on many (a model with a hard limit on its input)."""

    def predict(self, x: Any) -> Any:
        if len(x) > 100:
            raise MemoryError(f"{len(x)} rows is too many")
        return np.asarray(x).sum(axis=1)

    def get_state(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FailsOnMany:
        return cls()


def test_a_model_failing_on_a_full_warm_up_batch_still_loads_in_its_thread(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    save_model(FailsOnMany(), tmp_path / "m", sample=np.ones((20, 3)))
    with caplog.at_level("WARNING", logger="tether.serving.runtime"):
        v = _version(tmp_path / "m", Options(max_batch=1024))
    assert not v.in_loop
    assert "1024-row warm-up batch failed (MemoryError" in caplog.text
    assert v.loaded.predict(np.ones((2, 3))).tolist() == [3.0, 3.0]
