"""T1 metric ingest: 100 keys x 1,000 steps into one run, vs MLflow on SQLite.

Also holds what T1 and T2 share: the fresh workspaces (outside any git repository), the worker
command, and a table of rates (points/s, runs/s) with Tether / anchor ratios.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from benchmarks import harness
from benchmarks.common import Options, anchor_bin, tether_python, tether_script, versions

WORKLOAD = "t1"
SEED = 1
KEYS = 100
RUNNER = harness.BENCH_DIR / "_tracking_runner.py"

# tool -> how the row reads in the table
T1_TOOLS = {
    "tether": "run.log_metrics(dict, step), synchronous FULL",
    "tether-normal": "run.log_metrics(dict, step), synchronous NORMAL",
    "mlflow": "mlflow.log_metrics(dict, step)",
    "mlflow-batch": "MlflowClient.log_batch(100 Metric)",
    "mlflow-async": "log_metrics, async logging on",
}
TARGET_T1 = 300.0  # Tether points/s >= 300x MLflow per-step log_metrics, at equal durability

# Tether's SQLite synchronous level per side: FULL is MLflow's durability (its SQLite store sets
# no synchronous pragma, so SQLite's default FULL holds: every commit is synced); NORMAL is
# Tether's default (WAL: never corrupt, but a power loss may undo the last commits)
SYNCHRONOUS = {"tether": "FULL", "tether-normal": "NORMAL"}


# ------------------------------------------------------------------------ shared with T2


def wanted(opts: Options, tool: str) -> bool:
    """``--only`` names tools here (tether, mlflow, mlflow-batch, ...); None runs all."""
    return opts.only is None or tool in opts.only


def new_workspace(workload: str, tool: str) -> Path:
    """A fresh folder in the system temp dir, with the worker script copied in.

    Not under ``benchmarks/.data``: that is inside this git repository, and both tools record
    git state from where they run (Tether from the current folder, MLflow from the script's
    folder); outside any repository neither does, so both do the same work.
    """
    ws = Path(tempfile.mkdtemp(prefix=f"tether-bench-{workload}-{tool}-"))
    shutil.copy2(RUNNER, ws / RUNNER.name)
    if tool in SYNCHRONOUS:
        harness.run_measured([str(tether_script()), "init", str(ws)], cwd=ws, timeout=120)
    return ws


def worker(
    python: Path, ws: Path, workload: str, tool: str, *args: object, timeout: float
) -> harness.Sample:
    """Run the worker for ``tool`` in a fresh process in ``ws``; its JSON line is the sample.

    The Tether sides run the worker's ``tether`` code with their SQLite synchronous level.
    """
    env = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    if tool in SYNCHRONOUS:
        env["TETHER_STORE_SQLITE_SYNCHRONOUS"] = SYNCHRONOUS[tool]
        tool = "tether"
    cmd = [str(python), str(ws / RUNNER.name), workload, tool, *(str(a) for a in args)]
    sample = harness.run_measured(cmd, cwd=ws, env=env, timeout=timeout, stdout_json=True)
    want = env.get("TETHER_STORE_SQLITE_SYNCHRONOUS")
    got = sample.extra.get("sqlite", {}).get("synchronous")
    if want is not None and got != want:
        raise harness.CommandError(f"store ran with synchronous {got}, not {want}")
    return sample


def python_for(tool: str) -> Path:
    """The interpreter of a side: the current one for Tether, the MLflow venv's otherwise."""
    return tether_python() if tool in SYNCHRONOUS else anchor_bin("mlflow") / "python"


def durability(results: Sequence[harness.Result]) -> str:
    """Each side's SQLite synchronous level and journal mode, as its worker read them."""
    seen = []
    for r in results:
        if r.samples:
            sq = r.samples[0].extra.get("sqlite") or {}
            seen.append(f"{r.tool} synchronous={sq.get('synchronous')} ({sq.get('journal_mode')})")
    return "SQLite durability as measured on each side's own connection: " + "; ".join(seen)


def fmt_rate(x: float | None, unit: str) -> str:
    return "-" if x is None else f"{x:,.0f} {unit}"


@dataclass
class Row:
    """A row of the rate table: a result and how many items each of its samples processed."""

    result: harness.Result
    count: float | None = None  # items per repetition (points, runs); None: a latency row
    unit: str = ""
    per_call: Callable[[harness.Sample], float] | None = None  # seconds per call, from a sample
    baseline: Row | None = None  # the Tether row an anchor row is compared with

    def rate(self) -> float | None:
        m = self.result.median
        return self.count / m if self.count and m else None


