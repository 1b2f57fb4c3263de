"""Delayed labels: ground truth that arrives hours or days after the prediction, stored as
Parquet segments in the object store and registered beside the prediction log's segments (same
table, same model name, "version" 0, which no model version has: they start at 1), so they
survive restarts and any process reads them. Joined to the prediction log by request id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tether.monitoring.errors import BadLabels

if TYPE_CHECKING:
    from tether.workspace import Workspace

log = logging.getLogger(__name__)
COLUMNS = ("request_id", "label")


def _log_name(model: str) -> str:
    from tether.errors import InvalidInput
    from tether.store.validate import entity_name

    try:
        entity_name("model name", model)
    except InvalidInput:
        raise BadLabels(
            f"{model!r} is not a model name; give the registered name, e.g. --model churn"
        ) from None
    return model


def log_labels(
    model: str,
    request_ids: Sequence[Any],
    labels: Sequence[Any],
    *,
    workspace: Workspace | None = None,
) -> int:
    """Store ``labels[i]`` as the ground truth of request ``request_ids[i]`` of ``model`` (a
    model name); a later label for the same request replaces an earlier one. Returns the count.
    Request ids the log does not know are stored too (their predictions may be in a segment not
    written yet) and counted by ``performance``."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from tether.monitoring.served import _workspace

    name = _log_name(model)
    ids = [str(r) for r in request_ids]
    values = list(labels)
    if len(ids) != len(values):
        raise BadLabels(
            f"{len(ids)} request ids but {len(values)} labels; give one label per request id"
        )
    if not ids:
        return 0
    if any(r in ("", "None", "nan") for r in ids):
        raise BadLabels("a request id is empty; every label needs the request id it answers")
    if any(v is None or v != v for v in values):
        raise BadLabels("a label is empty; leave unlabelled requests out instead")
    now = datetime.now(UTC)
    try:
        label_array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise BadLabels("labels mix types (numbers and text); give labels of one type") from None
    table = pa.table(
        {
            "request_id": pa.array(ids, pa.string()),
            "label": label_array,
            "time": pa.array([now] * len(ids), pa.timestamp("us", tz="UTC")),
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    ws = _workspace(workspace)
    classes = _known_classes(name, ws)
    if classes is not None:  # a classifier: every label must be one of its classes
        from tether.monitoring.scoring import check_labels

        check_labels(values, classes, what=name)
    digest = ws.objects.put_bytes(buf.getvalue()).digest
    from tether.serving.readback import LABELS

    ws.store.add_prediction_segment(
        ws.project, name, version=LABELS, start_time=now, end_time=now, rows=len(ids), digest=digest
    )
    return len(ids)


def _known_classes(model: str, ws: Workspace) -> list[Any] | None:
    """The classes of ``model``'s versions that logged predictions (else of every registered
    version), together; None when none of them is a classifier that can be loaded."""
    from tether.errors import TetherError
    from tether.serving.readback import LABELS

    versions = {s.version for s in ws.store.list_prediction_segments(ws.project, model)} - {LABELS}
    if not versions:
        try:
            versions = {v.version for v in ws.store.list_model_versions(ws.project, model)}
        except TetherError:  # no such model: labels are kept, as unknown requests are
            return None
    found: list[Any] = []
    for version in sorted(versions):
        loaded = _load(f"{model}@{int(version)}", ws, "labels cannot be checked")
        classes = getattr(loaded, "classes_", None) if loaded is not None else None
        if classes is not None:
            found += [c for c in _plain(classes) if c not in found]
    return found or None


def _load(ref: str, ws: Workspace, what: str) -> Any:
    """The loaded model version ``ref``; None (with a warning) where it cannot be loaded."""
    from tether.errors import TetherError
    from tether.models.fetch import load

    try:
        return load(ref, workspace=ws)
    except TetherError as e:  # e.g. a pickle the workspace does not trust
        log.warning("%s for %s: the model cannot be loaded: %s", what, ref, e)
        return None


def read_label_file(path: str | Path) -> tuple[list[Any], list[Any]]:
    """``(request_ids, labels)`` from a CSV or Parquet file with ``request_id`` and ``label``
    columns."""
    import pandas as pd

    p = Path(path)
    try:
        if p.suffix.lower() == ".parquet":
            frame = pd.read_parquet(p)
        elif p.suffix.lower() == ".csv":
            frame = pd.read_csv(p, dtype={"request_id": str})
        else:
            raise BadLabels(f"{p}: a label file is .csv or .parquet, not {p.suffix or 'no suffix'}")
    except BadLabels:
        raise
    except FileNotFoundError:
        raise BadLabels(f"{p}: no such file") from None
    except Exception as e:  # pandas/pyarrow parse errors of many kinds
        raise BadLabels(f"{p}: cannot be read as {p.suffix[1:]}: {e}") from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise BadLabels(
            f"{p} has no column {', '.join(missing)} (it has {', '.join(map(str, frame.columns))});"
            " a label file needs the columns request_id and label"
        )
    return frame["request_id"].tolist(), frame["label"].tolist()


def read_labels(model: str, *, workspace: Workspace | None = None) -> Any:
    """Every label stored for ``model`` (a DataFrame: request_id, label, time), oldest first."""
    import pandas as pd
    import pyarrow as pa

    from tether.errors import TetherError
    from tether.monitoring.served import _workspace
    from tether.serving.readback import LABELS
    from tether.serving.segments import read_segment

    ws = _workspace(workspace)
    tables = []
    for seg in ws.store.list_prediction_segments(ws.project, _log_name(model)):
        if seg.version != LABELS:
            continue
        try:
            tables.append(read_segment(ws.objects.get_bytes(seg.digest)))
        except (TetherError, pa.ArrowException) as e:
            raise BadLabels(
                f"label segment {seg.digest} of {model!r} cannot be read: {e}"
            ) from None
    if not tables:
        return pd.DataFrame(columns=["request_id", "label", "time"])
    frame = pa.concat_tables(tables, promote_options="permissive").to_pandas()
    return frame.sort_values("time", kind="stable").reset_index(drop=True)


def model_performance(
    model: str,
    *,
    window: str | None = "1h",
    start: datetime | None = None,
    end: datetime | None = None,
    task: str = "classification",
    metric: str | None = None,
    slices: Sequence[str] | None = None,
    estimate: bool = True,
    proba: str | None = None,
    positive: Any = None,
    record: bool = True,
    workspace: Workspace | None = None,
) -> Any:
    """Per-``window`` metrics of ``model``'s (a name) logged predictions with
    ``start <= time <= end`` that have labels, per model version, with the unlabelled share
    (``performance``). ``window=None``: one row per version for the whole range (its
    ``window`` is the first prediction's time).

    Classification is scored against each version's ``classes_`` (as evaluation): a binary
    model gets the precision, recall and F1 of its positive class, ``positive`` or else its
    second class ``classes_[1]`` (``attrs["positive"]``: version -> class); a multiclass
    model gets macro averages (``attrs["macro"]``: its versions). A label that is not one of
    the model's classes is a ``BadLabels`` error.

    ``slices``: predicates over the logged inputs (``"country == 'DE'"``, the grammar of
    ``tether.models.evaluate``; an input ``input_X`` of the log is the column ``X``): the
    table then has a ``slice`` column, ``all`` for every prediction, and the rows of each slice.

    ``estimate`` (classification): the predictions still unlabelled are scored by CBPE from the
    model's own probabilities (``estimate``): the columns ``estimated_accuracy``,
    ``estimated_precision``, ``estimated_recall``, ``estimated_f1`` and ``estimated_rows``, an
    estimate, not a measurement, of the same positive class (or macro averages). The
    probabilities are the log's column ``proba`` when given (the positive class's), else what
    each version's ``predict_proba`` gives on the logged inputs. Where there is no estimate
    (regression, a model with no ``predict_proba``), ``attrs["no_estimate"]`` says why.

    With ``record``, a ``monitor.performance`` audit event holds the latest window's ``metric``
    (accuracy, or rmse for regression) as ``value`` (the measured one, over every prediction),
    and its estimate as ``estimated`` where there is one."""
    from tether.monitoring.served import PERFORMANCE_EVENT, _workspace, parse_window
    from tether.serving.readback import predictions

    ws = _workspace(workspace)
    freq = "1s" if window is None else f"{int(parse_window(window).total_seconds())}s"
    name = model.split("@", 1)[0]
    preds = predictions(name, start=start, end=end, workspace=ws)
    if not len(preds):
        from tether.monitoring.errors import EmptyWindow

        raise EmptyWindow(name, None, start, end)
    if window is None:  # one bucket: every row at the first one's time
        preds = preds.assign(time=preds["time"].min())
    labels = read_labels(name, workspace=ws)
    preds = preds.drop_duplicates(["request_id"], keep="first")  # one row per request
    versions = [_Version(name, int(v), task, ws) for v in sorted(set(preds["version"].tolist()))]
    _slices(slices)  # a slice that does not parse: an error before any model runs
    why_not: list[str] = []
    if task == "classification":
        preds, why_not = _with_probabilities(preds, versions, proba, positive)
    parts = [("all", preds)] + [
        (s.name, preds[s.mask(_by_input_name(preds))]) for s in _slices(slices)
    ]
    tables = []
    for slice_name, rows in parts:
        per_version = []
        for v in versions:
            mine = rows[rows["version"] == v.version]
            table = v.performance(mine, labels, freq, positive)
            if estimate and task == "classification" and len(table):
                table = _with_estimate(table, mine, labels, v, freq, positive)
            per_version.append(table)
        table = _concat(per_version)
        if len(table):
            table = table.sort_values(["window", "version"], kind="stable", ignore_index=True)
        if slices:
            table.insert(1, "slice", slice_name)
        tables.append(table)
    result = _concat(tables)
    if estimate and task != "classification":
        why_not.append(f"no estimate for task {task!r}: CBPE estimates classification only")
    known = labels.drop_duplicates("request_id")["request_id"]
    result.attrs = {"unknown_labels": int((~known.isin(preds["request_id"])).sum())}
    result.attrs["positive"] = {v.version: v.positive for v in versions if v.positive is not None}
    result.attrs["macro"] = [v.version for v in versions if v.macro]
    if why_not and estimate:
        result.attrs["no_estimate"] = "; ".join(why_not)
    metric = metric or ("accuracy" if task == "classification" else "rmse")
    if record:
        overall = tables[0]
        latest = overall.iloc[-1] if len(overall) else None
        value = None if latest is None or metric not in overall.columns else latest[metric]
        guess = None
        if latest is not None and f"estimated_{metric}" in overall.columns:
            guess = latest[f"estimated_{metric}"]
        ws.store.record_audit(
            actor="tether.monitoring",
            action=PERFORMANCE_EVENT,
            target=name,
            outcome="ok",
            project=ws.project,
            detail={
                "metric": metric,
                "value": _number(value),
                "estimated": _number(guess),
                "window": str(latest["window"]) if latest is not None else None,
                "version": int(latest["version"]) if latest is not None else None,
                "labelled": int(latest["labelled"]) if latest is not None else 0,
                "unlabelled": float(latest["unlabelled"]) if latest is not None else None,
                "unknown_labels": int(result.attrs.get("unknown_labels", 0)),
                "positive": None
                if latest is None
                else result.attrs["positive"].get(int(latest["version"])),
            },
        )
    return result


def _plain(classes: Any) -> list[Any]:
    """A model's ``classes_`` as Python values (JSON-ready: ``"yes"``, ``5``, ``True``)."""
    import numpy as np

    return list(np.asarray(classes).tolist())


class _Version:
    """One logged model version: its classes (loaded once, for classification) and how it is
    scored."""

    def __init__(self, model: str, version: int, task: str, ws: Workspace) -> None:
        self.model, self.version, self.task = model, version, task
        self.ref = f"{model}@{version}"
        self.loaded = _load(self.ref, ws, "no classes") if task == "classification" else None
        classes = getattr(self.loaded, "classes_", None)
        self.classes = None if classes is None else _plain(classes)
        self.positive: Any = None
        self.macro = False
        self.columns: list[str] | None = None  # its probabilities in the log, per class
        self.column: str | None = None  # or only the positive class's (--proba, no classes)

    def performance(self, rows: Any, labels: Any, freq: str, positive: Any) -> Any:
        from tether.monitoring.scoring import performance

        table = performance(
            rows, labels, task=self.task, time="time", window=freq, by=["version"],
            positive=positive, classes=self.classes, proba=self.columns,
        )  # fmt: skip
        if "positive" in table.attrs:
            self.positive = table.attrs["positive"]
        self.macro = self.macro or table.attrs.get("average") == "macro"
        return table


ESTIMATED = ("accuracy", "precision", "recall", "f1", "roc_auc")


def _number(value: Any) -> float | None:
    return None if value is None or value != value else float(value)


def _slices(slices: Sequence[str] | None) -> list[Any]:
    from tether.models.slices import parse_slice

    if isinstance(slices, str):
        slices = [slices]
    return [parse_slice(s) for s in slices or ()]


def _by_input_name(preds: Any) -> Any:
    """The log with each input ``input_X`` also under its own name ``X`` (for slices)."""
    from tether.monitoring.served import INPUT

    extra = {
        c[len(INPUT) :]: preds[c]
        for c in preds.columns
        if c.startswith(INPUT) and c[len(INPUT) :] not in preds.columns
    }
    return preds.assign(**extra) if extra else preds


def _concat(tables: list[Any]) -> Any:
    import pandas as pd

    kept = [t for t in tables if len(t)]
    if not kept:
        return tables[0]
    return pd.concat(kept, ignore_index=True) if len(kept) > 1 else kept[0]


def _with_probabilities(
    preds: Any, versions: list[_Version], proba: str | None, positive: Any
) -> tuple[Any, list[str]]:
    """``preds`` with each version's probabilities per class as columns ``_p0``, ``_p1``...
    (for the measured ROC AUC and the estimate): the log's column ``proba`` (the positive
    class's) when given, else the version's ``predict_proba`` on the logged inputs; and why a
    version has none."""
    import numpy as np

    from tether.monitoring.errors import BadSetting
    from tether.monitoring.scoring import resolve_positive

    if proba is not None and proba not in preds.columns:
        shown = ", ".join(map(str, preds.columns))
        raise BadSetting(
            f"the prediction log of {versions[0].model} has no column {proba!r} ({shown})"
        )
    width = max((len(v.classes) for v in versions if v.classes), default=0)
    extra = {f"_p{i}": np.full(len(preds), np.nan) for i in range(max(width, 2))}
    extra["_pp"] = np.full(len(preds), np.nan)
    why_not = []
    for v in versions:
        mask = (preds["version"] == v.version).to_numpy()
        if proba is not None:
            p = preds.loc[mask, proba].to_numpy(dtype=float)
            k = resolve_positive(v.classes, positive) if v.classes else None
            if v.classes and len(v.classes) == 2 and k is not None:
                extra[f"_p{k}"][mask], extra[f"_p{1 - k}"][mask] = p, 1 - p
                v.columns = ["_p0", "_p1"]
            extra["_pp"][mask] = p
            v.column = "_pp"
            continue
        p, why = _model_probabilities(preds[mask], v)
        if p is None:
            why_not.append(why)
            continue
        for i in range(p.shape[1]):
            extra[f"_p{i}"][mask] = p[:, i]
        v.columns = [f"_p{i}" for i in range(p.shape[1])]
    return preds.assign(**extra), [w for w in why_not if w]


def _with_estimate(
    table: Any, rows: Any, labels: Any, v: _Version, freq: str, positive: Any
) -> Any:
    """``table`` with the CBPE estimate of each window's unlabelled rows of version ``v``, of
    the positive class the measured metrics use (macro averages for a multiclass model)."""
    from tether.monitoring.scoring import estimate, resolve_positive

    unlabelled = rows[~rows["request_id"].isin(labels["request_id"])]
    if not len(unlabelled) or (v.columns is None and v.column is None):
        return table
    columns: str | list[str]
    if v.column is not None:  # the log's column: the positive class's probability
        columns = v.column
    else:
        assert v.columns is not None and v.classes is not None
        k = resolve_positive(v.classes, positive)
        columns = v.columns if k is None else v.columns[k]
    frame = unlabelled[["time", "version", *([columns] if isinstance(columns, str) else columns)]]
    guess = estimate(frame, proba=columns, time="time", window=freq, by=["version"])
    guess = guess.rename(
        columns={"predictions": "estimated_rows", **{m: f"estimated_{m}" for m in ESTIMATED}}
    ).drop(columns=["estimated"])
    out = table.merge(guess, on=["window", "version"], how="left")
    out["estimated_rows"] = out["estimated_rows"].fillna(0).astype(int)
    out.attrs = dict(table.attrs)
    return out


def _model_probabilities(rows: Any, v: _Version) -> tuple[Any, str | None]:
    """Version ``v``'s ``predict_proba`` on the logged inputs (rows x classes), or None and
    why not (a model that cannot be loaded, has no ``predict_proba`` or no ``classes_``)."""
    import numpy as np

    from tether.errors import TetherError
    from tether.monitoring.served import INPUT

    loaded = v.loaded
    if loaded is None:
        return None, f"no estimate for {v.ref}: the model cannot be loaded"
    if not callable(getattr(loaded, "predict_proba", None)) or v.classes is None:
        return None, f"no estimate for {v.ref}: it is not a classifier with predict_proba"
    inputs = rows[[c for c in rows.columns if c.startswith(INPUT)]]
    inputs = inputs.rename(columns=lambda c: c[len(INPUT) :])
    sig = loaded.meta.signature
    kind = sig.inputs.kind if sig is not None else "dataframe"
    if sig is not None and sig.inputs.names():
        inputs = inputs[[n for n in sig.inputs.names() if n in inputs.columns]]
    if kind == "ndarray":  # logged as input_0, input_1, ...
        names = sorted(inputs.columns, key=lambda c: (len(c), c))
        inputs = inputs[names].to_numpy()
    elif kind == "arrow":
        import pyarrow as pa

        inputs = pa.Table.from_pandas(inputs, preserve_index=False)
    elif kind == "dict":
        inputs = {c: inputs[c].to_numpy() for c in inputs.columns}
    try:
        p = np.asarray(loaded.predict_proba(inputs), dtype=float)
    except (TetherError, ValueError, TypeError, KeyError) as e:  # inputs it no longer takes
        log.warning("no performance estimate for %s: predict_proba failed: %s", v.ref, e)
        return None, f"no estimate for {v.ref}: predict_proba failed on the logged inputs"
    if p.ndim != 2 or p.shape != (len(rows), len(v.classes)):
        return None, f"no estimate for {v.ref}: predict_proba gave shape {p.shape}"
    return p, None
