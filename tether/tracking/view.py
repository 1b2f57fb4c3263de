"""A stored run as users read it: ``tether.get_run(id)`` and ``tether.search_runs(...)``."""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from tether.store.entities import MetricSummaries
from tether.tracking.active import HEARTBEAT_S
from tether.tracking.process import process_alive

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

    from tether.store import MetricPoint, MetricSummary, Run, RunIO
    from tether.tracking.session import Session

# A running run whose heartbeat is older than this is taken for dead.
STALE_AFTER = timedelta(seconds=4 * HEARTBEAT_S)


@dataclass(frozen=True)
class CodeInfo:
    commit: str | None
    branch: str | None
    dirty: bool
    diff: str | None  # object digest of the uncommitted diff of tracked files
    remote: str | None
    untracked: tuple[str, ...]
    root: str | None
    relative_cwd: str | None


@dataclass(frozen=True)
class EnvInfo:
    python: str | None
    packages: str | None  # object digest of the `name==version` list


class RunView:
    """A stored run as users read it (``tether.Run``): what ``get_run`` and ``search_runs``
    return."""

    def __init__(
        self,
        session: Session,
        run: Run,
        metric_summaries: Mapping[str, MetricSummary] | None = None,
    ) -> None:
        self._session = session
        self.run = run
        if metric_summaries is not None:  # loaded with other runs': no query of its own
            self.__dict__["metric_summaries"] = metric_summaries

    @classmethod
    def many(cls, session: Session, runs: Sequence[Run]) -> list[RunView]:
        """Views of ``runs`` with their metrics loaded in one query, not one per run."""
        summaries = session.store.get_metric_summaries_many([r.id for r in runs])
        return [cls(session, r, summaries[r.id]) for r in runs]

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.name!r} {self.status}>"

    id = property(lambda self: self.run.id)
    name = property(lambda self: self.run.name)
    project = property(lambda self: self.run.project)
    experiment = property(lambda self: self.run.experiment)
    params = property(lambda self: self.run.params)
    tags = property(lambda self: self.run.tags)
    start_time = property(lambda self: self.run.start_time)
    end_time = property(lambda self: self.run.end_time)
    parent_id = property(lambda self: self.run.parent_id)
    error = property(lambda self: self.run.error)
    info = property(lambda self: self.run.info)

    @property
    def status(self) -> str:
        """The stored status, except that a ``running`` run whose process is gone is ``dead``."""
        run = self.run
        if run.status != "running":
            return run.status
        proc = run.info.get("process") or {}
        if proc.get("host") == socket.gethostname() and isinstance(proc.get("pid"), int):
            return "running" if process_alive(proc["pid"], proc.get("start_ticks")) else "dead"
        beat = run.heartbeat_at or run.start_time
        return "dead" if datetime.now(UTC) - beat > STALE_AFTER else "running"

    @property
    def duration_s(self) -> float | None:
        if self.run.end_time is None:
            return None
        return (self.run.end_time - self.run.start_time).total_seconds()

    @cached_property
    def metric_summaries(self) -> Mapping[str, MetricSummary]:
        return self._session.store.get_metric_summaries(self.id)

    @property
    def metrics(self) -> dict[str, float]:
        """The last logged value of each metric."""
        summaries = self.metric_summaries
        if isinstance(summaries, MetricSummaries):  # loaded in bulk: no objects needed
            return summaries.last_values()
        return {k: s.last_value for k, s in summaries.items()}

    def metric_history(self, key: str) -> list[MetricPoint]:
        return self._session.store.get_metric_history(self.id, key)

    @cached_property
    def inputs(self) -> list[RunIO]:
        return self._session.store.list_run_io(self.id, "input")

    @cached_property
    def outputs(self) -> list[RunIO]:
        return self._session.store.list_run_io(self.id, "output")

    @property
    def code(self) -> CodeInfo | None:
        code: dict[str, Any] | None = self.run.info.get("code")
        if not code:
            return None
        return CodeInfo(
            commit=code.get("commit"),
            branch=code.get("branch"),
            dirty=bool(code.get("dirty")),
            diff=code.get("diff_digest"),
            remote=code.get("remote_url"),
            untracked=tuple(code.get("untracked") or ()),
            root=code.get("root"),
            relative_cwd=code.get("workdir"),
        )

    @property
    def env(self) -> EnvInfo | None:
        env: dict[str, Any] | None = self.run.info.get("env")
        if not env:
            return None
        return EnvInfo(python=env.get("python_version"), packages=env.get("packages_digest"))

    @property
    def command(self) -> dict[str, Any]:
        return dict(self.run.info.get("command") or {})


class RunList(list[RunView]):
    """What ``search_runs`` returns: a list of runs; :meth:`to_pandas` gives a DataFrame of
    them (one row a run: attributes, ``params.*``, ``metrics.*``, ``tags.*``)."""

    def __init__(self, session: Session, runs: Iterable[RunView] = ()) -> None:
        super().__init__(runs)
        self._session = session

    def to_pandas(self) -> pd.DataFrame:
        from tether.tracking.frame import runs_frame

        return runs_frame(list(self))
