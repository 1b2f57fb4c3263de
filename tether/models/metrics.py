"""Evaluation metrics, vectorised with NumPy, each written once as weighted sums over rows.

Every metric is a function of per-row statistics summed with row weights: a point estimate
gives each row weight 1, a bootstrap resample gives each row the number of times it was drawn.
So the paired bootstrap (``bootstrap.py``) never materialises resampled rows: it multiplies a
matrix of draw counts by the statistics. ROC AUC is not a sum over rows; it is computed from
weighted counts of positives and negatives within groups of tied scores, in one sort per model.

Conventions: the positive class of a binary task is the model's second class, ``classes_[1]``
(1 of {0, 1}, True of {False, True}, "yes" of {"no", "yes"}; ``positive_index``, which monitoring
uses too); macro averages (F1, ROC AUC) run over the classes present in the
target or the predictions of the whole data; log loss clips probabilities to [eps, 1 - eps]
after normalising each row to sum 1 (as scikit-learn does); the expected calibration error
(top-label) uses 10 bins of equal width over the confidence of the predicted class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from tether.models.errors import InvalidData, MetricNeedsProbabilities, UnknownMetric

if TYPE_CHECKING:
    import numpy as np

Task = Literal["classification", "regression"]
TASKS: tuple[Task, ...] = ("classification", "regression")
ECE_BINS = 10


@dataclass(frozen=True)
class Predictions:
    """One model's predictions on a table of rows, with the true target.

    Classification keeps the labels as integer codes into ``classes`` (-1: a label the model does
    not know) and, when the model has ``predict_proba``, the probabilities (rows x classes).
    """

    task: Task
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None = None
    classes: np.ndarray | None = None
    true_codes: np.ndarray | None = None
    pred_codes: np.ndarray | None = None
    _cache: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    @property
    def rows(self) -> int:
        return len(self.y_true)

    def subset(self, mask: np.ndarray) -> Predictions:
        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[mask]

        return Predictions(
            self.task,
            self.y_true[mask],
            self.y_pred[mask],
            pick(self.proba),
            self.classes,
            pick(self.true_codes),
            pick(self.pred_codes),
        )


def classification(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None = None,
    classes: np.ndarray | None = None,
) -> Predictions:
    """Encode labels against ``classes`` (the model's ``classes_``, else every label seen)."""
    import numpy as np

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if classes is None:
        classes = np.unique(
            np.concatenate([y_true, y_pred]).astype(
                object if y_true.dtype.kind == "O" else y_true.dtype
            )
        )
    classes = np.asarray(classes)
    if proba is not None:
        proba = np.asarray(proba, dtype=np.float64)
        if proba.ndim == 1:
            proba = np.column_stack([1.0 - proba, proba])
        if proba.shape != (len(y_true), len(classes)):
            raise InvalidData(
                f"predict_proba returned shape {proba.shape}, expected "
                f"({len(y_true)}, {len(classes)}): one column per class of the model"
            )
    return Predictions(
        "classification",
        y_true,
        y_pred,
        proba,
        classes,
        _codes(y_true, classes),
        _codes(y_pred, classes),
    )


def regression(y_true: np.ndarray, y_pred: np.ndarray) -> Predictions:
    import numpy as np

    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(len(y_true), -1)
    if y_pred.shape[1] != 1:
        raise InvalidData(f"predict returned {y_pred.shape[1]} outputs per row; expected one")
    return Predictions("regression", np.asarray(y_true, dtype=np.float64), y_pred[:, 0])


def _codes(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    import numpy as np

    try:
        order = np.argsort(classes, kind="stable")
        sorted_classes = classes[order]
        pos = np.searchsorted(sorted_classes, labels)
    except TypeError:  # labels of mixed types: compare one by one
        index = {c: i for i, c in enumerate(classes.tolist())}
        return np.fromiter(
            (index.get(v, -1) for v in labels.tolist()), dtype=np.int64, count=len(labels)
        )
    pos = np.clip(pos, 0, len(classes) - 1)
    found = sorted_classes[pos] == labels
    return np.where(found, order[pos], -1).astype(np.int64)


def positive_index(classes: np.ndarray | list[object], positive: object = None) -> int:
    """Where the positive class of a binary classifier is in ``classes`` (its ``classes_``, in
    its order): ``positive`` when given (a class, or text spelling one), else ``classes_[1]``, as
    scikit-learn's ``pos_label`` of sorted labels. ``InvalidData`` when ``positive`` is not one
    of the classes or the model is not binary."""
    import numpy as np

    listed = np.asarray(classes).tolist()
    if len(listed) != 2:
        raise InvalidData(
            f"a positive class applies to a binary classifier; this model has {len(listed)} "
            f"classes ({_shown(listed)}), whose metrics are macro averages over the classes"
        )
    if positive is None:
        return 1
    code = int(encode(np.asarray([positive], dtype=object), np.asarray(listed, dtype=object))[0])
    if code < 0 and isinstance(positive, str):  # text naming a class (a CLI option): "5" of 5
        spelled = [i for i, c in enumerate(listed) if str(c) == positive]
        code = spelled[0] if len(spelled) == 1 else -1
    if code < 0:
        raise InvalidData(
            f"the positive class {positive!r} is not one of the model's classes ({_shown(listed)})"
        )
    return code


def encode(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Each label's index in ``classes``; -1 for a label that is not one of them."""
    return _codes(labels, classes)


def _shown(values: list[object]) -> str:
    return ", ".join(repr(v) for v in values[:20]) + (" ..." if len(values) > 20 else "")


# ----------------------------------------------------------------------------- the metrics


@dataclass(frozen=True)
class Metric:
    """A metric as per-row statistics (``stats``) and their weighted sums (``combine``).

    ``combine(sums, weight)`` takes the weighted column sums of ``stats`` (resamples x columns)
    and the total weight per resample, and returns the metric per resample. A metric with
    ``weighted`` set (ROC AUC) instead computes itself from a matrix of row weights directly.
    ROC AUC and the calibration error cost a pass over all rows per resample; their bootstrap
    uses at most ``max_resamples`` resamples (recorded in the result).
    """

    name: str
    task: Task
    higher_is_better: bool
    needs_proba: bool
    stats: Callable[[Predictions], np.ndarray] | None = None
    combine: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    weighted: Callable[[Predictions, np.ndarray], np.ndarray] | None = None
    max_resamples: int | None = None  # bootstrap at most this many (costly metrics)

    def values(self, p: Predictions, weights: np.ndarray) -> np.ndarray:
        """The metric under each row of ``weights`` (resamples x rows)."""
        import numpy as np

        if self.weighted is not None:
            return self.weighted(p, weights)
        assert self.stats is not None and self.combine is not None
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.combine(weights @ self.stats(p), weights.sum(axis=1))

    def compute(self, p: Predictions) -> float:
        import numpy as np

        check_metric(self, p)
        if p.rows == 0:
            return float("nan")
        if self.weighted is not None:
            return float(self.weighted(p, np.ones((1, p.rows)))[0])
        assert self.stats is not None and self.combine is not None
        stats = self.stats(p)
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(self.combine(stats.sum(axis=0)[None, :], np.array([float(p.rows)]))[0])


def check_metric(metric: Metric, p: Predictions) -> None:
    if metric.task != p.task:
        raise UnknownMetric(f"metric {metric.name!r} is a {metric.task} metric; this is {p.task}")
    if metric.needs_proba:
        if p.proba is None:
            raise MetricNeedsProbabilities(
                f"metric {metric.name!r} needs predicted probabilities, and the model has no "
                "predict_proba; leave it out of metrics="
            )
        assert p.true_codes is not None and p.classes is not None
        unknown = p.true_codes < 0
        if unknown.any():
            labels = sorted({str(v) for v in p.y_true[unknown][:5].tolist()})
            raise InvalidData(
                f"metric {metric.name!r}: the target holds labels the model has no probability "
                f"for ({', '.join(labels)}); the model's classes are {p.classes.tolist()[:20]}"
            )


def _f64(a: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.asarray(a, dtype=np.float64)


def _accuracy_stats(p: Predictions) -> np.ndarray:
    if p.task == "classification":
        assert p.true_codes is not None and p.pred_codes is not None
        correct = (p.true_codes == p.pred_codes) & (p.true_codes >= 0)
        # labels unknown to the model: right when predicted label equals them literally
        unknown = p.true_codes < 0
        if unknown.any():
            correct = correct | (unknown & (p.y_true == p.y_pred))
        return _f64(correct)[:, None]
    return _f64(p.y_true == p.y_pred)[:, None]


def mean_of_rows(sums: np.ndarray, weight: np.ndarray) -> np.ndarray:
    return sums[:, 0] / weight


def _log_loss_stats(p: Predictions) -> np.ndarray:
    import numpy as np

    assert p.proba is not None and p.true_codes is not None
    proba = p.proba / p.proba.sum(axis=1, keepdims=True)
    eps = np.finfo(proba.dtype).eps
    picked = proba[np.arange(p.rows), p.true_codes]
    return -np.log(np.clip(picked, eps, 1 - eps))[:, None]


def _present_classes(p: Predictions) -> np.ndarray:
    import numpy as np

    assert p.true_codes is not None and p.pred_codes is not None and p.classes is not None
    if "present" not in p._cache:
        codes = np.concatenate([p.true_codes, p.pred_codes])
        p._cache["present"] = np.unique(codes[codes >= 0])
    return p._cache["present"]


def _is_binary(p: Predictions) -> bool:
    return p.classes is not None and len(p.classes) == 2


def _f1_stats(p: Predictions) -> np.ndarray:
    import numpy as np

    assert p.true_codes is not None and p.pred_codes is not None
    assert p.classes is not None
    labels = np.array([positive_index(p.classes)]) if _is_binary(p) else _present_classes(p)
    t = p.true_codes[:, None] == labels[None, :]
    q = p.pred_codes[:, None] == labels[None, :]
    return _f64(np.concatenate([t & q, ~t & q, t & ~q], axis=1))  # tp, fp, fn per label


def _f1_combine(sums: np.ndarray, weight: np.ndarray) -> np.ndarray:
    import numpy as np

    k = sums.shape[1] // 3
    tp, fp, fn = sums[:, :k], sums[:, k : 2 * k], sums[:, 2 * k :]
    denom = 2 * tp + fp + fn
    f1 = np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)
    return f1.mean(axis=1)


def _ece_stats(p: Predictions) -> np.ndarray:
    import numpy as np

    assert p.proba is not None and p.true_codes is not None
    proba = p.proba / p.proba.sum(axis=1, keepdims=True)
    top = proba.argmax(axis=1)
    conf = proba[np.arange(p.rows), top]
    correct = _f64(top == p.true_codes)
    bins = np.clip(np.ceil(conf * ECE_BINS).astype(np.int64) - 1, 0, ECE_BINS - 1)
    onehot = _f64(bins[:, None] == np.arange(ECE_BINS)[None, :])
    return np.concatenate([onehot, onehot * conf[:, None], onehot * correct[:, None]], axis=1)


def _ece_combine(sums: np.ndarray, weight: np.ndarray) -> np.ndarray:
    import numpy as np

    conf = sums[:, ECE_BINS : 2 * ECE_BINS]
    correct = sums[:, 2 * ECE_BINS :]
    return np.abs(correct - conf).sum(axis=1) / weight


def _auc_binary(score: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted ROC AUC (ties count one half), for each row of ``weights``."""
    import numpy as np

    order = np.argsort(score, kind="stable")
    s = score[order]
    pos = positive[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    w = weights[:, order]
    wp = w * pos
    wn = w - wp
    gp = np.add.reduceat(wp, starts, axis=1)
    gn = np.add.reduceat(wn, starts, axis=1)
    below = np.cumsum(gn, axis=1) - gn
    with np.errstate(divide="ignore", invalid="ignore"):
        return (gp * (below + 0.5 * gn)).sum(axis=1) / (gp.sum(axis=1) * gn.sum(axis=1))


def _auc_weighted(p: Predictions, weights: np.ndarray) -> np.ndarray:
    import numpy as np

    assert p.proba is not None and p.true_codes is not None
    if _is_binary(p):
        assert p.classes is not None
        k = positive_index(p.classes)
        return _auc_binary(p.proba[:, k], p.true_codes == k, weights)
    present = np.unique(p.true_codes)
    per_class = [_auc_binary(p.proba[:, k], p.true_codes == k, weights) for k in present]
    return np.mean(per_class, axis=0)


def _errors(p: Predictions) -> np.ndarray:
    if "err" not in p._cache:
        p._cache["err"] = p.y_pred - p.y_true
    return p._cache["err"]


def _sq_stats(p: Predictions) -> np.ndarray:
    err = _errors(p)
    return (err * err)[:, None]


def _abs_stats(p: Predictions) -> np.ndarray:
    import numpy as np

    return np.abs(_errors(p))[:, None]


def _r2_stats(p: Predictions) -> np.ndarray:
    import numpy as np

    err = _errors(p)
    return np.column_stack([err * err, p.y_true, p.y_true * p.y_true])


def _rmse(sums: np.ndarray, weight: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.sqrt(sums[:, 0] / weight)


def _r2(sums: np.ndarray, weight: np.ndarray) -> np.ndarray:
    import numpy as np

    sse = sums[:, 0]
    sst = sums[:, 2] - sums[:, 1] ** 2 / weight
    sst = np.where(sst > 1e-12 * np.maximum(sums[:, 2], 1e-300), sst, 0.0)
    ok = sst > 0
    return np.where(ok, 1 - sse / np.where(ok, sst, 1.0), np.where(sse == 0, 1.0, 0.0))


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", "classification", True, False, _accuracy_stats, mean_of_rows),
        Metric("roc_auc", "classification", True, True, weighted=_auc_weighted, max_resamples=200),
        Metric("log_loss", "classification", False, True, _log_loss_stats, mean_of_rows),
        Metric("f1", "classification", True, False, _f1_stats, _f1_combine),
        Metric("ece", "classification", False, True, _ece_stats, _ece_combine, max_resamples=200),
        Metric("rmse", "regression", False, False, _sq_stats, _rmse),
        Metric("mae", "regression", False, False, _abs_stats, mean_of_rows),
        Metric("r2", "regression", True, False, _r2_stats, _r2),
    )
}
DEFAULTS: dict[Task, tuple[str, ...]] = {
    "classification": ("accuracy", "roc_auc", "log_loss", "f1", "ece"),
    "regression": ("rmse", "mae", "r2"),
}


def get_metric(name: str) -> Metric:
    try:
        return METRICS[name]
    except (KeyError, TypeError):
        known = ", ".join(METRICS)
        raise UnknownMetric(f"unknown metric {name!r}; known metrics: {known}") from None


def default_metrics(task: Task, has_proba: bool) -> tuple[str, ...]:
    return tuple(n for n in DEFAULTS[task] if has_proba or not METRICS[n].needs_proba)
