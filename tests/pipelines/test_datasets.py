"""Dataset versions in steps: recorded as inputs, part of what decides a cache hit."""

from __future__ import annotations

from pathlib import Path

import pytest

import tether
from tether.pipelines.errors import InvalidPipeline
from tether.tracking.datasets import add

from .conftest import WriteModule

READS = """
import tether
from tether.pipelines import step, pipeline

@step
def rows(ref: str) -> int:
    return len(tether.dataset(ref).path().joinpath("churn.csv").read_text().splitlines())

@step
def double(n: int) -> int:
    return n * 2

@pipeline
def count(ref: str = "churn"):
    return double(rows(ref))
"""

PARAM = """
import tether
from tether import DatasetRef
from tether.pipelines import step, pipeline

@step
def rows(data: DatasetRef) -> str:
    text = tether.dataset(data).path().joinpath("churn.csv").read_text()
    return f"{data}:{len(text.splitlines())}"

@pipeline
def training(data: DatasetRef):
    return rows(data)
"""


def _version(workspace: Path, lines: int) -> None:
    folder = workspace / "churn"
    folder.mkdir(exist_ok=True)
    (folder / "churn.csv").write_text("".join(f"{i}\n" for i in range(lines)))
    add(folder, "churn")


def _inputs(run_id: str) -> set[str]:
    return {io.ref for io in tether.get_run(run_id).inputs if io.kind == "dataset_version"}


def test_latest_read_in_a_step_is_recorded_and_reruns_on_a_new_version(
    write_module: WriteModule, workspace: Path, executor: str
) -> None:
    _version(workspace, 3)
    mod = write_module(READS)
    first = mod.count(executor=executor)
    assert first.output() == 6
    assert _inputs(first.steps["rows"].run_id) == {"churn@1"}
    again = mod.count(executor=executor)
    assert again.steps["rows"].cached and again.steps["double"].cached
    assert _inputs(again.steps["rows"].run_id) == {"churn@1"}  # a cached run keeps the lineage
    _version(workspace, 5)
    third = mod.count(executor=executor)
    assert not third.steps["rows"].cached
    assert third.output() == 10
    assert _inputs(third.steps["rows"].run_id) == {"churn@2"}
    fourth = mod.count(executor=executor)
    assert fourth.steps["rows"].cached
    assert fourth.output() == 10


def test_a_pinned_read_stays_cached_when_a_new_version_comes(
    write_module: WriteModule, workspace: Path, executor: str
) -> None:
    _version(workspace, 3)
    mod = write_module(READS)
    mod.count("churn@1", executor=executor)
    _version(workspace, 4)
    again = mod.count("churn@1", executor=executor)
    assert again.steps["rows"].cached
    assert again.output() == 6
    assert _inputs(again.steps["rows"].run_id) == {"churn@1"}


@pytest.mark.parametrize("how", ["ref", "annotated string"])
def test_dataset_param_is_resolved_at_start_and_keys_the_cache(
    write_module: WriteModule, workspace: Path, executor: str, how: str
) -> None:
    _version(workspace, 2)
    mod = write_module(PARAM)

    def arg() -> object:
        return tether.dataset_ref("churn@latest") if how == "ref" else "churn@latest"

    first = mod.training(arg(), executor=executor)
    assert first.output() == "churn@1:2"
    assert _inputs(first.id) == {"churn@1"}
    assert _inputs(first.steps["rows"].run_id) == {"churn@1"}
    assert tether.get_run(first.id).params["data"] == "churn@1"
    assert mod.training(arg(), executor=executor).steps["rows"].cached
    _version(workspace, 7)
    third = mod.training(arg(), executor=executor)
    assert not third.steps["rows"].cached
    assert third.output() == "churn@2:7"
    assert _inputs(third.id) == {"churn@2"}


def test_dataset_param_that_names_no_dataset_fails_before_the_run(
    write_module: WriteModule, workspace: Path
) -> None:
    mod = write_module(PARAM)
    with pytest.raises(tether.TetherError, match="churn"):
        mod.training("churn@latest", executor="inline")
    with pytest.raises(tether.TetherError, match="newest"):
        tether.dataset_ref("churn@newest")


def test_param_without_canonical_encoding_is_refused_by_name() -> None:
    from tether.pipelines.cache import cache_key

    base = dict(
        step="s",
        kind="python",
        code="c",
        inputs={},
        outputs=("output",),
        environment="e",
        materializers="m",
    )
    with pytest.raises(InvalidPipeline, match=r"step 's': param 'lr'.*object"):
        cache_key(params={"lr": object()}, **base)  # type: ignore[arg-type]
    assert cache_key(params={"a": [1, 2]}, **base) != cache_key(params={"a": (1, 2)}, **base)  # type: ignore[arg-type]
    assert cache_key(params={"a": 1, "b": 2}, **base) == cache_key(params={"b": 2, "a": 1}, **base)  # type: ignore[arg-type]
