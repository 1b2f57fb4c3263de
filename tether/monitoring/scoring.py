"""Performance per window once labels arrive, and an estimate before they do.

``performance`` joins predictions to labels by request id and computes the task's metrics per
time window (and per model version or slice), with the share of predictions still unlabelled.
``estimate`` is confidence-based performance estimation (CBPE, as in NannyML): for a binary
classifier whose probabilities are calibrated, the expected confusion matrix follows from the
probabilities alone, so accuracy, precision, recall and F1 can be estimated with no label.
Both return a pandas DataFrame, one row per window (and group).
"""

from __future__ import annotations

from typing import Any

from tether.monitoring.errors import BadSetting, UnknownColumn

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
    positive: Any = 1,
) -> Any:
    """Metrics per ``window`` (a pandas frequency: ``"1h"``, ``"1D"``) of the predictions that
    have a label, and ``unlabelled``: the share of the window's predictions with none yet.
    A label whose request id matches no prediction is ignored and counted in
    ``DataFrame.attrs["unknown_labels"]``."""
    import numpy as np
    import pandas as pd

    if task not in TASKS:
        raise BadSetting(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    preds = _frame(predictions, "predictions")
    labs = _frame(labels, "labels")
    by = list(by or [])
    _need(preds, [request_id, prediction, time, *by], "predictions")
    _need(labs, [request_id, label], "labels")
    labs = labs.drop_duplicates(request_id, keep="last")[[request_id, label]]
    unknown = int((~labs[request_id].isin(preds[request_id])).sum())
    df = preds.merge(labs, on=request_id, how="left", suffixes=("", "_label"))
    lab_col = label if label != prediction else f"{label}_label"
    df["_window"] = pd.to_datetime(df[time], utc=True).dt.floor(window)
    rows = []
    for key, g in df.groupby(["_window", *by], sort=True):
        keys = key if isinstance(key, tuple) else (key,)
        known = g[g[lab_col].notna()]
        row: dict[str, Any] = {"window": keys[0], **dict(zip(by, keys[1:], strict=True))}
        row |= {"predictions": len(g), "labelled": len(known),
                "unlabelled": 1 - len(known) / len(g)}  # fmt: skip
        if task == "classification":
            if len(known):
                y = known[lab_col].to_numpy() == positive
                p = known[prediction].to_numpy() == positive
                row |= _binary_metrics(y, p)
        elif len(known):
            err = known[prediction].astype(float) - known[lab_col].astype(float)
            row |= {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err**2)))}
        rows.append(row)
    base = ["window", *by, "predictions", "labelled", "unlabelled"]
    out = pd.DataFrame(rows) if rows else pd.DataFrame(columns=base)  # an empty window
    out.attrs["unknown_labels"] = unknown
    return out


def estimate(
    predictions: Any,
    *,
    proba: str = "proba",
    time: str = "timestamp",
    window: str = "1h",
    threshold: float = 0.5,
    by: list[str] | None = None,
) -> Any:
    """CBPE: accuracy, precision, recall and F1 of a binary classifier per window, estimated
    from its probabilities of the positive class (``proba``), assumed calibrated. Every row is
    marked ``estimated=True``: an estimate, not a measurement."""
    import numpy as np
    import pandas as pd

    if not 0 < threshold < 1:
        raise BadSetting(f"threshold must be between 0 and 1, not {threshold}")
    df = _frame(predictions, "predictions")
    by = list(by or [])
    _need(df, [proba, time, *by], "predictions")
    df["_window"] = pd.to_datetime(df[time], utc=True).dt.floor(window)
    rows = []
    for key, g in df.groupby(["_window", *by], sort=True):
        keys = key if isinstance(key, tuple) else (key,)
        p = np.clip(g[proba].to_numpy(dtype=float), 0.0, 1.0)
        positive = p >= threshold
        # expected confusion matrix: a prediction of probability p is right with chance p
        # when called positive, 1 - p when called negative
        tp, fp = float(p[positive].sum()), float((1 - p[positive]).sum())
        fn, tn = float(p[~positive].sum()), float((1 - p[~positive]).sum())
        row: dict[str, Any] = {"window": keys[0], **dict(zip(by, keys[1:], strict=True))}
        rows.append({**row, "predictions": len(g), **_from_confusion(tp, fp, fn, tn),
                     "estimated": True})  # fmt: skip
    empty = ["window", *by, "predictions", "accuracy", "precision", "recall", "f1", "estimated"]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=empty)
