"""Evaluations of registered model versions, recorded as runs.

``evaluate(ref, data, ...)`` loads the version a reference names, evaluates it (see
``evaluation.py``), then records a run in experiment ``evaluation`` whose inputs are the model
version and, for a dataset reference, the dataset version, with the evaluation's metrics
(``Evaluation.flat_metrics`` names: ``accuracy``, ``slices/<slice>/accuracy``,
``latency/row_p99_ms``, ``rows``) and tags naming what was evaluated. The run is recorded after
the evaluation succeeded: bad input records nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tether.models.datasource import Data, DataResolver, Table, load_table
from tether.models.errors import DataNotFound
from tether.models.evaluation import Evaluation
from tether.models.evaluation import evaluate as evaluate_model
from tether.models.fetch import load, model_version

if TYPE_CHECKING:
    import pandas as pd

    from tether.models.metrics import Task
    from tether.models.slices import Slice
    from tether.store import DatasetVersion, ModelVersion
    from tether.workspace import Workspace

EXPERIMENT = "evaluation"
TAG_OF = "tether.evaluation.of"  # the model version evaluated: "name@3"
TAG_DATA = "tether.evaluation.data"  # the dataset version, the path, or "<DataFrame>"
TAG_TARGET = "tether.evaluation.target"


@dataclass(frozen=True)
class TrackedEvaluation(Evaluation):
    """An ``Evaluation`` of a model version, with the run that records it."""

    model: str = ""  # "name@3"
    run_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "run_id": self.run_id, **super().to_dict()}


def workspace_of(workspace: Workspace | str | os.PathLike[str] | None) -> Workspace:
    from tether.workspace import Workspace, open_workspace

    return workspace if isinstance(workspace, Workspace) else open_workspace(workspace)


class DataSource:
    """Turns ``data`` into a table once; a dataset reference through ``tether.dataset``,
    remembering the version it resolved to so the run can record it."""

    def __init__(
        self,
        data: Data,
        *,
        resolver: DataResolver | None = None,
        workspace: Workspace | str | os.PathLike[str] | None = None,
    ) -> None:
        self.dataset_version: DatasetVersion | None = None
        self._workspace = workspace
        self.table: Table = load_table(data, resolver=resolver or self._dataset)

    def _dataset(self, ref: str) -> pd.DataFrame:
        from tether.tracking.datasets import dataset

        if "/" in ref or os.sep in ref or ref.lower().endswith((".parquet", ".pq")):
            raise DataNotFound(
                f"data file {ref!r} does not exist; pass a Parquet path, a DataFrame or a "
                "dataset reference such as 'churn@4'"
            )
        handle = dataset(ref, workspace=workspace_of(self._workspace))
        self.dataset_version = handle.dataset_version
        return handle.to_pandas()


def is_ref(model: Any) -> bool:
    from tether.store import ModelVersion

    return isinstance(model, str | ModelVersion)


def version_ref(version: ModelVersion) -> str:
    return f"{version.model}@{version.version}"


def load_version(model: str | ModelVersion, workspace: Workspace) -> tuple[ModelVersion, Any]:
    """The version a reference names and the loaded model (loaded by number, so an alias
    that moves meanwhile cannot give the model of another version)."""
    from tether.store import ModelVersion

    version = (
        model if isinstance(model, ModelVersion) else model_version(model, workspace=workspace)
    )
    return version, load(version_ref(version), workspace=workspace)


def record_evaluation(
    evaluation: Evaluation,
    version: ModelVersion,
    source: DataSource,
    workspace: Workspace,
    *,
    tags: dict[str, str] | None = None,
) -> TrackedEvaluation:
    """Record ``evaluation`` of ``version`` as a finished run; the evaluation with its run id."""
    from dataclasses import fields

    from tether.tracking.api import run

    ref = version_ref(version)
    data = source.table.source
    if source.dataset_version is not None:
        data = f"{source.dataset_version.dataset}@{source.dataset_version.version}"
    params = {
        "target": evaluation.target,
        "task": evaluation.task,
        "metrics": list(evaluation.metrics),
        "slices": list(evaluation.slices),
        "data": data,
    }
    all_tags = {TAG_OF: ref, TAG_DATA: data, TAG_TARGET: evaluation.target, **(tags or {})}
    with run(EXPERIMENT, f"evaluate {ref}", params, all_tags, workspace=workspace) as active:
        active.log_input(version)
        if source.dataset_version is not None:
            active.log_input(source.dataset_version)
        active.log_metrics(evaluation.flat_metrics())
    values = {f.name: getattr(evaluation, f.name) for f in fields(Evaluation)}
    return TrackedEvaluation(**values, model=ref, run_id=active.id)


def evaluate(
    model: Any,
    data: Data,
    *,
    target: str,
    metrics: Sequence[str] | None = None,
    slices: Sequence[str | Slice] | None = None,
    task: Task | None = None,
    features: Sequence[str] | None = None,
    latency: bool = True,
    resolver: DataResolver | None = None,
    workspace: Workspace | str | os.PathLike[str] | None = None,
) -> Evaluation:
    """Evaluate ``model`` on ``data``; see ``docs/gates.md``.

    ``model`` is an object with ``predict``, or a model reference (``"churn-model@3"``,
    ``"churn-model@champion"``, a ``ModelVersion``): then the evaluation is recorded as a run
    and returned as a ``TrackedEvaluation``. ``data`` is a DataFrame, a Parquet path, or a
    dataset reference (``"churn@4"``).
    """
    if not is_ref(model):
        source = DataSource(data, resolver=resolver, workspace=workspace)
        return _evaluate(model, source, target, metrics, slices, task, features, latency)
    ws = workspace_of(workspace)
    version, loaded = load_version(model, ws)
    source = DataSource(data, resolver=resolver, workspace=ws)
    result = _evaluate(loaded, source, target, metrics, slices, task, features, latency)
    return record_evaluation(result, version, source, ws)


def _evaluate(
    model: Any,
    source: DataSource,
    target: str,
    metrics: Sequence[str] | None,
    slices: Sequence[str | Slice] | None,
    task: Task | None,
    features: Sequence[str] | None,
    latency: bool,
) -> Evaluation:
    result = evaluate_model(
        model,
        source.table.frame,
        target=target,
        metrics=metrics,
        slices=slices,
        task=task,
        features=features,
        latency=latency,
    )
    from dataclasses import replace

    return replace(result, source=source.table.source)
