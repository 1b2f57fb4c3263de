"""What a step run looks like in the metadata store: a child run of the pipeline run.

Params are the step's params; tags ``tether.step`` (its name), ``tether.step.cached``
(true/false) and ``tether.step.cache_key``; inputs are ``object`` digests named after the
input, outputs are named after the output, plus ``logs``; ``info["step"]`` keeps outputs,
inputs, logs, duration and attempts for ``pipeline show`` and for cache lookups.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.store import Store

from tether.pipelines.cache import KEY_TAG, outputs_to_json
from tether.pipelines.values import StoredValue

STEP_TAG = "tether.step"
CACHED_TAG = "tether.step.cached"
PIPELINE_TAG = "tether.pipeline"


def _param_text(params: dict[str, Any]) -> dict[str, str]:
    from tether.tracking.run import params_text

    return params_text(params)


def _add_io(store: Store, run_id: str, rows: Iterable[tuple[str, str, str, str]]) -> None:
    """Record (direction, kind, ref, name) rows in one transaction."""
    store.add_run_io_many(run_id, list(rows))


def start_step_run(
    session: Any,
    *,
    parent_id: str,
    experiment: str,
    name: str,
    params: dict[str, Any],
    key: str | None,
    cached: bool,
    info: dict[str, Any],
) -> str:
    tags = {STEP_TAG: name, CACHED_TAG: "true" if cached else "false"}
    if key is not None:
        tags[KEY_TAG] = key
    run = session.store.create_run(
        session.project,
        experiment=experiment,
        name=name,
        parent_id=parent_id,
        params=_param_text(params),
        tags=tags,
        info={"step": info},
    )
    return str(run.id)


def io_rows(
    inputs: dict[str, str], outputs: dict[str, StoredValue], logs: StoredValue | None
) -> list[tuple[str, str, str, str]]:
    rows = [("input", "object", d, n) for n, d in inputs.items()]
    rows += [("output", "object", v.digest, n) for n, v in outputs.items()]
    if logs is not None:
        rows.append(("output", "object", logs.digest, "logs"))
    return rows


def record_cached(
    session: Any,
    *,
    parent_id: str,
    experiment: str,
    name: str,
    params: dict[str, Any],
    key: str | None,
    inputs: dict[str, str],
    outputs: dict[str, StoredValue],
    logs: StoredValue | None,
    source_run: str,
) -> str:
    """A step answered from the cache: one finished child run pointing at the same objects."""
    info = step_info(inputs, outputs, logs, 0.0, attempts=0)
    info["cached_from"] = source_run
    tags = {STEP_TAG: name, CACHED_TAG: "true"}
    if key is not None:
        tags[KEY_TAG] = key
    run = session.store.create_run(  # one transaction: the run is finished as it is made
        session.project,
        experiment=experiment,
        name=name,
        parent_id=parent_id,
        params=_param_text(params),
        tags=tags,
        info={"step": info},
        status="finished",
        io=io_rows(inputs, outputs, logs),
    )
    return str(run.id)


def step_info(
    inputs: dict[str, str],
    outputs: dict[str, StoredValue],
    logs: StoredValue | None,
    duration_s: float | None,
    *,
    attempts: int,
) -> dict[str, Any]:
    return {
        "inputs": dict(inputs),
        "outputs": outputs_to_json(outputs),
        "logs": [logs.digest, logs.size] if logs else None,
        "duration_s": duration_s,
        "attempts": attempts,
    }


def finish_step(
    session: Any,
    run_id: str,
    *,
    inputs: dict[str, str],
    outputs: dict[str, StoredValue],
    logs: StoredValue | None,
    duration_s: float,
    attempts: int,
    error: str | None,
) -> None:
    from tether.store import ObjectRecord

    records = [ObjectRecord(v.digest, v.size, "tree") for v in outputs.values()]
    if logs is not None:
        records.append(ObjectRecord(logs.digest, logs.size, "blob"))
    if records:
        session.store.record_objects(records)
    _add_io(session.store, run_id, io_rows(inputs, outputs, logs))
    session.store.update_run_info(
        run_id, {"step": step_info(inputs, outputs, logs, duration_s, attempts=attempts)}
    )
    from tether.tracking.capture.redact import redact_text

    error = None if error is None else redact_text(error)
    session.store.finish_run(run_id, "failed" if error else "finished", error=error)
