"""What a step run looks like in the metadata store: a child run of the pipeline run.

Params are the step's params; tags ``tether.step`` (its name), ``tether.step.cached``
(true/false) and ``tether.step.cache_key``; inputs are ``object`` digests named after the
input, outputs are named after the output, plus ``logs``; ``info["step"]`` keeps outputs,
inputs, logs, duration and attempts for ``pipeline show`` and for cache lookups.

What the step logged itself (``tether.log_metrics``, ``log_params``, ``set_tags``,
``log_artifact``, the dataset versions it read; ``RunLogs`` from the worker) is written to its
run here, and kept in ``info["step"]["logged"]``, so that a run answered from the cache carries
the same params, tags, metrics, inputs and outputs as the run it reuses.

This module is the only one of ``tether.pipelines`` that writes the metadata store, always in
the calling process (tests/test_architecture.py); the pipeline's own run is a tracking run
(``tether.run``). Workers read the store (a step's ``tether.dataset(...)``) and write only the
object store: what a step logs travels back to the caller as ``RunLogs``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.store import ObjectRecord, Store

from tether.pipelines.cache import KEY_TAG, outputs_to_json
from tether.pipelines.values import StoredValue

log = logging.getLogger("tether.pipelines")

if TYPE_CHECKING:
    from tether.tracking.recorder import RunLogs

IoRow = tuple[str, str, str, str | None]

STEP_TAG = "tether.step"
CACHED_TAG = "tether.step.cached"
PIPELINE_TAG = "tether.pipeline"


def _param_text(params: dict[str, Any]) -> dict[str, str]:
    from tether.pipelines.datasets import plain
    from tether.tracking.active import params_text

    return params_text({k: plain(v) for k, v in params.items()})


def _add_io(store: Store, run_id: str, rows: Iterable[IoRow]) -> None:
    """Record (direction, kind, ref, name) rows in one transaction."""
    store.add_run_io_many(run_id, list(rows))


def add_io(session: Any, run_id: str, rows: Iterable[IoRow]) -> None:
    """Record (direction, kind, ref, name) rows of the pipeline run in one transaction."""
    _add_io(session.store, run_id, rows)


def record_pipeline(
    session: Any, run_id: str, objects: list[ObjectRecord], spec: dict[str, Any]
) -> None:
    """The pipeline run's spec (``info["pipeline"]``) and the objects of its constant inputs."""
    if objects:
        session.store.record_objects(objects)
    session.store.update_run_info(run_id, {"pipeline": spec})


def kill_step_run(session: Any, run_id: str) -> None:
    """End a step run that was running when the pipeline was interrupted."""
    session.store.finish_run(run_id, "killed", error="interrupted")


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
    inputs: dict[str, str],
    outputs: dict[str, StoredValue],
    logs: StoredValue | None,
    extra: Iterable[IoRow] = (),
) -> list[IoRow]:
    rows: list[IoRow] = [("input", "object", d, n) for n, d in inputs.items()]
    rows += [("output", "object", v.digest, n) for n, v in outputs.items()]
    if logs is not None:
        rows.append(("output", "object", logs.digest, "logs"))
    seen = set(rows)
    for row in extra:
        if row not in seen:
            seen.add(row)
            rows.append(row)
    return rows


def _logged_tags(logged: RunLogs | None) -> dict[str, str]:
    """The step's own tags; the ``tether.step*`` tags are the pipeline's to set."""
    if logged is None:
        return {}
    return {k: v for k, v in logged.tags.items() if not k.startswith(STEP_TAG)}


def _record_logged_objects(session: Any, logged: RunLogs | None) -> None:
    from tether.store import ObjectRecord

    if logged is not None and logged.objects:
        session.store.record_objects([ObjectRecord(d, s, k) for d, s, k in logged.objects])


def _create_logged_models(session: Any, run_id: str, logged: RunLogs) -> list[IoRow]:
    """The model versions the step logged (``tether.models.log``), made by the step's run;
    a cached step made none: the run it reuses made them."""
    from tether.store.errors import InvalidField

    rows: list[IoRow] = []
    for m in logged.models:
        fields = {
            "artifact_digest": m["digest"],
            "flavor": m["flavor"],
            "signature": m.get("signature"),
            "run_id": run_id,
        }
        try:  # under the number reserved when the step logged it
            version = session.store.create_model_version(
                session.project, m["name"], **fields, version=m.get("version")
            )
        except InvalidField as e:  # reserved in another store (the step ran elsewhere)
            log.warning("model %r: %s; it is created as the next version instead", m["name"], e)
            version = session.store.create_model_version(session.project, m["name"], **fields)
        rows.append(("output", "model_version", f"{m['name']}@{version.version}", m["name"]))
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
    logged: RunLogs | None = None,
    extra_io: Iterable[IoRow] = (),
) -> str:
    """A step answered from the cache: one finished child run pointing at the same objects,
    with what the reused run logged (params, tags, metrics, inputs, outputs)."""
    info = step_info(inputs, outputs, logs, 0.0, attempts=0, logged=logged)
    info["cached_from"] = source_run
    tags = {**_logged_tags(logged), STEP_TAG: name, CACHED_TAG: "true"}
    if key is not None:
        tags[KEY_TAG] = key
    _record_logged_objects(session, logged)
    run = session.store.create_run(  # one transaction: the run is finished as it is made
        session.project,
        experiment=experiment,
        name=name,
        parent_id=parent_id,
        params={**(logged.params if logged else {}), **_param_text(params)},
        tags=tags,
        info={"step": info},
        status="finished",
        io=io_rows(inputs, outputs, logs, [*extra_io, *(logged.io if logged else ())]),
    )
    if logged is not None and logged.metrics:
        session.store.log_metric_series(run.id, logged.metrics)
    return str(run.id)


def step_info(
    inputs: dict[str, str],
    outputs: dict[str, StoredValue],
    logs: StoredValue | None,
    duration_s: float | None,
    *,
    attempts: int,
    logged: RunLogs | None = None,
) -> dict[str, Any]:
    info = {
        "inputs": dict(inputs),
        "outputs": outputs_to_json(outputs),
        "logs": [logs.digest, logs.size] if logs else None,
        "duration_s": duration_s,
        "attempts": attempts,
    }
    if logged:
        info["logged"] = logged.to_json()
    return info


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
    logged: RunLogs | None = None,
    extra_io: Iterable[IoRow] = (),
) -> None:
    from tether.store import ObjectRecord

    records = [ObjectRecord(v.digest, v.size, "tree") for v in outputs.values()]
    if logs is not None:
        records.append(ObjectRecord(logs.digest, logs.size, "blob"))
    if logged is not None:
        records += [ObjectRecord(d, s, k) for d, s, k in logged.objects]
    if records:
        session.store.record_objects(records)
    extra = [*extra_io, *(logged.io if logged else ())]
    if logged is not None and logged.models and not error:
        extra += _create_logged_models(session, run_id, logged)
    _add_io(session.store, run_id, io_rows(inputs, outputs, logs, extra))
    if logged is not None and logged.params:
        session.store.log_params(run_id, logged.params)
    tags = _logged_tags(logged)
    if tags:
        session.store.set_tags(run_id, tags)
    info = step_info(inputs, outputs, logs, duration_s, attempts=attempts, logged=logged)
    session.store.update_run_info(run_id, {"step": info})
    from tether.tracking.capture.redact import redact_text

    error = None if error is None else redact_text(error)
    session.store.finish_run(
        run_id,
        "failed" if error else "finished",
        error=error,
        metrics=logged.metrics if logged and logged.metrics else None,
    )
