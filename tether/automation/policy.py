"""The ``[loop.NAME]`` tables: what a continuous-training loop guards, trains and watches.

```toml
[loop.churn]
model = "churn"                       # the registered model the loop guards
alias = "champion"                    # the alias it moves
pipeline = "training.pipeline:train"  # module:function, decorated with @tether.pipeline
dataset = "churn"                     # bound as churn@latest to the pipeline's data param
data_param = "data"                   # (default "data")
executor = "processes"                # how the pipeline runs its steps (default: processes)
eval_data = "churn-holdout"           # evaluation data, resolved to its latest version
target = "churned"
gate = { primary = "accuracy" }       # a gate policy table, or the path of one (TOML)

[loop.churn.triggers]
schedule = "0 3 * * *"                # cron
new_data = true                       # a new version of `dataset` (or a dataset name)
drift = 0.3                           # share of drifted columns above this (monitor.drift)
performance = { metric = "accuracy", below = 0.8 }  # monitor.performance
                                      # manual triggers: `tether loop trigger NAME` (always on)

[loop.churn.retry]
backoff_s = 60                        # first wait after a failed training run, then doubled
max_backoff_s = 3600
max_attempts = 5
```
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.automation.errors import InvalidLoopPolicy, LoopNotFound

KEYS = {
    "model",
    "alias",
    "pipeline",
    "executor",
    "dataset",
    "data_param",
    "eval_data",
    "target",
    "gate",
    "triggers",
    "retry",
}
TRIGGER_KEYS = {"schedule", "new_data", "drift", "performance"}
RETRY_KEYS = {"backoff_s", "max_backoff_s", "max_attempts"}


@dataclass(frozen=True)
class Performance:
    metric: str
    below: float


@dataclass(frozen=True)
class Triggers:
    schedule: str | None = None
    new_data: str | None = None  # the dataset whose new versions trigger
    drift: float | None = None
    performance: Performance | None = None


@dataclass(frozen=True)
class Retry:
    backoff_s: float = 60.0
    max_backoff_s: float = 3600.0
    max_attempts: int = 5

    def wait_s(self, attempts: int) -> float:
        """The wait after the ``attempts``-th failure: backoff_s, 2x, 4x... up to the max."""
        return float(min(self.max_backoff_s, self.backoff_s * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class LoopPolicy:
    name: str
    model: str
    alias: str
    pipeline: str
    dataset: str
    target: str
    gate: Mapping[str, Any] | str
    eval_data: str
    data_param: str = "data"
    executor: str | None = None
    triggers: Triggers = field(default_factory=Triggers)
    retry: Retry = field(default_factory=Retry)
    source: str | None = None


def load_loops(
    config_path: str | os.PathLike[str], policy: str | os.PathLike[str] | None = None
) -> dict[str, LoopPolicy]:
    """Every loop of ``policy`` (a TOML file with ``[loop.NAME]`` tables) or, without it, of the
    workspace config file at ``config_path``."""
    path = Path(policy if policy is not None else config_path)
    table = _read(path, required=policy is not None)
    loops = table.get("loop", {})
    if not isinstance(loops, Mapping):
        raise InvalidLoopPolicy("loop", "must be a table of [loop.NAME] tables", str(path))
    base = path.parent.parent if policy is None else path.parent  # .tether/config.toml
    return {
        name: parse_loop(name, value, source=str(path), base=base) for name, value in loops.items()
    }


def get_loop(loops: Mapping[str, LoopPolicy], name: str) -> LoopPolicy:
    try:
        return loops[name]
    except KeyError:
        raise LoopNotFound(name, sorted(loops)) from None


def _read(path: Path, *, required: bool) -> Mapping[str, Any]:
    import tomllib

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise InvalidLoopPolicy("--policy", f"file {str(path)!r} does not exist") from None
        return {}
    except OSError as e:
        raise InvalidLoopPolicy("--policy", f"cannot read {str(path)!r}: {e.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InvalidLoopPolicy("loop", f"{str(path)!r} is not valid TOML: {e}") from None


def parse_loop(
    name: str, table: Any, *, source: str | None = None, base: Path | None = None
) -> LoopPolicy:
    prefix = f"loop.{name}"

    def bad(key: str, message: str) -> InvalidLoopPolicy:
        return InvalidLoopPolicy(f"{prefix}.{key}" if key else prefix, message, source)

    if not isinstance(table, Mapping):
        raise bad("", "must be a table")
    _names(name, prefix, source)
    for key in table:
        if key not in KEYS:
            raise bad(key, f"unknown key; a loop has {', '.join(sorted(KEYS))}")

    def text(key: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if value is None:
            raise bad(key, "is required")
        if not isinstance(value, str) or not value.strip():
            raise bad(key, f"must be a non-empty string, not {value!r}")
        return value.strip()

    pipeline = text("pipeline")
    module, sep, func = pipeline.partition(":")
    if not sep or not module or not func:
        raise bad("pipeline", f"must be 'module:function', not {pipeline!r}")
    dataset = text("dataset")
    if "@" in dataset:
        raise bad("dataset", "names a dataset; the loop always trains on its latest version")
    gate = table.get("gate")
    if gate is None:
        raise bad("gate", "is required: a gate policy table or the path of a TOML file")
    if isinstance(gate, str):
        gate_path = Path(gate)
        if not gate_path.is_absolute() and base is not None:
            gate_path = base / gate_path
        if not gate_path.is_file():
            raise bad("gate", f"file {str(gate_path)!r} does not exist")
        gate = str(gate_path)
    elif not isinstance(gate, Mapping):
        raise bad("gate", "must be a gate policy table or the path of a TOML file")
    _check_gate(gate, bad)
    return LoopPolicy(
        name=name,
        model=text("model"),
        alias=text("alias", "champion"),
        pipeline=pipeline,
        dataset=dataset,
        target=text("target"),
        gate=gate,
        eval_data=text("eval_data", dataset),
        data_param=text("data_param", "data"),
        executor=_executor(table.get("executor"), bad),
        triggers=_triggers(table.get("triggers", {}), dataset, bad),
        retry=_retry(table.get("retry", {}), bad),
        source=source,
    )


def _executor(value: Any, bad: Any) -> str | None:
    if value is None:
        return None
    from tether.pipelines.executors.factory import EXECUTORS

    if not isinstance(value, str) or value not in EXECUTORS:
        raise bad("executor", f"must be one of {', '.join(sorted(EXECUTORS))}, not {value!r}")
    return value


def _names(name: str, prefix: str, source: str | None) -> None:
    from tether.store import validate
    from tether.store.errors import InvalidField

    try:
        validate.name("loop name", name)
    except InvalidField as e:
        raise InvalidLoopPolicy(prefix, str(e), source) from None


def _check_gate(gate: Mapping[str, Any] | str, bad: Any) -> None:
    from tether.errors import TetherError
    from tether.models.policy import load_policy

    try:
        load_policy(gate)
    except TetherError as e:
        raise bad("gate", str(e)) from None


def _number(value: Any, key: str, bad: Any, *, lo: float = 0.0, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad(key, f"must be a number, not {value!r}")
    if value < lo or (hi is not None and value > hi):
        upper = f" and {hi}" if hi is not None else ""
        raise bad(key, f"must be between {lo}{upper}, not {value!r}")
    return float(value)


def _triggers(table: Any, dataset: str, bad: Any) -> Triggers:
    if not isinstance(table, Mapping):
        raise bad("triggers", "must be a table")
    for key in table:
        if key not in TRIGGER_KEYS:
            raise bad(
                f"triggers.{key}", f"unknown trigger; known: {', '.join(sorted(TRIGGER_KEYS))}"
            )
    schedule = table.get("schedule")
    if schedule is not None:
        if not isinstance(schedule, str):
            raise bad("triggers.schedule", f"must be a cron expression string, not {schedule!r}")
        from tether.config.cron import check_cron

        problem = check_cron(schedule)
        if problem:
            raise bad("triggers.schedule", problem)
    new_data = table.get("new_data")
    if new_data is True:
        new_data = dataset
    elif new_data is False:
        new_data = None
    elif new_data is not None and (
        not isinstance(new_data, str) or not new_data or "@" in new_data
    ):
        raise bad("triggers.new_data", f"must be true, false or a dataset name, not {new_data!r}")
    drift = table.get("drift")
    if drift is not None:
        drift = _number(drift, "triggers.drift", bad, hi=1.0)
    perf = table.get("performance")
    performance = None
    if perf is not None:
        if not isinstance(perf, Mapping) or set(perf) != {"metric", "below"}:
            raise bad("triggers.performance", 'must be a table { metric = "...", below = N }')
        if not isinstance(perf["metric"], str) or not perf["metric"]:
            raise bad(
                "triggers.performance.metric", f"must be a metric name, not {perf['metric']!r}"
            )
        below = _number(perf["below"], "triggers.performance.below", bad, lo=float("-inf"))
        performance = Performance(perf["metric"], below)
    return Triggers(schedule=schedule, new_data=new_data, drift=drift, performance=performance)


def _retry(table: Any, bad: Any) -> Retry:
    if not isinstance(table, Mapping):
        raise bad("retry", "must be a table")
    for key in table:
        if key not in RETRY_KEYS:
            raise bad(f"retry.{key}", f"unknown key; known: {', '.join(sorted(RETRY_KEYS))}")
    retry = Retry()
    backoff = _number(table.get("backoff_s", retry.backoff_s), "retry.backoff_s", bad)
    most = _number(table.get("max_backoff_s", retry.max_backoff_s), "retry.max_backoff_s", bad)
    attempts = table.get("max_attempts", retry.max_attempts)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise bad("retry.max_attempts", f"must be a whole number >= 1, not {attempts!r}")
    return Retry(backoff, max(most, backoff), attempts)
