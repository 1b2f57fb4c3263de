"""T2 run search: create 10,000 runs, then filter + order + limit, vs MLflow on SQLite."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks import harness
from benchmarks.common import Options, versions
from benchmarks.t1 import (
    Row,
    durability,
    fmt_ms,
    host_load,
    new_workspace,
    print_rate_table,
    python_for,
    wanted,
    worker,
)

WORKLOAD = "t2"
SEED = 2
SEARCHES = 20
WARMUPS = 2
TARGET_CREATE = 50.0  # Tether (synchronous FULL) runs/s >= 50x MLflow's
TARGET_SEARCH_S = 0.005  # Tether median search < 5 ms, metrics of the returned runs loaded
QUERY = "metrics.acc > 0.9 and params.model = 'a', order by metrics.acc desc, limit 100"


def derived(r: harness.Result, case: str, key: str, note: str) -> harness.Result:
    """A search row from the worker samples of ``r``: each sample's in-process median."""
    d = harness.Result(WORKLOAD, case, r.tool, note=note, error=r.error)
    for s in r.samples:
        search = s.extra[key]
        d.samples.append(harness.Sample(s.wall_s, float(search["median_s"]), None, dict(search)))
    return d


def run(opts: Options) -> list[harness.Result]:
    n_runs = 1000 if opts.quick else 10_000
    prefix = max(100, n_runs // 10)
    n = opts.repeat
    load_before = host_load()
    create: dict[str, harness.Result] = {}
    cases: list[harness.Case] = []
    for tool, note in (
        ("tether", "tether.run(params) + log_metrics, synchronous FULL"),
        ("tether-normal", "tether.run(params) + log_metrics, synchronous NORMAL"),
        ("mlflow", "start_run + log_params + log_metrics"),
    ):
        r = harness.Result(WORKLOAD, "create", tool, note=note)
        create[tool] = r
        if not wanted(opts, tool):
            r.error = "skipped (--only)"
            continue
        try:
            python = python_for(tool)
        except Exception as e:  # the anchor venv could not be installed
            r.error = str(e)
            continue

        def fn(ws: Path, tool: str = tool, python: Path = python) -> harness.Sample:
            s = worker(
                python,
                ws,
                "t2",
                tool,
                ws,
                n_runs,
                prefix,
                SEED,
                SEARCHES,
                WARMUPS,
                timeout=opts.timeout,
            )
            check(s)
            return s

        cases.append(harness.Case(r, fn, partial(new_workspace, WORKLOAD, tool), harness.rmtree))

    harness.run_cases(cases, n=n)
    load_after = host_load()

    t_create, m_create = create["tether"], create["mlflow"]
    n_create = create["tether-normal"]
    timed = {
        tool: int(statistics.median(int(s.extra["timed_runs"]) for s in r.samples))
        for tool, r in create.items()
        if r.samples
    }
    m_per_run = per_run
    if m_create.samples and timed.get("mlflow", n_runs) < n_runs:
        # MLflow timed only its first runs in most repetitions; a repetition that went past
        # MLFLOW_SLOW_RUNS_S timed all runs: compare every repetition on its first runs
        m_create.note += f"; first {prefix:,} runs timed"
        for s in m_create.samples:
            s.op_s = float(s.extra["prefix_s"])
        timed["mlflow"] = prefix
        m_per_run = per_prefix_run
    t_row = Row(t_create, timed.get("tether", n_runs), "runs/s", per_call=per_run)
    m_row = Row(m_create, timed.get("mlflow", n_runs), "runs/s", per_call=m_per_run, baseline=t_row)
    t_search = Row(derived(t_create, "search", "search", "tether.search_runs, metrics loaded"))
    n_row = Row(n_create, timed.get("tether-normal", n_runs), "runs/s", per_call=per_run)
    n_search = Row(derived(n_create, "search", "search", "tether.search_runs, metrics loaded"))
    m_fluent = derived(m_create, "search", "search", "mlflow.search_runs, list")
    m_client = derived(m_create, "search", "search_client", "MlflowClient.search_runs")
    fast = min((m_fluent, m_client), key=lambda r: r.median if r.median is not None else 1e9)
    fast.note += "; faster: the anchor"
    m_rows = [Row(m_fluent, baseline=t_search), Row(m_client, baseline=t_search)]
    rows = [t_row, m_row, t_search, *m_rows]
    # Tether on the same prefix as MLflow, when MLflow timed only a prefix
    prefix_rows: list[Row] = []
    if t_create.samples and timed.get("mlflow", n_runs) < n_runs:
        tp = harness.Result(WORKLOAD, "create", "tether", note=f"first {prefix:,} runs")
        for s in t_create.samples:
            tp.samples.append(harness.Sample(s.wall_s, float(s.extra["prefix_s"]), None))
        prefix_rows = [Row(tp, prefix, "runs/s", per_call=lambda s: float(s.op_s or 0) / prefix)]
        m_row.baseline = prefix_rows[0]
    rows = [t_row, n_row, *prefix_rows, m_row, t_search, n_search, *m_rows]

    notes = [
        f"data: {n_runs:,} runs in one experiment, 10 params (model in a-d) and 10 final"
        f" metrics (acc uniform 0..1) each, seeded (random.Random({SEED})); SQLite store in a"
        " fresh temp workspace per repetition; tools interleaved",
        "create: time to create the timed runs (start, params, metrics, end) inside the process;"
        " rate = timed runs / median",
        f"search: {QUERY}; per repetition the median of {SEARCHES} searches after {WARMUPS}"
        " warm-ups in the process that created the data; the table shows the median over"
        " repetitions (min - max of those medians); each search's clock stops once the"
        " metrics of the returned runs are loaded (MLflow's search returns them; Tether's"
        " loop reads run.metrics of every returned run)",
        "Tether vs this: on create rows Tether (synchronous FULL, every commit synced like"
        " MLflow's) runs/s / this row's runs/s (against Tether's first runs when MLflow timed"
        " only a prefix); on search rows this latency / Tether's; tether-normal: Tether's"
        " default durability",
        durability(list(create.values())),
        f"host: {load_before} before, {load_after} after",
    ]
    if m_create.samples and timed.get("mlflow", n_runs) < n_runs:
        fill = statistics.median(float(s.extra["fill_s"]) for s in m_create.samples)
        notes.append(
            f"MLflow created fewer than 30 runs/s, so only its first {timed['mlflow']:,} runs"
            f" were timed; the other {n_runs - timed['mlflow']:,} were added untimed"
            f" ({fill:.1f} s) as SQL copies of the last MLflow-made run's rows (runs, tags,"
            " params, metrics, latest_metrics) with this run's values: the same rows, so the"
            " same search work"
        )
    notes += summary(t_row, m_row, prefix_rows, t_search, fast, create)
    results = [row.result for row in rows]
    print_rate_table(f"T2 run search ({n_runs:,} runs), median of {n}", rows, notes)
    harness.save_results(
        WORKLOAD,
        results,
        {
            "versions": versions(),
            "runs": n_runs,
            "prefix": prefix,
            "seed": SEED,
            "repeat": n,
            "searches": SEARCHES,
            "warmups": WARMUPS,
            "summary": notes,
        },
    )
    return results


def per_run(s: harness.Sample) -> float:
    return float(s.extra["create_s"]) / int(s.extra["timed_runs"])


def per_prefix_run(s: harness.Sample) -> float:
    return float(s.extra["prefix_s"]) / int(s.extra["prefix_runs"])


def check(s: harness.Sample) -> None:
    """The search found every match, in order, and the limit holds."""
    for key in ("search", "search_client"):
        got = s.extra.get(key)
        if got is None:
            continue
        want = min(int(s.extra["expected_matches"]), 100)
        if got["total_matches"] != s.extra["expected_matches"] or got["returned"] != want:
            raise harness.CommandError(
                f"{key}: {got['returned']} returned / {got['total_matches']} matching,"
                f" expected {want} / {s.extra['expected_matches']}"
            )
        if not got["sorted_desc"]:
            raise harness.CommandError(f"{key}: not sorted by acc descending")


def _cpu_median(r: harness.Result, key: str) -> float | None:
    """The median over repetitions of a search's thread CPU median (``cpu_median_s``)."""
    found = [
        float(s.extra[key]["cpu_median_s"])
        for s in r.samples
        if key in s.extra and "cpu_median_s" in s.extra[key]
    ]
    return statistics.median(found) if found else None


def summary(
    t_row: Row,
    m_row: Row,
    prefix_rows: Sequence[Row],
    t_search: Row,
    fast: harness.Result,
    create: dict[str, harness.Result],
) -> list[str]:
    out = []
    found: dict[str, Any] = {}
    for tool, r in create.items():
        if r.samples:
            search = r.samples[0].extra["search"]
            found[tool] = (search["returned"], search["total_matches"], search["acc_sum"])
            out.append(
                f"{tool}: search returned {search['returned']} runs of"
                f" {search['total_matches']} matching (expected"
                f" {r.samples[0].extra['expected_matches']}); top acc {search['top_acc']}"
            )
    if len(found) > 1:
        same = len(set(found.values())) == 1
        out.append(
            "every side returns the same runs (count, sum of acc)"
            if same
            else f"RESULTS DIFFER: {found}"
        )
    base = prefix_rows[0] if prefix_rows else t_row
    t_rate, m_rate = base.rate(), m_row.rate()
    if t_rate and m_rate:
        q = t_rate / m_rate
        verdict = "meets" if q >= TARGET_CREATE else "MISSES"
        out.append(
            f"create: Tether {t_rate:,.0f} runs/s / MLflow {m_rate:,.1f} runs/s = {q:,.1f}x"
            f" (target >= {TARGET_CREATE:.0f}x: {verdict})"
            + (f"; Tether over all runs: {t_row.rate():,.0f} runs/s" if prefix_rows else "")
        )
    normal = create.get("tether-normal")
    if normal is not None and normal.samples and m_rate:
        key = "prefix_s" if prefix_rows else "create_s"
        runs = int(normal.samples[0].extra["prefix_runs" if prefix_rows else "timed_runs"])
        n_s = statistics.median(float(s.extra[key]) for s in normal.samples)
        out.append(
            f"create, Tether synchronous NORMAL: {runs / n_s:,.0f} runs/s"
            f" = {runs / n_s / m_rate:,.1f}x MLflow"
        )
    ts = t_search.result.median
    if ts is not None:
        verdict = "meets" if ts < TARGET_SEARCH_S else "MISSES"
        line = (
            f"search: Tether median {fmt_ms(ts)}, metrics loaded"
            f" (target < {TARGET_SEARCH_S * 1e3:g} ms: {verdict})"
        )
        if fast.median is not None:
            line += f"; MLflow ({fast.note.split(';')[0]}) {fmt_ms(fast.median)}"
            line += f" = {fast.median / ts:,.1f}x Tether's"
        out.append(line)
        cpu = {
            label: _cpu_median(r, key)
            for label, r, key in (
                ("Tether", create["tether"], "search"),
                ("MLflow fluent", create["mlflow"], "search"),
                ("MLflow client", create["mlflow"], "search_client"),
            )
        }
        shown = [f"{label} {fmt_ms(c)}" for label, c in cpu.items() if c is not None]
        if shown:
            out.append(
                "search, thread CPU (median of each process's median; the wall time above"
                " also holds waiting for a core on a busy host): " + ", ".join(shown)
            )
    return out
