"""Performance per window once labels arrive, and an estimate before they do.

``performance`` joins predictions to labels by request id and computes the task's metrics per
time window (and per model version or slice), with the share of predictions still unlabelled.
``estimate`` is confidence-based performance estimation (CBPE, as in NannyML): for a classifier
whose probabilities are calibrated, the expected confusion matrix follows from the
probabilities alone, so accuracy, precision, recall and F1 (macro averages for more than two
classes) can be estimated with no label.
Both return a pandas DataFrame, one row per window (and group).
"""

from __future__ import annotations

from typing import Any

from tether.monitoring.errors import BadLabels, BadSetting, UnknownColumn

TASKS = ("classification", "regression")


def _frame(obj: Any, what: str) -> Any:
    from tether.monitoring.tables import read_table

    return read_table(obj, what).read_all().to_pandas()


def _need(df: Any, columns: list[str], what: str) -> None:
    for c in columns:
        if c not in df.columns:
            raise UnknownColumn(c, [f"{what}: {n}" for n in df.columns])


def _binary_metrics(y: Any, p: Any) -> dict[str, float]:
    import numpy as np

    y, p = np.asarray(y, dtype=bool), np.asarray(p, dtype=bool)
    tp, fp = float(np.sum(y & p)), float(np.sum(~y & p))
    fn, tn = float(np.sum(y & ~p)), float(np.sum(~y & ~p))
    return _from_confusion(tp, fp, fn, tn)


def _from_confusion(tp: float, fp: float, fn: float, tn: float) -> dict[str, float]:
    n = tp + fp + fn + tn
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    return {"accuracy": (tp + tn) / n if n else float("nan"), "precision": precision,
            "recall": recall, "f1": f1}  # fmt: skip


def _macro(tp: Any, fp: Any, fn: Any) -> dict[str, float]:
    """Macro precision, recall and F1 from per-class counts (arrays; expected counts for the
    estimate): the mean over the classes of each class's figure, 0 where its denominator is 0
    (as scikit-learn's ``average="macro"``)."""
    import numpy as np

    def ratio(num: Any, den: Any) -> float:
        num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
        return float(np.mean(np.divide(num, den, out=np.zeros_like(num), where=den > 0)))

    return {"precision": ratio(tp, tp + fp), "recall": ratio(tp, tp + fn),
            "f1": ratio(2 * tp, 2 * tp + fp + fn)}  # fmt: skip


def _multiclass_metrics(t: Any, q: Any) -> dict[str, float]:
    """Accuracy and macro precision, recall and F1 of true codes ``t`` and predicted codes
    ``q``, over the classes present in either (as scikit-learn and evaluation do)."""
    import numpy as np

    present = np.unique(np.concatenate([t, q]))
    present = present[present >= 0]
    tt, qq = t[:, None] == present[None, :], q[:, None] == present[None, :]
    tp, fp, fn = (tt & qq).sum(0), (~tt & qq).sum(0), (tt & ~qq).sum(0)
    return {"accuracy": float(np.mean((t == q) & (t >= 0))), **_macro(tp, fp, fn)}


def _roc_auc(known: Any, label: str, prediction: str, proba: list[str], classes: Any) -> float:
    """ROC AUC of the labelled rows by evaluation's own metric (``tether.models.metrics``)."""
    import numpy as np

    from tether.models.metrics import METRICS, classification

    p = known[proba].to_numpy(dtype=float)
    if np.isnan(p).any():
        return float("nan")
    scored = classification(
        np.asarray(known[label].tolist(), dtype=object),
        np.asarray(known[prediction].tolist(), dtype=object),
        p,
        np.asarray(list(classes), dtype=object),
    )
    return METRICS["roc_auc"].compute(scored)


def class_list(labels: Any, predictions: Any, classes: Any, positive: Any) -> Any:
    """The classes to score against: the model's ``classes_`` when given, else (no model) the
    sorted labels and predictions seen, ``positive`` included (evaluation's convention)."""
    import numpy as np

    if classes is not None:
        return np.asarray(classes)
    seen = [*labels, *predictions]
    if positive is not None and not any(v == positive or str(v) == positive for v in set(seen)):
        seen.append(positive)
    try:
        return np.asarray(sorted(set(seen)))
    except TypeError:  # labels of mixed types: refused by the model's classes anyway
        return np.asarray(sorted(set(seen), key=repr), dtype=object)


def check_labels(labels: Any, classes: Any, what: str = "the model") -> None:
    """``BadLabels`` naming the labels that are not among ``classes``."""
    import numpy as np

    from tether.models.metrics import encode

    values = np.asarray(list(labels), dtype=object)
    if not len(values):
        return
    listed = np.asarray(classes).tolist()  # Python values: 'yes', 5, not np.str_('yes')
    bad = values[encode(values, np.asarray(listed, dtype=object)) < 0]
    if len(bad):
        shown = ", ".join(sorted({repr(v) for v in bad.tolist()})[:10])
        known = ", ".join(repr(c) for c in listed[:20])
        raise BadLabels(
            f"label {shown} is not one of the classes of {what} ({known}); give labels the "
            "model predicts (same spelling and type)"
        )


