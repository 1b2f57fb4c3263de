"""The tracking functions that ``tether`` re-exports: start runs, log to the active one, query."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import tether.tracking.lifecycle as lifecycle
from tether.errors import InvalidInput
from tether.store.validate import entity_name
from tether.tracking.active import ActiveRun, params_text
from tether.tracking.provenance import capture_provenance
from tether.tracking.recorder import RunRecorder
from tether.tracking.session import flush_sessions, open_session
from tether.tracking.view import RunList, RunView
from tether.workspace import Workspace

if TYPE_CHECKING:
    from tether.store import DatasetVersion

_UNSET: Any = object()

Run = RunView
"""A stored run as users read it (``tether.Run``): what ``get_run`` and ``search_runs`` return."""


def run(
    experiment: str = "default",
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    *,
    parent: ActiveRun | RunRecorder | str | None = _UNSET,
    project: str | None = None,
    workspace: Workspace | str | os.PathLike[str] | None = None,
    capture: bool = True,
) -> ActiveRun:
    """Start a run. Inside another active run it becomes that run's child unless ``parent=None``.

    Code (git commit and uncommitted diff), environment, host and command are recorded unless
    ``capture=False``. Secret-looking params and tags are stored redacted.
    """
    entity_name("experiment name", experiment)  # before anything is captured or stored
    session = open_session(workspace, project=project)
    if parent is _UNSET:
        parent = lifecycle.active()
    parent_id = parent.id if isinstance(parent, ActiveRun | RunRecorder) else parent
    info = capture_provenance(session) if capture else {}
    tags = params_text(tags or {})
    reproduces = session.settings["tracking.reproduces"]
    if reproduces:
        tags["tether.reproduces"] = reproduces
    stored = session.store.create_run(
        session.project,
        experiment=experiment,
        name=name,
        parent_id=parent_id,
        params=params_text(params or {}),
        tags=tags,
        info=info,
        defer=True,  # written within FLUSH_S by the ticker, batched with other runs
    )
    session.flush_in_background()
    active = ActiveRun(session, stored)
    lifecycle.push(active)
    return active


def active_run() -> ActiveRun | RunRecorder | None:
    return lifecycle.active()


def flush() -> None:
    """Make everything logged so far durable now: the active runs' metrics and every run's
    record (the background thread does both within half a second)."""
    for current in lifecycle.running():
        current.flush()
    flush_sessions()


def _require_active() -> ActiveRun | RunRecorder:
    current = lifecycle.active()
    if current is None:
        raise InvalidInput("no active run; start one with `with tether.run(...) as run:`")
    return current


def log_metric(key: str, value: float, step: int | None = None) -> None:
    _require_active().log_metrics({key: value}, step)


def log_metrics(metrics: Mapping[str, Any], step: int | None = None) -> None:
    _require_active().log_metrics(metrics, step)


def log_param(key: str, value: Any) -> None:
    _require_active().log_params({key: value})


def log_params(params: Mapping[str, Any]) -> None:
    _require_active().log_params(params)


def set_tags(tags: Mapping[str, Any]) -> None:
    _require_active().set_tags(tags)


def log_artifact(path: str | os.PathLike[str], name: str | None = None) -> str:
    return _require_active().log_artifact(path, name)


def log_input(source: DatasetVersion | str, name: str | None = None) -> None:
    _require_active().log_input(source, name)


def get_run(run_id: str, *, workspace: Workspace | str | os.PathLike[str] | None = None) -> RunView:
    """A run by its id, or by the first or last characters of it (``tether runs ls`` shows
    the last 12)."""
    session = open_session(workspace)
    return RunView(session, session.store.get_run(session.store.resolve_run_id(run_id)))


def search_runs(
    filter: str = "",
    order_by: str = "",
    limit: int = 1000,
    *,
    experiment: str | None = None,
    project: str | None = None,
    workspace: Workspace | str | os.PathLike[str] | None = None,
) -> RunList:
    """Runs matching ``filter`` (see docs/tracking.md for the grammar), sorted by ``order_by``;
    ``.to_pandas()`` of the result gives them as a DataFrame."""
    from tether.store.filter import parse_filter, parse_order_by

    session = open_session(workspace, project=project)
    runs = session.store.search_runs(
        session.project,
        parse_filter(filter),
        parse_order_by(order_by),
        limit=limit,
        experiment=experiment,
    )
    return RunList(session, RunView.many(session, runs))  # metrics: one query for all
