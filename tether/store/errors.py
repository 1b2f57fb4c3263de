"""Errors of the metadata store; each names what was missing or wrong and what to do."""

from __future__ import annotations

from tether.errors import (
    ConfigError,
    Conflict,
    IntegrityError,
    InvalidInput,
    NotFound,
    StorageError,
)


class InvalidField(InvalidInput):
    """An argument is malformed; ``field`` names it."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"invalid {field}: {problem}")


class FilterTooLarge(InvalidInput):
    """A filter past one of the limits; the message names the limit."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(
            f"filter too large: more than {limit:,} {what}; split it into several searches "
            "or simplify it"
        )


class FilterSyntaxError(InvalidInput):
    """A filter or order-by expression that does not parse; the message points at the token."""

    def __init__(self, text: str, position: int, problem: str) -> None:
        self.text = text
        self.position = position
        pointer = " " * position + "^"
        super().__init__(f"{problem} at position {position}:\n  {text}\n  {pointer}")


class ProjectNotFound(NotFound):
    def __init__(self, project: str) -> None:
        super().__init__(
            f"project {project!r} does not exist; create it first (get_or_create_project)"
        )


class RunNotFound(NotFound):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id!r} does not exist; `tether runs ls` lists the runs")


class MetricNotFound(NotFound):
    def __init__(self, run_id: str, key: str) -> None:
        super().__init__(f"run {run_id!r} has no metric {key!r}")


class ObjectRecordNotFound(NotFound):
    def __init__(self, digest: str) -> None:
        super().__init__(f"no object with digest {digest!r} is recorded in the metadata store")


class DatasetNotFound(NotFound):
    def __init__(self, project: str, dataset: str) -> None:
        super().__init__(
            f"dataset {dataset!r} does not exist in project {project!r}; `tether data ls` "
            "lists the datasets (in a fresh clone, `tether data pull` fetches those the pointer "
            "files name)"
        )


class DatasetVersionNotFound(NotFound):
    def __init__(self, project: str, dataset: str, version: int) -> None:
        super().__init__(f"dataset {dataset!r} in project {project!r} has no version {version}")


class DatasetVersionConflict(Conflict):
    """A version to record under its own number differs from the one already recorded."""

    def __init__(self, project: str, dataset: str, version: int, stored: str, given: str) -> None:
        self.dataset = dataset
        self.version = version
        self.stored = stored
        self.given = given
        super().__init__(
            f"dataset {dataset!r} in project {project!r} already has a version {version} with "
            f"tree {stored}, not {given}; a recorded version is never replaced"
        )


class ModelNotFound(NotFound):
    def __init__(self, project: str, model: str) -> None:
        super().__init__(f"model {model!r} does not exist in project {project!r}")


class ModelVersionNotFound(NotFound):
    def __init__(self, project: str, model: str, version: int) -> None:
        super().__init__(f"model {model!r} in project {project!r} has no version {version}")


class AliasNotFound(NotFound):
    def __init__(self, project: str, model: str, alias: str) -> None:
        super().__init__(
            f"model {model!r} in project {project!r} has no alias {alias!r}; set it with set_alias"
        )


class AliasMoved(Conflict):
    """A compare-and-set alias move found the alias somewhere else than expected."""

    def __init__(
        self, project: str, model: str, alias: str, expected: int | None, actual: int | None
    ) -> None:
        self.expected = expected
        self.actual = actual

        def where(v: int | None) -> str:
            return "unset" if v is None else f"at version {v}"

        super().__init__(
            f"alias {alias!r} of model {model!r} in project {project!r} is {where(actual)}, "
            f"not {where(expected)} as expected: someone moved it meanwhile; nothing changed, "
            "look at the history and try again"
        )


class AmbiguousRunId(Conflict):
    def __init__(self, prefix: str, matches: list[str]) -> None:
        self.matches = matches
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        super().__init__(f"run id {prefix!r} matches several runs ({shown}); give more characters")


class ParamConflict(Conflict):
    def __init__(self, run_id: str, key: str, stored: str, given: str) -> None:
        self.key = key
        super().__init__(
            f"param {key!r} of run {run_id!r} is already {stored!r}, cannot change it to "
            f"{given!r}; params are immutable, log a new run or use a tag instead"
        )


class StoreUnavailable(StorageError):
    """The metadata database cannot be reached or opened."""


class DeferredWriteFailed(StorageError):
    """Some queued run records were refused by the database; the others were written."""

    def __init__(self, failed: list[tuple[str, str]], total: int) -> None:
        self.failed = failed
        shown = "; ".join(f"run {run_id}: {reason}" for run_id, reason in failed[:3])
        more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
        super().__init__(
            f"{len(failed)} of {total} queued run records could not be written and were "
            f"dropped, the others were written: {shown}{more}"
        )


class StoreDamaged(StorageError, IntegrityError):
    """The metadata database file is not a whole SQLite database (empty, truncated, garbage)."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        super().__init__(
            f"the metadata store {path} is damaged: {problem}; restore it from a backup, or "
            f"move it away (mv {path} {path}.damaged) to start with an empty store, which no "
            "longer lists the runs, datasets and models recorded in it (stored objects stay)"
        )


class StoreBusy(StorageError):
    """Another writer held the database longer than the busy timeout."""


# Errors that pass: a write that failed with one of them is kept and tried again later.
TRANSIENT_ERRORS = (StoreBusy, StoreUnavailable)


class SchemaError(StorageError):
    """The database schema is not one this version of Tether can use."""


class UnknownStoreScheme(ConfigError):
    """The store URL's scheme names no metadata store implementation."""


class InvalidStoreUrl(ConfigError):
    """The store URL cannot be parsed."""


class InvalidStoreOption(ConfigError):
    """A store option (such as SQLite's synchronous level) that the store does not accept."""