def resolve_positive(classes: Any, positive: Any) -> int | None:
    """The positive class's index in ``classes`` for a binary task (``positive_index``, as
    evaluation), None for a multiclass one (macro averages; ``positive`` refused there)."""
    from tether.models.errors import InvalidData
    from tether.models.metrics import positive_index

    if len(classes) < 2 and positive is None:
        return None  # one class seen and no model: accuracy only
    if len(classes) > 2 and positive is None:
        return None
    try:
        return positive_index(classes, positive)
    except InvalidData as e:
        raise BadSetting(str(e)) from None


def performance(
    predictions: Any,
    labels: Any,
    *,
    task: str = "classification",
    request_id: str = "request_id",
    prediction: str = "prediction",
    label: str = "label",
    time: str = "timestamp",
    window: str = "1h",
    by: list[str] | None = None,
    positive: Any = None,
    classes: Any = None,
    proba: list[str] | None = None,
) -> Any:
    """Metrics per ``window`` (a pandas frequency: ``"1h"``, ``"1D"``) of the predictions that
    have a label, and ``unlabelled``: the share of the window's predictions with none yet.
    A label whose request id matches no prediction is ignored and counted in
    ``DataFrame.attrs["unknown_labels"]``.

    Classification is scored against ``classes``, the model's ``classes_`` (else the sorted
    labels and predictions seen): a binary task gets the precision, recall and F1 of its
    positive class, ``positive`` or else ``classes[1]`` (as evaluation and scikit-learn), kept
    in ``attrs["positive"]``; more classes get macro averages (``attrs["average"] = "macro"``).
    A label that is not one of the model's classes is a ``BadLabels`` error. ``proba``, with
    ``classes``: the columns of the model's probability of each class (in its order), adding
    ``roc_auc`` as evaluation computes it (one-vs-rest macro average for more classes)."""
    import numpy as np
    import pandas as pd

    if task not in TASKS:
        raise BadSetting(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    preds = _frame(predictions, "predictions")
    labs = _frame(labels, "labels")
    by = list(by or [])
    if proba is not None and (classes is None or len(proba) != len(classes)):
        raise BadSetting("proba= needs classes= and one probability column per class")
    _need(preds, [request_id, prediction, time, *by, *(proba or [])], "predictions")
    _need(labs, [request_id, label], "labels")
    labs = labs.drop_duplicates(request_id, keep="last")[[request_id, label]]
    unknown = int((~labs[request_id].isin(preds[request_id])).sum())
    df = preds.merge(labs, on=request_id, how="left", suffixes=("", "_label"))
    lab_col = label if label != prediction else f"{label}_label"
    df["_window"] = pd.to_datetime(df[time], utc=True).dt.floor(window)
    attrs: dict[str, Any] = {}
    if task == "classification":
        from tether.models.metrics import encode

        seen = df[df[lab_col].notna()]
        if classes is not None:
            check_labels(seen[lab_col].tolist(), classes)
        cls = class_list(seen[lab_col].tolist(), seen[prediction].tolist(), classes, positive)
        cls = np.asarray(cls.tolist(), dtype=object)
        k = resolve_positive(cls, positive)
        if k is None:
            attrs["average"] = "macro"
        else:
            attrs["positive"] = cls.tolist()[k]
        df["_t"] = -1
        df.loc[seen.index, "_t"] = encode(np.asarray(seen[lab_col].tolist(), dtype=object), cls)
        df["_q"] = encode(np.asarray(df[prediction].tolist(), dtype=object), cls)
    rows = []
    for key, g in df.groupby(["_window", *by], sort=True):
        keys = key if isinstance(key, tuple) else (key,)
        known = g[g[lab_col].notna()]
        row: dict[str, Any] = {"window": keys[0], **dict(zip(by, keys[1:], strict=True))}
        row |= {"predictions": len(g), "labelled": len(known),
                "unlabelled": 1 - len(known) / len(g)}  # fmt: skip
        if task == "classification":
            if len(known):
                t, q = known["_t"].to_numpy(), known["_q"].to_numpy()
                if k is None:
                    row |= _multiclass_metrics(t, q)
                else:
                    row |= _binary_metrics(t == k, q == k)
                    row["accuracy"] = float(np.mean((t == q) & (t >= 0)))
                if proba is not None:
                    row["roc_auc"] = _roc_auc(known, lab_col, prediction, proba, cls)
        elif len(known):
            err = known[prediction].astype(float) - known[lab_col].astype(float)
            row |= {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err**2)))}
        rows.append(row)
    base = ["window", *by, "predictions", "labelled", "unlabelled"]
    out = pd.DataFrame(rows) if rows else pd.DataFrame(columns=base)  # an empty window
    out.attrs["unknown_labels"] = unknown
    out.attrs.update(attrs)
    return out


