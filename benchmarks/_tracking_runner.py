"""One tracking benchmark (T1, T2) in a fresh interpreter; prints one JSON line with ``op_s``.

Run by path from the Tether environment or from the MLflow venv: only the standard library is
imported at the top, and ``tether`` / ``mlflow`` only inside the functions for that tool, so the
same script (and the same seeded data) serves both sides.

    python _tracking_runner.py t1 TOOL WORKSPACE STEPS KEYS SEED
    python _tracking_runner.py t2 TOOL WORKSPACE RUNS PREFIX SEED SEARCHES WARMUPS

T1 TOOLs: ``tether``, ``mlflow`` (``log_metrics`` per step), ``mlflow-batch`` (``log_batch``
with one ``Metric`` per key), ``mlflow-async`` (``log_metrics`` with async logging on; leaving
the run waits for the queue). T2 TOOLs: ``tether``, ``mlflow``. Tether's SQLite durability comes
from the environment (``TETHER_STORE_SQLITE_SYNCHRONOUS``, set by the parent); each side reports
the ``synchronous`` level and journal mode of its own store connection (``sqlite``).

The parent runs it with the workspace as the current folder (outside any git repository), after
``tether init`` there for Tether; MLflow's SQLite database is ``WORKSPACE/mlflow.db``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

T2_FILTER = "metrics.acc > 0.9 and params.model = 'a'"
T2_LIMIT = 100
MLFLOW_SLOW_RUNS_S = 30.0  # below this MLflow creation rate only the prefix is timed


# ------------------------------------------------------------------------------------- data


def t1_data(steps: int, keys: int, seed: int) -> list[dict[str, float]]:
    """``steps`` dicts of ``keys`` seeded values (the same on both sides)."""
    rng = random.Random(seed)
    names = [f"m{k:03d}" for k in range(keys)]
    return [{name: rng.random() for name in names} for _ in range(steps)]


def t2_data(runs: int, seed: int) -> list[tuple[dict[str, str], dict[str, float]]]:
    """Per run: 10 params (``model`` in a-d) and 10 final metrics (``acc`` uniform in 0..1)."""
    rng = random.Random(seed)
    out = []
    for _ in range(runs):
        params = {"model": rng.choice("abcd")}
        params.update({f"p{j}": f"{rng.random():.6f}" for j in range(1, 10)})
        metrics = {"acc": rng.random()}
        metrics.update({f"m{j}": rng.random() for j in range(1, 10)})
        out.append((params, metrics))
    return out


def expected_matches(data: list[tuple[dict[str, str], dict[str, float]]]) -> int:
    return sum(1 for p, m in data if m["acc"] > 0.9 and p["model"] == "a")


def _mlflow_env() -> str:
    """Tracking URI of ``./mlflow.db``; telemetry off (the benchmark machine is offline)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    return "sqlite:///" + os.path.abspath("mlflow.db")


def _mlflow_points(run_id: str) -> int:
    with sqlite3.connect("mlflow.db") as con:
        return int(
            con.execute("SELECT count(*) FROM metrics WHERE run_uuid = ?", (run_id,)).fetchone()[0]
        )


def _pragmas(conn: Any) -> dict[str, Any]:
    """SQLite's durability settings on a connection the tool itself uses."""
    return {
        "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(
            conn.exec_driver_sql("PRAGMA synchronous").scalar()
        ),
        "journal_mode": conn.exec_driver_sql("PRAGMA journal_mode").scalar(),
    }


def _tether_pragmas() -> dict[str, Any]:
    from tether.tracking.session import open_session

    with open_session().store._engine.connect() as conn:  # type: ignore[attr-defined]
        return _pragmas(conn)


def _mlflow_pragmas() -> dict[str, Any]:
    from mlflow.tracking._tracking_service.utils import _get_store

    with _get_store().engine.connect() as conn:
        return _pragmas(conn)


# --------------------------------------------------------------------------------------- T1


def t1_tether(data: list[dict[str, float]]) -> dict[str, Any]:
    t_import = time.perf_counter()
    import tether

    run = tether.run(name="t1")
    start_s = time.perf_counter() - t_import
    with run:
        t0 = time.perf_counter()
        for i, values in enumerate(data):
            run.log_metrics(values, step=i)
        t1 = time.perf_counter()
    tether.flush()  # the run's end and last points are queued: time until they are durable
    t2 = time.perf_counter()
    view = tether.get_run(run.id)
    points = sum(s.count for s in view.metric_summaries.values())
    return {
        "op_s": t2 - t0,
        "loop_s": t1 - t0,
        "end_s": t2 - t1,
        "start_s": start_s,
        "points": points,
        "sqlite": _tether_pragmas(),
    }


