"""``predictions(name, start=, end=)``: a served model's prediction log as a DataFrame."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from tether.errors import TetherError
from tether.serving.errors import ServingError

LABELS = 0  # the segment "version" of a model's delayed labels; model versions start at 1

if TYPE_CHECKING:
    from tether.workspace import Workspace


def predictions(
    name: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    workspace: Workspace | None = None,
) -> Any:
    """Rows logged for model ``name`` with ``start <= time <= end`` (both optional, aware
    datetimes), oldest first, from every segment any server or worker wrote."""
    import pandas as pd
    import pyarrow as pa

    from tether.serving.segments import read_segment
    from tether.workspace import Workspace

    ws = workspace if workspace is not None else Workspace()
    tables = []
    for seg in ws.store.list_prediction_segments(ws.project, name, start=start, end=end):
        if seg.version == LABELS:  # delayed labels (tether.monitoring.labels), not predictions
            continue
        try:
            tables.append(read_segment(ws.objects.get_bytes(seg.digest)))
        except (TetherError, pa.ArrowException) as e:
            raise ServingError(
                f"prediction log segment {seg.digest} of {name!r} cannot be read: {e}"
            ) from None
    if not tables:
        return pd.DataFrame(columns=["request_id", "time", "version", "latency_ms", "row"])
    frame = pa.concat_tables(tables, promote_options="permissive").to_pandas()
    frame["request_id"] = frame["request_id"].astype(str)  # stored dictionary-encoded
    mask = pd.Series(True, index=frame.index)
    if start is not None:
        mask &= frame["time"] >= start
    if end is not None:
        mask &= frame["time"] <= end
    frame = frame[mask].sort_values(["time", "request_id", "row"], kind="stable")
    return frame.reset_index(drop=True)