def print_rate_table(title: str, rows: Sequence[Row], notes: Sequence[str] = ()) -> None:
    """Like ``harness.print_table``, with a rate column and ratios on rates (or latencies)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in ("workload", "case", "tool"):
        table.add_column(col)
    for col in ("median", "min - max", "rate", "per call", "wall (process)", "peak RSS"):
        table.add_column(col, justify="right")
    table.add_column("Tether vs this", justify="right")
    errors = []
    for row in rows:
        r = row.result
        if r.error:
            errors.append(f"[red]error[/red] {r.label}: {r.error[:600]}")
            table.add_row(r.workload, r.case, r.tool, "[red]error[/red]", "(see below)")
            continue
        ratio = ""
        base = row.baseline
        if base is not None and not base.result.error:
            if row.count:  # rates: Tether items/s / this row's items/s
                mine, theirs = row.rate(), base.rate()
                if mine and theirs:
                    ratio = f"{theirs / mine:,.1f}x faster"
            else:  # latencies: this row's / Tether's
                mine_s, theirs_s = r.median, base.result.median
                if mine_s and theirs_s:
                    ratio = f"{mine_s / theirs_s:,.1f}x faster"
        per_call = ""
        if row.per_call and r.samples:
            per_call = fmt_us(statistics.median(row.per_call(s) for s in r.samples))
        rss = r.peak_rss
        table.add_row(
            r.workload,
            r.case,
            r.tool + (f" [dim]({r.note})[/dim]" if r.note else ""),
            harness.fmt_s(r.median) if row.count else fmt_ms(r.median),
            harness.fmt_range(r) if row.count else fmt_ms_range(r),
            fmt_rate(row.rate(), row.unit) if row.count else "",
            per_call,
            harness.fmt_s(r.wall_median) if row.count else "",
            f"{rss / 1e6:.0f} MB" if rss and row.count else "",
            ratio,
        )
    console = Console(width=200)
    console.print(table)
    for n in [*notes, *errors]:
        console.print(f"  {n}", highlight=False)


def fmt_us(s: float) -> str:
    return f"{s * 1e6:,.1f} µs" if s < 1e-3 else f"{s * 1e3:,.2f} ms"


def fmt_ms(s: float | None) -> str:
    return "-" if s is None else f"{s * 1e3:,.2f} ms"


def fmt_ms_range(r: harness.Result) -> str:
    t = r.times()
    return f"{fmt_ms(min(t))} - {fmt_ms(max(t))}" if t else "-"


def host_load() -> str:
    """The load averages against the CPU count, to say how busy the shared machine was."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} CPUs"


# ----------------------------------------------------------------------------------- T1


def run(opts: Options) -> list[harness.Result]:
    steps = 100 if opts.quick else 1000
    points = steps * KEYS
    n = opts.repeat
    load_before = host_load()
    rows: list[Row] = []
    cases: list[harness.Case] = []
    tether_row: Row | None = None

    for tool, label in T1_TOOLS.items():
        r = harness.Result(WORKLOAD, "ingest", tool, note=label)
        row = Row(r, points, "points/s", per_call=lambda s: float(s.extra["loop_s"]) / steps)
        rows.append(row)
        if tool == "tether":
            tether_row = row
        elif tool not in SYNCHRONOUS:
            row.baseline = tether_row
        if not wanted(opts, tool):
            r.error = "skipped (--only)"
            continue
        try:
            python = python_for(tool)
        except Exception as e:  # the anchor venv could not be installed
            r.error = str(e)
            continue

        def fn(ws: Path, tool: str = tool, python: Path = python) -> harness.Sample:
            s = worker(python, ws, "t1", tool, ws, steps, KEYS, SEED, timeout=opts.timeout)
            if s.extra.get("points") != points:
                raise harness.CommandError(f"{s.extra.get('points')} points stored, not {points}")
            return s

        cases.append(harness.Case(r, fn, partial(new_workspace, WORKLOAD, tool), harness.rmtree))

    harness.run_cases(cases, n=n)
    load_after = host_load()
    notes = [
        f"data: one run, {KEYS} keys x {steps:,} steps = {points:,} points, seeded"
        f" (random.Random({SEED})), one log call per step; SQLite store in a fresh temp"
        " workspace per repetition (Tether: `tether init`; MLflow: sqlite:///WS/mlflow.db,"
        " experiment created untimed); all cases interleaved",
        "median/min-max: from just before the logging loop to after the run is left (every"
        " point durable in the store); run start, imports and interpreter start-up not counted"
        " ('wall (process)' counts them); per call: loop time / steps",
        "Tether vs this: Tether (synchronous FULL, every commit synced like MLflow's) points/s"
        " / this row's points/s; the tether-normal row is Tether's default durability",
        f"host: {load_before} before, {load_after} after",
    ]
    notes.append(durability([row.result for row in rows]))
    notes += summary(rows)
    results = [row.result for row in rows]
    print_rate_table(f"T1 metric ingest ({points:,} points), median of {n}", rows, notes)
    harness.save_results(
        WORKLOAD,
        results,
        {
            "versions": versions(),
            "steps": steps,
            "keys": KEYS,
            "seed": SEED,
            "repeat": n,
            "rates_points_per_s": {row.result.tool: row.rate() for row in rows},
            "summary": notes,
        },
    )
    return results


def summary(rows: Sequence[Row]) -> list[str]:
    by_tool = {row.result.tool: row for row in rows}
    per_step = by_tool["mlflow"]
    out = []
    for tool, level in SYNCHRONOUS.items():
        t_rate, m_rate = by_tool[tool].rate(), per_step.rate()
        if t_rate and m_rate:
            q = t_rate / m_rate
            target = (
                f" (target >= {TARGET_T1:.0f}x: {'meets' if q >= TARGET_T1 else 'MISSES'})"
                if tool == "tether"
                else ""
            )
            out.append(
                f"Tether synchronous {level} {t_rate:,.0f} points/s / MLflow per-step"
                f" log_metrics {m_rate:,.0f} points/s = {q:,.1f}x{target}"
            )
    for row in rows:
        r = row.result
        if r.samples:
            end = statistics.median(float(s.extra["end_s"]) for s in r.samples)
            start = statistics.median(float(s.extra["start_s"]) for s in r.samples)
            out.append(
                f"{r.tool}: leaving the run (flush, finish) {harness.fmt_s(end)};"
                f" untimed run start incl. imports {harness.fmt_s(start)}"
            )
    return out
