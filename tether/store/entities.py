"""What the metadata store holds, as frozen dataclasses.

Times are timezone-aware UTC datetimes; metric timestamps are integer milliseconds since the epoch
(they come in bulk and stay packed).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

RunStatus = Literal["running", "finished", "failed", "killed"]
RUN_STATUSES: tuple[str, ...] = ("running", "finished", "failed", "killed")
TERMINAL_STATUSES: frozenset[str] = frozenset({"finished", "failed", "killed"})

IODirection = Literal["input", "output"]
IO_DIRECTIONS: tuple[str, ...] = ("input", "output")
IOKind = Literal["object", "dataset_version", "run", "model_version"]
IO_KINDS: tuple[str, ...] = ("object", "dataset_version", "run", "model_version")

# {key: (steps, timestamps in ms, values)}: metric points in columns, the fast way to log them
MetricColumns = Mapping[str, tuple[Sequence[int], Sequence[int], Sequence[float]]]

ObjectKind = Literal["blob", "tree"]
OBJECT_KINDS: tuple[str, ...] = ("blob", "tree")


@dataclass(frozen=True)
class Project:
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Run:
    id: str
    project: str
    experiment: str
    name: str | None
    status: str
    start_time: datetime
    end_time: datetime | None
    parent_id: str | None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    heartbeat_at: datetime | None = None
    deleted_at: datetime | None = None  # soft-deleted: hidden from lists, restorable

    if not TYPE_CHECKING:  # invisible to type checkers: no attribute typo passes as Any

        def __getattr__(self, name: str) -> Any:
            # Only for attributes not set: a run a search read from SQLite holds its info as
            # the stored JSON text until it is first asked for (a search reads a hundred runs'
            # info, and most callers never look at it); it is decoded once, here.
            if name == "info":
                text = self.__dict__.get("_info_json")
                if text is not None or "_info_json" in self.__dict__:
                    info = self.__dict__["info"] = json.loads(text) if text else {}
                    return info
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


@dataclass(frozen=True)
class MetricPoint:
    key: str
    step: int
    timestamp_ms: int
    value: float


@dataclass(frozen=True)
class MetricSummary:
    """Aggregate of one run's metric series; ``min``/``max`` skip NaN (NaN if every value is)."""

    key: str
    last_value: float
    last_step: int
    last_timestamp_ms: int
    min_value: float
    max_value: float
    count: int


class MetricSummaries(Mapping[str, MetricSummary]):
    """One run's metric summaries as read in bulk (``get_metric_summaries_many``): a read-only
    mapping of key to :class:`MetricSummary`, holding the rows as read and making the
    summaries when first looked at. A search of 100 runs reads 1,000 summaries and most callers
    want the last values only (``last_values``); the rows are all loaded either way."""

    __slots__ = ("_made", "_rows")

    def __init__(self, rows: Sequence[Sequence[Any]] = ()) -> None:
        # (run id, key, last value, last step, last timestamp ms, min, max, count); SQL NULL
        # (a NaN, which the databases do not keep) as None
        self._rows = rows
        self._made: dict[str, MetricSummary] | None = None

    def _summaries(self) -> dict[str, MetricSummary]:
        made = self._made
        if made is None:
            nan = math.nan
            made = self._made = {
                r[1]: MetricSummary(
                    r[1],
                    nan if r[2] is None else r[2],
                    r[3],
                    r[4],
                    nan if r[5] is None else r[5],
                    nan if r[6] is None else r[6],
                    r[7],
                )
                for r in self._rows
            }
        return made

    def __getitem__(self, key: str) -> MetricSummary:
        return self._summaries()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._summaries() if self._made is not None else [r[1] for r in self._rows])

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return repr(self._summaries())

    def __reduce__(self) -> tuple[Any, ...]:
        return (MetricSummaries, (list(map(tuple, self._rows)),))

    def last_values(self) -> dict[str, float]:
        """``{key: last value}``, NaN where the last value was NaN, without the summaries."""
        nan = math.nan
        return {r[1]: nan if r[2] is None else r[2] for r in self._rows}


@dataclass(frozen=True)
class RunIO:
    run_id: str
    direction: str
    kind: str
    ref: str
    name: str | None = None


@dataclass(frozen=True)
class ObjectRecord:
    digest: str
    size: int
    kind: str = "blob"


@dataclass(frozen=True)
class ObjectRoot:
    """An object the metadata store refers to, so garbage collection keeps it.

    ``tree``: True when the object is a tree (its members are kept too), False when a blob,
    None when the store does not know (the collector looks at the object).
    """

    digest: str
    what: str  # who refers to it, for messages: "dataset churn v3", "run 0190... output x"
    tree: bool | None = None


@dataclass(frozen=True)
class DatasetVersion:
    project: str
    dataset: str
    version: int
    tree_digest: str
    file_count: int
    total_size: int
    message: str | None
    run_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class ModelVersion:
    project: str
    model: str
    version: int
    artifact_digest: str
    flavor: str
    signature: dict[str, Any] | None
    run_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class AliasEvent:
    project: str
    model: str
    alias: str
    from_version: int | None
    to_version: int
    actor: str
    reason: str | None
    time: datetime


@dataclass(frozen=True)
class AuditEvent:
    id: int
    time: datetime
    actor: str
    action: str
    target: str
    project: str | None
    outcome: str
    detail: dict[str, Any] | None


@dataclass(frozen=True)
class PredictionSegment:
    """One Parquet segment of a served model's prediction log (rows of one model version)."""

    id: int
    project: str
    model: str
    version: int
    start_time: datetime
    end_time: datetime
    rows: int
    digest: str
    created_at: datetime


@dataclass(frozen=True)
class LoopTrigger:
    """A trigger a continuous-training loop saw; it is also the attempt that acts on it.
    ``status``: pending, running, done, failed (retried after ``next_try_at``) or gave_up."""

    id: int
    project: str
    loop: str
    key: str
    kind: str
    reason: str | None
    status: str
    attempts: int
    created_at: datetime
    updated_at: datetime
    next_try_at: datetime | None
    detail: dict[str, Any] | None


@dataclass(frozen=True)
class LoopEvent:
    id: int
    project: str
    loop: str
    time: datetime
    kind: str
    trigger_id: int | None
    detail: dict[str, Any] | None
