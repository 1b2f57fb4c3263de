"""Delayed labels: ground truth that arrives hours or days after the prediction, stored as
Parquet segments in the object store and registered beside the prediction log's segments (same
table, same model name, "version" 0, which no model version has: they start at 1), so they
survive restarts and any process reads them. Joined to the prediction log by request id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tether.monitoring.errors import BadLabels

if TYPE_CHECKING:
    from tether.workspace import Workspace

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
    digest = ws.objects.put_bytes(buf.getvalue()).digest
    from tether.serving.readback import LABELS

    ws.store.add_prediction_segment(
        ws.project, name, version=LABELS, start_time=now, end_time=now, rows=len(ids), digest=digest
    )
    return len(ids)


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
    import io

    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tether.errors import TetherError
    from tether.monitoring.served import _workspace
    from tether.serving.readback import LABELS

    ws = _workspace(workspace)
    tables = []
    for seg in ws.store.list_prediction_segments(ws.project, _log_name(model)):
        if seg.version != LABELS:
            continue
        try:
            tables.append(pq.read_table(io.BytesIO(ws.objects.get_bytes(seg.digest))))
        except TetherError as e:
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
    window: str = "1h",
    start: datetime | None = None,
    end: datetime | None = None,
    task: str = "classification",
    metric: str | None = None,
    record: bool = True,
    workspace: Workspace | None = None,
) -> Any:
    """Per-``window`` metrics of ``model``'s (a name) logged predictions with
    ``start <= time <= end`` that have labels, per model version, with the unlabelled share
    (``performance``). With ``record``, a ``monitor.performance`` audit event holds the
    latest window's ``metric`` (accuracy, or rmse for regression) as ``value``."""
    from tether.monitoring.scoring import performance
    from tether.monitoring.served import PERFORMANCE_EVENT, _workspace, parse_window
    from tether.serving.readback import predictions

    ws = _workspace(workspace)
    freq = parse_window(window)
    name = model.split("@", 1)[0]
    preds = predictions(name, start=start, end=end, workspace=ws)
    if not len(preds):
        from tether.monitoring.errors import EmptyWindow

        raise EmptyWindow(name, None, start, end)
    labels = read_labels(name, workspace=ws)
    preds = preds.drop_duplicates(["request_id"], keep="first")  # one row per request
    result = performance(
        preds,
        labels,
        task=task,
        time="time",
        window=f"{int(freq.total_seconds())}s",
        by=["version"],
    )
    metric = metric or ("accuracy" if task == "classification" else "rmse")
    if record:
        latest = result.iloc[-1] if len(result) else None
        value = None if latest is None or metric not in result.columns else latest[metric]
        ws.store.record_audit(
            actor="tether.monitoring",
            action=PERFORMANCE_EVENT,
            target=name,
            outcome="ok",
            project=ws.project,
            detail={
                "metric": metric,
                "value": None if value is None or value != value else float(value),
                "window": str(latest["window"]) if latest is not None else None,
                "version": int(latest["version"]) if latest is not None else None,
                "labelled": int(latest["labelled"]) if latest is not None else 0,
                "unlabelled": float(latest["unlabelled"]) if latest is not None else None,
                "unknown_labels": int(result.attrs.get("unknown_labels", 0)),
            },
        )
    return result