def estimate(
    predictions: Any,
    *,
    proba: str | list[str] = "proba",
    time: str = "timestamp",
    window: str = "1h",
    threshold: float = 0.5,
    by: list[str] | None = None,
) -> Any:
    """CBPE: accuracy, precision, recall, F1 and ROC AUC per window, estimated from the model's
    probabilities, assumed calibrated. Every row is marked ``estimated=True``: an estimate, not
    a measurement.

    Binary: ``proba`` names the column of the positive class's probability; a row is called
    positive when it reaches ``threshold``. Multiclass: ``proba`` lists one column per class
    (in the model's class order); the predicted class is the most probable one, accuracy is
    the mean of the highest probability, and precision, recall and F1 are macro averages over
    the classes of the expected confusion matrix (as NannyML's CBPE), ROC AUC the mean of each
    class's against the rest."""
    import pandas as pd

    if not 0 < threshold < 1:
        raise BadSetting(f"threshold must be between 0 and 1, not {threshold}")
    columns = [proba] if isinstance(proba, str) else list(proba)
    if not isinstance(proba, str) and len(columns) < 2:
        raise BadSetting("a multiclass estimate needs one probability column per class")
    df = _frame(predictions, "predictions")
    by = list(by or [])
    _need(df, [*columns, time, *by], "predictions")
    df["_window"] = pd.to_datetime(df[time], utc=True).dt.floor(window)
    rows = []
    for key, g in df.groupby(["_window", *by], sort=True):
        keys = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = {"window": keys[0], **dict(zip(by, keys[1:], strict=True))}
        if isinstance(proba, str):
            scores = _binary_estimate(g[proba].to_numpy(dtype=float), threshold)
        else:
            scores = _multiclass_estimate(g[columns].to_numpy(dtype=float))
        rows.append({**row, "predictions": len(g), **scores, "estimated": True})
    empty = ["window", *by, "predictions", "accuracy", "precision", "recall", "f1", "roc_auc",
             "estimated"]  # fmt: skip
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=empty)


def _binary_estimate(p: Any, threshold: float) -> dict[str, float]:
    import numpy as np

    p = np.clip(p, 0.0, 1.0)
    positive = p >= threshold
    # expected confusion matrix: a prediction of probability p is right with chance p
    # when called positive, 1 - p when called negative
    tp, fp = float(p[positive].sum()), float((1 - p[positive]).sum())
    fn, tn = float(p[~positive].sum()), float((1 - p[~positive]).sum())
    return {**_from_confusion(tp, fp, fn, tn), "roc_auc": _expected_roc_auc(p)}


def _expected_roc_auc(p: Any) -> float:
    """The ROC AUC that calibrated probabilities ``p`` (of the positive class) imply: at each
    threshold, the expected true positives are the sum of ``p`` over the rows called positive
    and the expected false positives the sum of ``1 - p``; NaN when no row can be positive, or
    none negative."""
    import numpy as np

    p = np.sort(np.clip(p, 0.0, 1.0))[::-1]
    positives, negatives = float(p.sum()), float((1 - p).sum())
    if positives <= 0 or negatives <= 0:
        return float("nan")
    last = np.append(np.flatnonzero(np.diff(p)), len(p) - 1)  # one threshold per distinct p
    tpr = np.concatenate([[0.0], np.cumsum(p)[last] / positives])
    fpr = np.concatenate([[0.0], np.cumsum(1 - p)[last] / negatives])
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def _multiclass_estimate(p: Any) -> dict[str, float]:
    """Expected confusion per class k over rows predicted k (the most probable class): TP is
    the sum of p_k, FP the sum of 1 - p_k; FN is the sum of p_k over the other rows."""
    import numpy as np

    p = np.clip(p, 0.0, 1.0)
    called = p.argmax(axis=1)[:, None] == np.arange(p.shape[1])[None, :]
    tp = np.where(called, p, 0.0).sum(axis=0)
    fp = np.where(called, 1 - p, 0.0).sum(axis=0)
    fn = np.where(called, 0.0, p).sum(axis=0)
    seen = tp + fp + fn > 0  # a class of probability 0 everywhere, never called: left out
    tp, fp, fn = tp[seen], fp[seen], fn[seen]
    aucs = [_expected_roc_auc(p[:, k]) for k in np.flatnonzero(seen)]  # one class against the rest
    auc = float(np.nanmean(aucs)) if not np.all(np.isnan(aucs)) else float("nan")
    return {"accuracy": float(p.max(axis=1).mean()), **_macro(tp, fp, fn), "roc_auc": auc}
