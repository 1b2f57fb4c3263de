"""Monitoring a served model: its training data (found through lineage) against a window of its
prediction log, with the result recorded as a ``monitor.drift`` audit event that the
continuous-training loop's drift trigger reads (tether/automation/signals.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tether.monitoring.errors import BadSetting, EmptyWindow, NoTrainingData

if TYPE_CHECKING:
    from tether.monitoring.report import DriftReport
    from tether.workspace import Workspace

DRIFT_EVENT = "monitor.drift"
PERFORMANCE_EVENT = "monitor.performance"
INPUT = "input_"


def parse_window(window: str | timedelta) -> timedelta:
    """``"1h"``, ``"30min"``, ``"2D"`` (pandas' spelling) or a timedelta; positive."""
    if isinstance(window, timedelta):
        span = window
    else:
        import pandas as pd

        bad = BadSetting(f"window {window!r} is not a duration; write it as 30min, 1h or 2D")
        try:
            parsed = pd.Timedelta(str(window))
        except (ValueError, TypeError):
            raise bad from None
        if parsed is pd.NaT:
            raise bad
        span = parsed.to_pytimedelta()
    if span <= timedelta(0):
        raise BadSetting(f"window {window!r} must be longer than zero; write it as 1h or 2D")
    return span


def _workspace(workspace: Workspace | None) -> Workspace:
    from tether.workspace import Workspace

    return workspace if workspace is not None else Workspace()


def served_version(ref: str, ws: Workspace) -> Any:
    from tether.models.refs import resolve

    return resolve(ws.store, ws.project, ref)


def window_frame(model: str, start: datetime, end: datetime, ws: Workspace) -> Any:
    """The prediction log of ``model`` with ``start <= time < end`` (a DataFrame)."""
    from tether.serving.readback import predictions

    frame = predictions(model, start=start, end=end, workspace=ws)
    return frame[frame["time"] < end].reset_index(drop=True) if len(frame) else frame


def monitor(
    ref: str,
    *,
    window: str | timedelta = "1h",
    end: datetime | None = None,
    reference: str | None = None,
    record: bool = True,
    workspace: Workspace | None = None,
    **options: Any,
) -> DriftReport:
    """Drift of the last ``window`` of ``ref``'s (``NAME@ALIAS``, ``NAME@N``) prediction log
    against the dataset version the run that trained that version read (or ``reference``).

    Only the rows that version answered are compared; logged inputs ``input_X`` are compared
    with the reference's column ``X`` (columns only one side has are left out). With
    ``record``, a ``monitor.drift`` audit event about the model holds ``share_drifted`` and
    ``drifted``. EmptyWindow when the version logged nothing in the window.
    """
    import pyarrow as pa

    from tether.monitoring.cache import profile
    from tether.monitoring.compare import drift
    from tether.monitoring.predictions import LOG_COLUMNS

    ws = _workspace(workspace)
    span = parse_window(window)
    end = end or datetime.now(UTC)
    start = end - span
    mv = served_version(ref, ws)
    if reference is None:
        if mv.run_id is None:
            raise NoTrainingData.no_run(f"{mv.model}@{mv.version}")
        from tether.monitoring.lineage import training_reference

        reference = training_reference(mv.run_id, workspace=ws)
    frame = window_frame(mv.model, start, end, ws)
    frame = frame[frame["version"] == mv.version] if len(frame) else frame
    if not len(frame):
        raise EmptyWindow(ref, mv.version, start, end)
    current = frame.drop(columns=[c for c in LOG_COLUMNS if c in frame.columns])
    current = current.rename(columns=lambda c: c[len(INPUT) :] if c.startswith(INPUT) else c)
    table = pa.Table.from_pandas(current, preserve_index=False)
    prof = profile(reference, workspace=ws)
    # the model's inputs that the training data holds; the target (in the training data, not
    # the log) and the model's outputs (in the log, not the training data) are left out
    columns = [c for c in prof.columns if c in table.column_names]
    if not columns:
        raise BadSetting(
            f"the prediction log of {ref} shares no column with {reference} (the log has "
            f"{', '.join(table.column_names)}); name the reference with --reference name@N"
        )
    report = drift(prof, table, columns=columns, **options)
    if record:
        ws.store.record_audit(
            actor="tether.monitoring",
            action=DRIFT_EVENT,
            target=mv.model,
            outcome="drift" if report.dataset_drift else "ok",
            project=ws.project,
            detail={
                "share_drifted": report.share_drifted,
                "drifted": report.drifted_columns,
                "dataset_drift": report.dataset_drift,
                "model": ref,
                "version": mv.version,
                "reference": reference,
                # the reference profile's object, and whether it was read from the store
                # (False: computed by this check, from the reference data)
                "profile": {"digest": prof.digest, "stored": prof.stored},
                "start": start.isoformat(),
                "end": end.isoformat(),
                "rows": len(frame),
                "columns": _columns(report),
            },
        )
    return report


def _columns(report: DriftReport) -> dict[str, dict[str, Any]]:
    """The tested columns' test, statistic and verdict (what /metrics serves as gauges)."""
    import math

    out: dict[str, dict[str, Any]] = {}
    for c in report.columns:
        if c.drift is None or c.statistic is None or not math.isfinite(c.statistic):
            continue
        out[c.column] = {"test": c.test, "statistic": float(c.statistic), "drift": bool(c.drift)}
    return out
