"""The metadata store interface; every implementation passes ``tests/store``'s one suite."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import EllipsisType, TracebackType
from typing import Any

from tether.store.entities import (
    AliasEvent,
    AuditEvent,
    DatasetVersion,
    LoopEvent,
    LoopTrigger,
    MetricColumns,
    MetricPoint,
    MetricSummaries,
    MetricSummary,
    ModelVersion,
    ObjectRecord,
    ObjectRoot,
    PredictionSegment,
    Project,
    Run,
    RunIO,
)
from tether.store.filter import Expr, OrderBy


class Store(ABC):
    """Projects, runs, metrics, objects, datasets, models, aliases and the audit log.

    Unknown names and ids raise ``NotFound`` subclasses; malformed arguments ``InvalidInput``;
    contradictions with stored data ``Conflict``; database failures ``StorageError``.
    """

    @property
    @abstractmethod
    def url(self) -> str:
        """The store URL with any password hidden, fit for messages and logs."""

    @abstractmethod
    def close(self) -> None:
        """Write what is deferred, then release connections."""

    @abstractmethod
    def flush(self) -> None:
        """Write the run records queued by ``create_run``/``finish_run`` with ``defer=True``."""

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # projects
    @abstractmethod
    def get_or_create_project(self, name: str) -> Project: ...
    @abstractmethod
    def get_project(self, name: str) -> Project: ...
    @abstractmethod
    def list_projects(self) -> list[Project]: ...

    # runs
    @abstractmethod
    def create_run(
        self,
        project: str,
        *,
        experiment: str = "default",
        name: str | None = None,
        parent_id: str | None = None,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        info: Mapping[str, Any] | None = None,
        status: str = "running",
        io: Iterable[tuple[str, str, str, str | None]] = (),
        defer: bool = False,
    ) -> Run: ...
    @abstractmethod
    def get_run(self, run_id: str) -> Run: ...
    @abstractmethod
    def set_run_status(self, run_id: str, status: str, *, error: str | None = None) -> Run: ...
    @abstractmethod
    def finish_run(
        self,
        run_id: str,
        status: str,
        *,
        error: str | None = None,
        metrics: MetricColumns | None = None,
        defer: bool = False,
    ) -> None: ...
    @abstractmethod
    def log_params(self, run_id: str, params: Mapping[str, str]) -> None: ...
    @abstractmethod
    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None: ...
    @abstractmethod
    def update_run_info(self, run_id: str, info: Mapping[str, Any]) -> None: ...
    @abstractmethod
    def list_runs(
        self,
        project: str,
        *,
        experiment: str | None = None,
        limit: int = 1000,
        include_deleted: bool = False,
    ) -> list[Run]: ...
    @abstractmethod
    def search_runs(
        self,
        project: str,
        filter: Expr | None = None,
        order_by: Sequence[OrderBy] = (),
        *,
        limit: int = 1000,
        experiment: str | None = None,
        include_deleted: bool = False,
    ) -> list[Run]: ...
    @abstractmethod
    def resolve_run_id(self, prefix: str) -> str:
        """The one run id that is ``prefix``, or begins or ends with it."""

    @abstractmethod
    def delete_run(self, run_id: str) -> list[str]:
        """Soft-delete a run and the runs below it (hidden from lists); their ids."""

    @abstractmethod
    def restore_run(self, run_id: str) -> list[str]: ...
    @abstractmethod
    def heartbeat(self, run_id: str) -> None: ...

    # metrics
    @abstractmethod
    def log_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None: ...
    @abstractmethod
    def log_metric_series(
        self,
        run_id: str,
        series: MetricColumns,
    ) -> None: ...
    @abstractmethod
    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]: ...
    @abstractmethod
    def get_metric_summaries(self, run_id: str) -> dict[str, MetricSummary]: ...
    @abstractmethod
    def get_metric_summaries_many(self, run_ids: Sequence[str]) -> dict[str, MetricSummaries]: ...

    # run inputs and outputs
    @abstractmethod
    def add_run_io(
        self, run_id: str, direction: str, kind: str, ref: str, name: str | None = None
    ) -> RunIO: ...
    @abstractmethod
    def add_run_io_many(
        self, run_id: str, rows: Iterable[tuple[str, str, str, str | None]]
    ) -> None: ...
    @abstractmethod
    def list_run_io(self, run_id: str, direction: str | None = None) -> list[RunIO]: ...
    @abstractmethod
    def find_run_io(self, kind: str, ref: str, direction: str | None = None) -> list[RunIO]: ...

    # objects
    @abstractmethod
    def record_objects(self, records: Iterable[ObjectRecord]) -> None: ...
    @abstractmethod
    def get_object_record(self, digest: str) -> ObjectRecord: ...
    @abstractmethod
    def object_roots(self) -> list[ObjectRoot]:
        """Every object digest the store refers to, in every project (garbage collection's
        roots): versions of datasets not deleted, inputs and outputs of runs not deleted,
        their captured diffs and package lists, step outputs and logs, model artifacts."""

    @abstractmethod
    def tree_digests(self) -> set[str]:
        """The digests recorded as trees (``record_objects`` with kind ``tree``)."""

    # datasets
    @abstractmethod
    def create_dataset_version(
        self,
        project: str,
        dataset: str,
        *,
        tree_digest: str,
        file_count: int,
        total_size: int,
        message: str | None = None,
        run_id: str | None = None,
    ) -> DatasetVersion: ...
    @abstractmethod
    def register_dataset_versions(self, versions: Sequence[DatasetVersion]) -> list[DatasetVersion]:
        """Record versions made elsewhere (pulled from a remote) under their own numbers and
        times; return those that were not recorded yet. Idempotent; another tree under a
        recorded number raises DatasetVersionConflict and records none of them."""

    @abstractmethod
    def get_dataset_version(
        self, project: str, dataset: str, version: int | None = None
    ) -> DatasetVersion: ...
    @abstractmethod
    def list_datasets(self, project: str, *, include_deleted: bool = False) -> list[str]: ...
    @abstractmethod
    def delete_dataset(self, project: str, dataset: str) -> None:
        """Soft-delete a dataset: hidden from lists, its versions kept until restored."""

    @abstractmethod
    def restore_dataset(self, project: str, dataset: str) -> None: ...

    @abstractmethod
    def list_dataset_versions(self, project: str, dataset: str) -> list[DatasetVersion]: ...

    # models and aliases
    @abstractmethod
    def create_model_version(
        self,
        project: str,
        model: str,
        *,
        artifact_digest: str,
        flavor: str,
        signature: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        version: int | None = None,
    ) -> ModelVersion:
        """The next version of ``model``, or ``version`` when it was reserved with
        ``reserve_model_version`` (and not created yet)."""

    @abstractmethod
    def reserve_model_version(self, project: str, model: str) -> int:
        """Take the next version number of ``model`` now; ``create_model_version(version=)``
        creates it later. A number reserved and never created stays unused."""

    @abstractmethod
    def get_model_version(self, project: str, model: str, version: int) -> ModelVersion: ...
    @abstractmethod
    def list_models(self, project: str) -> list[str]: ...
    @abstractmethod
    def list_model_versions(self, project: str, model: str) -> list[ModelVersion]: ...
    @abstractmethod
    def set_alias(
        self,
        project: str,
        model: str,
        alias: str,
        version: int,
        *,
        actor: str,
        reason: str | None = None,
        expect: int | EllipsisType | None = ...,
    ) -> AliasEvent:
        """Point ``alias`` at ``version`` and record the move, atomically. With ``expect``
        (compare and set), move only if the alias points at ``expect`` now (``None``: it is
        not set), else raise ``AliasMoved`` and change nothing."""

    @abstractmethod
    def get_alias(self, project: str, model: str, alias: str) -> ModelVersion: ...
    @abstractmethod
    def list_alias_events(
        self, project: str, model: str, alias: str | None = None
    ) -> list[AliasEvent]: ...

    # prediction log segments (tether.serving writes them, monitoring reads them)
    @abstractmethod
    def add_prediction_segment(
        self,
        project: str,
        model: str,
        *,
        version: int,
        start_time: datetime,
        end_time: datetime,
        rows: int,
        digest: str,
    ) -> PredictionSegment: ...
    @abstractmethod
    def list_prediction_segments(
        self,
        project: str,
        model: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[PredictionSegment]: ...

    # reference profiles (tether.monitoring stores them, by dataset content)
    @abstractmethod
    def get_reference_profile(self, tree_digest: str, format: int) -> str | None:
        """The object digest of the stored monitoring profile of the dataset content
        ``tree_digest`` in profile ``format``; None when none is stored."""

    @abstractmethod
    def set_reference_profile(self, tree_digest: str, format: int, digest: str) -> None:
        """Record (or replace) the profile object of ``tree_digest`` in ``format``."""

    # audit log
    @abstractmethod
    def record_audit(
        self,
        *,
        actor: str,
        action: str,
        target: str,
        outcome: str,
        project: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEvent: ...
    @abstractmethod
    def list_audit(
        self, *, project: str | None = None, limit: int = 100, action: str | None = None
    ) -> list[AuditEvent]: ...

    # continuous-training loops (tether.automation)
    @abstractmethod
    def acquire_loop_lease(
        self, project: str, loop: str, holder: str, ttl_s: float, *, steal_from: str | None = None
    ) -> bool:
        """Take or renew the loop's lease for ``holder``: True when it holds it now (nobody
        held it, it had expired, ``holder`` held it already, or ``steal_from`` held it)."""

    @abstractmethod
    def release_loop_lease(self, project: str, loop: str, holder: str) -> None: ...
    @abstractmethod
    def get_loop_lease(self, project: str, loop: str) -> tuple[str, Any] | None:
        """``(holder, expires_at)`` of the loop's lease, or None."""

    @abstractmethod
    def add_loop_trigger(
        self,
        project: str,
        loop: str,
        *,
        key: str,
        kind: str,
        reason: str | None = None,
        status: str = "pending",
        detail: Mapping[str, Any] | None = None,
    ) -> LoopTrigger | None:
        """Record a trigger once: None when one with this ``key`` was recorded already."""

    @abstractmethod
    def update_loop_trigger(
        self,
        trigger_id: int,
        *,
        status: str,
        attempts: int | None = None,
        next_try_at: Any = None,
        detail: Mapping[str, Any] | None = None,
        expect_status: str | None = None,
    ) -> bool:
        """Set a trigger's status (and more); with ``expect_status`` only when it still has
        that status. True when the row changed."""

    @abstractmethod
    def list_loop_triggers(
        self,
        project: str,
        loop: str | None = None,
        *,
        statuses: Sequence[str] | None = None,
        kind: str | None = None,
        limit: int | None = None,
    ) -> list[LoopTrigger]:
        """Oldest first (newest first with ``limit``)."""

    @abstractmethod
    def record_loop_event(
        self,
        project: str,
        loop: str,
        kind: str,
        *,
        trigger_id: int | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> LoopEvent: ...
    @abstractmethod
    def list_loop_events(
        self, project: str, loop: str | None = None, *, limit: int = 100
    ) -> list[LoopEvent]:
        """Newest first."""
