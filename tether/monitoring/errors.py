"""Errors of the monitoring layer: each names what was wrong and what to do."""

from __future__ import annotations

from tether.errors import ConfigError, IntegrityError, InvalidInput, NotFound


class UnreadableTable(InvalidInput):
    """A reference or current table that drift() cannot read."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(
            f"cannot read the {what} table: {why}; pass a pandas DataFrame, a pyarrow Table, "
            "a .parquet or .csv path, or a dataset reference such as 'churn@4'"
        )


class UnknownColumn(InvalidInput):
    """``columns=`` names a column that neither table has."""

    def __init__(self, column: str, known: list[str]) -> None:
        self.column = column
        shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
        super().__init__(f"no column {column!r} in either table; the columns are: {shown}")


class UnknownTest(InvalidInput):
    """``tests=`` names a detector that does not exist or does not fit the column."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"drift test {name!r}: {why}")


class BadSetting(InvalidInput):
    """A threshold, share or significance level out of its range."""


class CorruptProfile(IntegrityError):
    """A stored reference profile that cannot be read back; it is rebuilt from the data."""

    def __init__(self, path: object, why: str) -> None:
        super().__init__(
            f"the reference profile {path} cannot be read ({why}); delete it and it is rebuilt"
        )


class NoTrainingData(InvalidInput):
    """The run that made a model read no dataset version, or several."""

    def __init__(self, run_id: str, found: list[str]) -> None:
        self.found = found
        if found:
            why = f"it read {len(found)} dataset versions ({', '.join(found)}); name the one"
        else:
            why = "it read no dataset version (read data with tether.dataset('name@N')); name"
        super().__init__(
            f"no training reference for run {run_id}: {why} to compare with, e.g. "
            "drift('name@N', current)"
        )

    @classmethod
    def no_run(cls, model: str) -> NoTrainingData:
        """A model version registered without the run that trained it."""
        err = cls.__new__(cls)
        err.found = []
        InvalidInput.__init__(
            err,
            f"no training reference for model {model}: it was registered without a run; "
            "name the dataset version to compare with: --reference name@N",
        )
        return err


class EmptyWindow(InvalidInput):
    """The prediction log holds nothing of the model version in the window."""

    def __init__(
        self, ref: str, version: int | None, start: object = None, end: object = None
    ) -> None:
        what = ref if version is None else f"{ref} (version {version})"
        when = "" if start is None and end is None else f" between {start} and {end}"
        super().__init__(
            f"{what} logged no predictions{when}; widen --window, or check that the "
            "server runs without --no-log"
        )


class BadLabels(InvalidInput):
    """A label file or ``log_labels`` call that cannot be stored."""


class InvalidMonitor(ConfigError):
    """A ``[monitor.NAME]`` table is wrong; the message names the key."""

    def __init__(self, key: str, message: str, source: str | None = None) -> None:
        self.key = key
        where = f" in {source}" if source else ""
        super().__init__(f"{key}{where}: {message}")


class MonitorNotFound(NotFound):
    """No ``[monitor.NAME]`` table of that name."""

    def __init__(self, name: str, known: list[str]) -> None:
        listed = ", ".join(known) or "none"
        super().__init__(
            f"no monitor {name!r}; the monitors are: {listed} (add a [monitor.{name}] table "
            "to .tether/config.toml)"
        )