def _t1_mlflow(data: list[dict[str, float]], variant: str) -> dict[str, Any]:
    uri = _mlflow_env()
    t_import = time.perf_counter()
    import mlflow
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(uri)
    exp = mlflow.create_experiment("t1")  # creates the database: not timed
    client = MlflowClient()
    if variant == "async":
        mlflow.config.enable_async_logging(True)
    run = mlflow.start_run(experiment_id=exp, run_name="t1")
    run_id = run.info.run_id
    start_s = time.perf_counter() - t_import
    with run:
        t0 = time.perf_counter()
        if variant == "batch":
            for i, values in enumerate(data):
                ts = int(time.time() * 1000)
                client.log_batch(run_id, metrics=[Metric(k, v, ts, i) for k, v in values.items()])
        else:
            for i, values in enumerate(data):
                mlflow.log_metrics(values, step=i)
        t1 = time.perf_counter()
    t2 = time.perf_counter()  # end_run shuts the async queue down: everything is written
    return {
        "op_s": t2 - t0,
        "loop_s": t1 - t0,
        "end_s": t2 - t1,
        "start_s": start_s,
        "points": _mlflow_points(run_id),
        "sqlite": _mlflow_pragmas(),
    }


# --------------------------------------------------------------------------------------- T2


def _timed(
    fn: Callable[[], list[Any]], searches: int, warmups: int
) -> tuple[list[float], list[float], Any]:
    """Wall and thread CPU seconds of each timed call (CPU: the steadier figure on a busy host,
    where the wall time includes waiting for a core), and the last call's result."""
    got: Any = None
    times, cpu = [], []
    for i in range(warmups + searches):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        got = fn()
        dt = time.perf_counter() - t0
        dc = time.thread_time() - c0
        if i >= warmups:
            times.append(dt)
            cpu.append(dc)
    return times, cpu, got


def _search_summary(
    times: list[float], cpu: list[float], accs: list[float], total: int
) -> dict[str, Any]:
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "samples_s": times,
        "cpu_median_s": statistics.median(cpu),
        "returned": len(accs),
        "total_matches": total,
        "sorted_desc": all(a >= b for a, b in itertools.pairwise(accs)),
        "top_acc": [round(a, 12) for a in accs[:3]],
        "acc_sum": round(sum(accs), 9),
    }


def t2_tether(
    data: list[tuple[dict[str, str], dict[str, float]]], prefix: int, searches: int, warmups: int
) -> dict[str, Any]:
    import tether

    tether.search_runs("", limit=1)  # open the store (creates the database): not timed
    prefix_s = None
    t0 = time.perf_counter()
    for i, (params, metrics) in enumerate(data):
        if i == prefix:
            tether.flush()
            prefix_s = time.perf_counter() - t0
        with tether.run(experiment="t2", params=params) as run:
            run.log_metrics(metrics)
    tether.flush()  # run records are written in batches: time until every run is durable
    create_s = time.perf_counter() - t0

    def search() -> list[Any]:
        runs = tether.search_runs(
            T2_FILTER, order_by="metrics.acc desc", limit=T2_LIMIT, experiment="t2"
        )
        for r in runs:  # the clock stops once the metrics are loaded, as MLflow's are
            r.metrics  # noqa: B018
        return runs

    times, cpu, got = _timed(search, searches, warmups)
    accs = [r.metrics["acc"] for r in got]
    total = len(tether.search_runs(T2_FILTER, limit=len(data) + 1, experiment="t2"))
    return {
        "op_s": create_s,
        "timed_runs": len(data),
        "create_s": create_s,
        "prefix_runs": prefix if prefix_s is not None else len(data),
        "prefix_s": prefix_s if prefix_s is not None else create_s,
        "fill_s": 0.0,
        "runs": len(data),
        "expected_matches": expected_matches(data),
        "search": _search_summary(times, cpu, accs, total),
        "sqlite": _tether_pragmas(),
    }


MLFLOW_RUN_TABLES = ("runs", "tags", "params", "metrics", "latest_metrics")


