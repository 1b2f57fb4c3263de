"""Two real processes writing one SQLite store at the same time both succeed."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

from tether.store import MetricPoint, open_store


def _writer(url: str, worker: int, barrier: Any, results: Any) -> None:
    versions = []
    with open_store(url, busy_timeout_s=30) as store:
        barrier.wait(timeout=60)  # start writing together
        started = time.time()
        store.get_or_create_project("p")
        for i in range(20):
            run = store.create_run("p", name=f"w{worker}-{i}", params={"worker": str(worker)})
            store.log_metrics(
                run.id, [MetricPoint(f"m{k}", s, s, float(s)) for s in range(50) for k in range(4)]
            )
            store.set_run_status(run.id, "finished")
            version = store.create_dataset_version(
                "p", "shared", tree_digest=f"{worker}-{i}", file_count=1, total_size=1
            )
            versions.append(version.version)
    results.put((worker, started, time.time(), versions))


def test_two_processes_write_one_sqlite_store(sqlite_store_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(sqlite_store_url, w, barrier, results)) for w in (0, 1)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    (_, start_a, end_a, versions_a), (_, start_b, end_b, versions_b) = outcomes
    assert max(start_a, start_b) < min(end_a, end_b), "the writers did not overlap"
    assert sorted(versions_a + versions_b) == list(range(1, 41))
    with open_store(sqlite_store_url) as store:
        runs = store.list_runs("p")
        assert len(runs) == 40 and all(r.status == "finished" for r in runs)
        assert {r.params["worker"] for r in runs} == {"0", "1"}
        for run in runs:
            assert store.get_metric_summaries(run.id)["m3"].count == 50
