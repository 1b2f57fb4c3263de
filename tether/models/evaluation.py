"""``evaluate``: a model's metrics on a table, overall and per slice, with its latency.

The model is any object with ``predict`` (and ``predict_proba`` when it has one). An
``Evaluation`` keeps the per-row predictions as NumPy arrays, so a gate can bootstrap any metric
over the same rows later, and ``to_dict``/``flat_metrics`` for logging it as a run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tether.models.datasource import Data, DataResolver, load_table
from tether.models.errors import InvalidData, MissingTarget, UnknownMetric
from tether.models.latency import Latency, measure_latency
from tether.models.metrics import (
    TASKS,
    Predictions,
    Task,
    check_metric,
    classification,
    default_metrics,
    get_metric,
    regression,
)
from tether.models.slices import Slice, parse_slice

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MAX_METRIC_KEY = 250  # the store's limit on a metric name


@dataclass(frozen=True)
class SliceEvaluation:
    name: str
    rows: int
    metrics: dict[str, float]
    mask: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Evaluation:
    task: Task
    target: str
    rows: int
    metrics: dict[str, float]
    slices: dict[str, SliceEvaluation]
    predictions: Predictions = field(repr=False)
    latency: Latency | None = None
    source: str = "<DataFrame>"

    def metric(self, name: str) -> float:
        """A metric on all rows: the stored value, or computed now from the predictions."""
        if name in self.metrics:
            return self.metrics[name]
        return get_metric(name).compute(self.predictions)

    def slice_metric(self, slice_name: str, name: str) -> float:
        result = self.slices[slice_name]
        if name in result.metrics:
            return result.metrics[name]
        return get_metric(name).compute(self.predictions.subset(result.mask))

    def to_dict(self) -> dict[str, Any]:
        """Everything but the per-row arrays, as JSON-ready values (NaN as ``None``)."""
        return {
            "task": self.task,
            "target": self.target,
            "rows": self.rows,
            "source": self.source,
            "metrics": {k: _json(v) for k, v in self.metrics.items()},
            "slices": {
                name: {"rows": s.rows, "metrics": {k: _json(v) for k, v in s.metrics.items()}}
                for name, s in self.slices.items()
            },
            "latency": None if self.latency is None else self.latency.to_dict(),
        }

    def flat_metrics(self) -> dict[str, float]:
        """Metrics as one flat mapping for ``tether.log_metrics`` (NaN values left out).

        Keys: ``accuracy``, ``slices/<slice>/accuracy`` (``slices/<i>/accuracy`` when the slice
        text would make the key too long or holds control characters), ``latency/row_p99_ms``,
        ``rows``.
        """
        out: dict[str, float] = {"rows": float(self.rows)}
        out.update(self.metrics)
        for i, (name, s) in enumerate(self.slices.items()):
            usable = len(name) + 40 < MAX_METRIC_KEY and name.isprintable()
            label = name if usable else str(i)
            out[f"slices/{label}/rows"] = float(s.rows)
            out.update({f"slices/{label}/{k}": v for k, v in s.metrics.items()})
        if self.latency is not None:
            out.update({f"latency/{k}": float(v) for k, v in self.latency.to_dict().items()})
        return {k: v for k, v in out.items() if not math.isnan(v)}


def _json(value: float) -> float | None:
    return None if math.isnan(value) else value


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
) -> Evaluation:
    """Evaluate ``model`` on ``data`` (a DataFrame, a Parquet path, or a reference ``resolver``
    turns into one). ``features`` defaults to every column but ``target``.

    Everything the caller passed is checked (target, metric names, slices and their columns)
    before the model runs.
    """
    table = load_table(data, resolver=resolver)
    return evaluate_frame(
        model,
        table.frame,
        target=target,
        metrics=metrics,
        slices=slices,
        task=task,
        features=features,
        latency=latency,
        source=table.source,
    )


def evaluate_frame(
    model: Any,
    frame: pd.DataFrame,
    *,
    target: str,
    metrics: Sequence[str] | None = None,
    slices: Sequence[str | Slice] | None = None,
    task: Task | None = None,
    features: Sequence[str] | None = None,
    latency: bool = True,
    source: str = "<DataFrame>",
) -> Evaluation:
    if not callable(getattr(model, "predict", None)):
        raise InvalidData(f"the model ({type(model).__name__}) has no predict method")
    if target not in frame.columns:
        shown = ", ".join(repr(str(c)) for c in list(frame.columns)[:20])
        raise MissingTarget(f"the data has no target column {target!r} (columns: {shown})")
    if len(frame) == 0:
        raise InvalidData("the data has no rows; evaluate on a table with rows")
    y = frame[target]
    if y.isna().any():
        raise InvalidData(
            f"target column {target!r} has {int(y.isna().sum())} missing values; drop those rows"
        )
    parsed = _parse_slices(slices or ())
    for s in parsed:
        s.mask(frame.head(0))  # names the missing column before the model runs
    x = _features(frame, target, features)
    if task is None:
        task = infer_task(y, model)
    elif task not in TASKS:
        raise InvalidData(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    has_proba = task == "classification" and callable(getattr(model, "predict_proba", None))
    names = _metric_names(metrics, task, has_proba)

    predictions = _predict(model, x, y, task, has_proba)
    for name in names:
        check_metric(get_metric(name), predictions)
    overall = {name: get_metric(name).compute(predictions) for name in names}
    results: dict[str, SliceEvaluation] = {}
    for s in parsed:
        mask = s.mask(frame)
        sub = predictions.subset(mask)
        values = {name: get_metric(name).compute(sub) for name in names}
        results[s.name] = SliceEvaluation(s.name, int(mask.sum()), values, mask)
    timing = measure_latency(model, x) if latency else None
    return Evaluation(task, target, len(frame), overall, results, predictions, timing, source)


def _parse_slices(slices: Sequence[str | Slice]) -> list[Slice]:
    if isinstance(slices, str):
        slices = [slices]
    parsed = [s if isinstance(s, Slice) else parse_slice(s) for s in slices]
    return list({s.name: s for s in parsed}.values())


def _features(frame: pd.DataFrame, target: str, features: Sequence[str] | None) -> pd.DataFrame:
    if features is None:
        return frame.drop(columns=[target])
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise InvalidData(f"the data has no feature column {missing[0]!r}")
    if target in features:
        raise InvalidData(f"the target {target!r} is listed among the features; leave it out")
    return frame[list(features)]


def _metric_names(metrics: Sequence[str] | None, task: Task, has_proba: bool) -> list[str]:
    if metrics is None:
        return list(default_metrics(task, has_proba))
    if isinstance(metrics, str):
        metrics = [metrics]
    for name in metrics:
        metric = get_metric(name)
        if metric.task != task:
            raise UnknownMetric(
                f"metric {name!r} is a {metric.task} metric, and this evaluation is {task} "
                "(pass task= if it was guessed wrong)"
            )
    return list(dict.fromkeys(metrics))


def infer_task(y: pd.Series, model: Any) -> Task:
    """Classification when the model says so or has ``predict_proba``, or the target holds
    labels (text, booleans, categories, or at most 20 distinct integers); else regression."""
    from pandas.api import types

    kind = _estimator_type(model)
    if kind in ("classifier", "regressor"):
        return "classification" if kind == "classifier" else "regression"
    if callable(getattr(model, "predict_proba", None)):
        return "classification"
    dtype = y.dtype
    if types.is_bool_dtype(dtype) or not types.is_numeric_dtype(dtype):
        return "classification"
    if types.is_integer_dtype(dtype) and y.nunique() <= 20:
        return "classification"
    return "regression"


def _estimator_type(model: Any) -> str | None:
    tags = getattr(model, "__sklearn_tags__", None)
    if callable(tags):
        try:
            kind = tags().estimator_type
        except Exception:  # a model that only looks like an estimator
            kind = None
        if isinstance(kind, str):
            return kind
    kind = getattr(model, "_estimator_type", None)
    return kind if isinstance(kind, str) else None


def _predict(model: Any, x: pd.DataFrame, y: pd.Series, task: Task, has_proba: bool) -> Predictions:
    import numpy as np

    y_pred = _call(model, "predict", x)
    if y_pred.ndim == 0 or len(y_pred) != len(x):
        got = "one value" if y_pred.ndim == 0 else f"{len(y_pred)} values"
        raise InvalidData(f"predict returned {got} for {len(x)} rows; expected one per row")
    y_true = y.to_numpy()
    if task == "regression":
        if not np.issubdtype(np.asarray(y_true).dtype, np.number):
            raise InvalidData(f"a regression target must be numeric, not {y.dtype}")
        return regression(y_true, y_pred)
    proba = _call(model, "predict_proba", x) if has_proba else None
    classes = getattr(model, "classes_", None)
    if classes is not None:
        classes = np.asarray(classes)
    elif proba is not None:
        raise InvalidData(
            "the model has predict_proba but no classes_, so its columns cannot be matched "
            "to labels; give it a classes_ attribute"
        )
    return classification(y_true, np.asarray(y_pred).reshape(len(x)), proba, classes)


def _call(model: Any, method: str, x: pd.DataFrame) -> np.ndarray:
    import numpy as np

    try:
        return np.asarray(getattr(model, method)(x))
    except Exception as exc:  # the model's own code: report it as the model's failure
        raise InvalidData(
            f"model.{method} failed on the evaluation data: {type(exc).__name__}: {exc}"
        ) from exc