def mlflow_clone_fill(
    db: str, template: str, rest: list[tuple[dict[str, str], dict[str, float]]]
) -> None:
    """Insert ``rest`` as copies of the MLflow-created run ``template``, in one transaction.

    Every row the template has in MLflow's run tables is copied with a new run id (also inside
    strings such as the artifact URI), a new name, and this run's param and metric values; so
    the rows have exactly the shape MLflow wrote. Untimed: it only builds the search data.
    """
    con = sqlite3.connect(db)
    with con:
        rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            cols = [c[1] for c in con.execute(f"PRAGMA table_info({table})")]
            key = "run_uuid" if "run_uuid" in cols else "run_id" if "run_id" in cols else None
            if key is None:
                continue
            got = con.execute(f"SELECT * FROM {table} WHERE {key} = ?", (template,)).fetchall()
            if got and table not in MLFLOW_RUN_TABLES:
                raise RuntimeError(f"template run has rows in {table}: cannot clone")
            if got:
                rows[table] = (cols, got)
        for n, (params, metrics) in enumerate(rest):
            run_id = uuid.uuid4().hex
            name = f"fill-{n}"
            for table, (cols, got) in rows.items():
                out = []
                for row in got:
                    rec = {
                        c: v.replace(template, run_id) if isinstance(v, str) else v
                        for c, v in zip(cols, row, strict=True)
                    }
                    if table == "runs":
                        rec["name"] = name
                    elif table == "tags" and rec["key"] == "mlflow.runName":
                        rec["value"] = name
                    elif table == "params":
                        rec["value"] = params[rec["key"]]
                    elif table in ("metrics", "latest_metrics"):
                        rec["value"] = metrics[rec["key"]]
                    out.append(tuple(rec[c] for c in cols))
                marks = ", ".join("?" * len(cols))
                con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", out)
    con.close()


def t2_mlflow(
    data: list[tuple[dict[str, str], dict[str, float]]], prefix: int, searches: int, warmups: int
) -> dict[str, Any]:
    """Time run creation with the fluent API; once the first ``prefix`` runs show fewer than
    ``MLFLOW_SLOW_RUNS_S`` runs/s, add the rest untimed as SQL copies of the last MLflow-made
    run (``mlflow_clone_fill``): the same rows MLflow writes, so the same search work."""
    uri = _mlflow_env()
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(uri)
    exp = mlflow.create_experiment("t2")  # creates the database: not timed
    client = MlflowClient()
    prefix = min(prefix, len(data))
    last = ""
    t0 = time.perf_counter()
    for params, metrics in data[:prefix]:
        with mlflow.start_run(experiment_id=exp) as run:
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
        last = run.info.run_id
    prefix_s = time.perf_counter() - t0
    rest = data[prefix:]
    timed = prefix
    fill_s = 0.0
    if rest and prefix / prefix_s >= MLFLOW_SLOW_RUNS_S:
        for params, metrics in rest:
            with mlflow.start_run(experiment_id=exp):
                mlflow.log_params(params)
                mlflow.log_metrics(metrics)
        timed = len(data)
    elif rest:
        t1 = time.perf_counter()
        mlflow_clone_fill("mlflow.db", last, rest)
        fill_s = time.perf_counter() - t1
    create_s = time.perf_counter() - t0 - fill_s

    def fluent() -> list[Any]:
        return mlflow.search_runs(
            experiment_ids=[exp],
            filter_string=T2_FILTER,
            order_by=["metrics.acc DESC"],
            max_results=T2_LIMIT,
            output_format="list",
        )

    def direct() -> list[Any]:
        return list(
            client.search_runs(
                experiment_ids=[exp],
                filter_string=T2_FILTER,
                order_by=["metrics.acc DESC"],
                max_results=T2_LIMIT,
            )
        )

    out: dict[str, Any] = {
        "op_s": create_s,
        "timed_runs": timed,
        "create_s": create_s,
        "prefix_runs": prefix,
        "prefix_s": prefix_s,
        "fill_s": fill_s,
        "runs": len(data),
        "expected_matches": expected_matches(data),
        "sqlite": _mlflow_pragmas(),
    }
    total = len(
        mlflow.search_runs(
            experiment_ids=[exp],
            filter_string=T2_FILTER,
            max_results=len(data) + 1,
            output_format="list",
        )
    )
    for name, fn in (("search", fluent), ("search_client", direct)):
        times, cpu, got = _timed(fn, searches, warmups)
        accs = [r.data.metrics["acc"] for r in got]
        out[name] = _search_summary(times, cpu, accs, total)
    return out


# ------------------------------------------------------------------------------------- main


def main() -> None:
    workload, tool, workspace, *rest = sys.argv[1:]
    os.chdir(workspace)
    if workload == "t1":
        steps, keys, seed = (int(a) for a in rest)
        data = t1_data(steps, keys, seed)
        if tool == "tether":
            result = t1_tether(data)
        else:
            variant = {"mlflow": "fluent", "mlflow-batch": "batch", "mlflow-async": "async"}[tool]
            result = _t1_mlflow(data, variant)
        result["expected_points"] = steps * keys
    elif workload == "t2":
        runs, prefix, seed, searches, warmups = (int(a) for a in rest)
        data2 = t2_data(runs, seed)
        fn = t2_tether if tool == "tether" else t2_mlflow
        result = fn(data2, prefix, searches, warmups)
    else:
        raise SystemExit(f"unknown workload {workload!r}")
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
