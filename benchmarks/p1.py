"""P1 pipeline step overhead: 100 chained no-op steps, first run and all-cached run, vs Metaflow.

Tether: a generated module of ``@step`` functions ``s1(0) -> s2 -> ... -> sN`` and a
``@pipeline``, in a fresh ``tether init`` workspace (embedded SQLite), run in a fresh process
(``_pipeline_runner.py tether EXECUTOR N``) with the process executor and with the inline
executor: first run (nothing cached), then a second run in a new process (every step cached);
timed inside the process around the pipeline call.

Metaflow: a generated ``FlowSpec`` start -> s1 -> ... -> sN -> end, ``python p1_flow.py --quiet
--no-pylint run`` with local metadata and datastore in the workspace; wall time of the process.
Metaflow has no step cache across runs (every ``run`` runs every step), so its first run is every
run; ``resume`` of the finished run clones every task of it instead of running it, the closest it
has to an all-cached run, and is measured as a second row.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks import harness
from benchmarks.common import Options, tether_python, tether_script

WORKLOAD = "p1"
RUNNER = harness.BENCH_DIR / "_pipeline_runner.py"
METAFLOW_PACKAGES = ["metaflow"]
EXECUTORS = ("processes", "inline")
TARGET_CACHED_S = 1.0  # Tether all-cached 100-step run: under 1 s in total
TARGET_RATIO = 5.0  # Metaflow per-step / Tether (processes, uncached) per-step: at least 5x


def wanted(opts: Options, *names: str) -> bool:
    """``--only`` names sides: tether (both executors), processes, inline, metaflow."""
    return opts.only is None or bool(opts.only & set(names))


def host_load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} CPUs"


# ------------------------------------------------------------------------------ workspaces


def new_workspace(tool: str, steps: int) -> Path:
    """A fresh folder in the system temp dir holding the generated pipeline and the runner.

    Not under ``benchmarks/.data``: that is inside this git repository, and both tools look at
    git state from where they run; outside any repository neither does.
    """
    ws = Path(tempfile.mkdtemp(prefix=f"tether-bench-p1-{tool}-"))
    try:
        shutil.copy2(RUNNER, ws / RUNNER.name)
        kind = "tether" if tool.startswith("tether") else "metaflow"
        harness.run_measured(
            [str(tether_python()), str(RUNNER), f"gen-{kind}", str(ws), str(steps)], timeout=120
        )
        if kind == "tether":
            harness.run_measured([str(tether_script()), "init", str(ws)], cwd=ws, timeout=120)
        else:
            (ws / "metaflow-home").mkdir()
    except BaseException:
        harness.rmtree(ws)
        raise
    return ws


def metaflow_env(ws: Path) -> dict[str, str]:
    """Local metadata and datastore inside ``ws``, a config folder of its own, no user lookup."""
    return {
        "METAFLOW_HOME": str(ws / "metaflow-home"),
        "USERNAME": "bench",
        "USER": "bench",
        "METAFLOW_DEFAULT_METADATA": "local",
        "METAFLOW_DEFAULT_DATASTORE": "local",
        "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(ws),
        "DO_NOT_TRACK": "true",
    }


class Handoff:
    """The workspace of a first-run case, kept for the second-run case that follows it.

    ``run_cases`` runs the cases of a repetition in list order, so the second run of a
    repetition always finds the workspace its first run left; whatever is left over (a second
    run that never came) is removed by ``cleanup``.
    """

    def __init__(self) -> None:
        self.pending: dict[str, Path] = {}

    def keep(self, key: str, result: harness.Result) -> Callable[[Path], None]:
        """Teardown of the first run: hand ``ws`` on, or remove it when that run failed."""

        def teardown(ws: Path) -> None:
            old = self.pending.pop(key, None)
            if old is not None:
                harness.rmtree(old)
            if result.error:
                harness.rmtree(ws)
            else:
                self.pending[key] = ws

        return teardown

    def take(self, key: str) -> Callable[[], Path]:
        def setup() -> Path:
            ws = self.pending.pop(key, None)
            if ws is None:
                raise harness.CommandError("no workspace from the first run (it failed)")
            return ws

        return setup

    def cleanup(self) -> None:
        for ws in self.pending.values():
            harness.rmtree(ws)
        self.pending.clear()


# ----------------------------------------------------------------------------------- table


@dataclass
class Row:
    result: harness.Result
    steps: int
    baseline: Row | None = None  # the Metaflow row a Tether row is compared with

    def per_step(self) -> float | None:
        m = self.result.median
        return m / self.steps if m is not None else None


def fmt_per_step(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s * 1e3:,.2f} ms" if s < 1 else f"{s:,.2f} s"


def print_p1_table(title: str, rows: Sequence[Row], notes: Sequence[str] = ()) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in ("workload", "case", "tool"):
        table.add_column(col)
    for col in ("total (median)", "min - max", "per step", "wall (process)", "peak RSS"):
        table.add_column(col, justify="right")
    table.add_column("anchor / this", justify="right")
    errors = []
    for row in rows:
        r = row.result
        if r.error:
            errors.append(f"[red]error[/red] {r.label}: {r.error[:600]}")
            table.add_row(r.workload, r.case, r.tool, "[red]error[/red]", "(see below)")
            continue
        q = ""
        base = row.baseline
        if base is not None and base.result.median and r.median:
            q = f"{base.result.median / r.median:,.1f}x vs {base.result.tool}"
        rss = r.peak_rss
        table.add_row(
            r.workload,
            r.case,
            r.tool + (f" [dim]({r.note})[/dim]" if r.note else ""),
            harness.fmt_s(r.median),
            harness.fmt_range(r),
            fmt_per_step(row.per_step()),
            harness.fmt_s(r.wall_median),
            f"{rss / 1e6:.0f} MB" if rss else "",
            q,
        )
    console = Console(width=200)
    console.print(table)
    for n in [*notes, *errors]:
        console.print(f"  {n}", highlight=False)


# ------------------------------------------------------------------------------------- run


def run(opts: Options) -> list[harness.Result]:
    steps = 20 if opts.quick else 100
    n = opts.repeat
    load_before = host_load()
    rows: list[Row] = []
    cases: list[harness.Case] = []
    handoff = Handoff()

    # Metaflow rows first in the list (the Tether rows point at them), but their cases run last
    mf_run = Row(
        harness.Result(WORKLOAD, "first run", "metaflow", note="run; no cross-run step cache"),
        steps,
    )
    mf_resume = Row(
        harness.Result(WORKLOAD, "all cached", "metaflow", note="resume: clones every task"),
        steps,
    )
    tether_rows: list[Row] = []
    for executor in EXECUTORS:
        tool = f"tether-{executor}"
        first = Row(harness.Result(WORKLOAD, "first run", tool), steps, mf_run)
        cached = Row(harness.Result(WORKLOAD, "all cached", tool), steps, mf_resume)
        tether_rows += [first, cached]
        if not wanted(opts, "tether", executor, tool):
            first.result.error = cached.result.error = "skipped (--only)"
            continue

        def t_run(ws: Path, executor: str = executor, want_cached: int = 0) -> harness.Sample:
            s = harness.run_measured(
                [str(tether_python()), str(ws / RUNNER.name), "tether", executor, str(steps)],
                cwd=ws,
                env={"DO_NOT_TRACK": "true"},
                timeout=opts.timeout,
                stdout_json=True,
            )
            got = (s.extra.get("steps"), s.extra.get("cached"), s.extra.get("output"))
            if got != (steps, want_cached, steps):
                raise harness.CommandError(
                    f"expected {steps} steps, {want_cached} cached, output {steps}; got {got}"
                )
            return s

        cases.append(
            harness.Case(
                first.result,
                t_run,
                lambda tool=tool: new_workspace(tool, steps),
                handoff.keep(tool, first.result),
            )
        )
        cases.append(
            harness.Case(
                cached.result,
                lambda ws, executor=executor: t_run(ws, executor, want_cached=steps),
                handoff.take(tool),
                harness.rmtree,
            )
        )

    versions = {"tether": harness.package_version(tether_python().parent, "tether")}
    if not wanted(opts, "metaflow"):
        mf_run.result.error = mf_resume.result.error = "skipped (--only)"
    else:
        try:
            mf_python = harness.ensure_venv("metaflow", METAFLOW_PACKAGES) / "python"
            versions["metaflow"] = harness.package_version(mf_python.parent, "metaflow")
        except Exception as e:  # the anchor venv could not be installed
            mf_run.result.error = mf_resume.result.error = str(e)
        else:

            def m_run(ws: Path, command: str = "run") -> harness.Sample:
                cmd = [str(mf_python), "p1_flow.py", "--quiet", "--no-pylint", command]
                if command == "run":
                    cmd += ["--run-id-file", "run-id"]
                else:
                    cmd += ["--origin-run-id", (ws / "run-id").read_text().strip()]
                return harness.run_measured(cmd, cwd=ws, env=metaflow_env(ws), timeout=opts.timeout)

            cases.append(
                harness.Case(
                    mf_run.result,
                    m_run,
                    lambda: new_workspace("metaflow", steps),
                    handoff.keep("metaflow", mf_run.result),
                )
            )
            cases.append(
                harness.Case(
                    mf_resume.result,
                    lambda ws: m_run(ws, "resume"),
                    handoff.take("metaflow"),
                    harness.rmtree,
                )
            )

    try:
        harness.run_cases(cases, n=n)
    finally:
        handoff.cleanup()
    load_after = host_load()
    rows = [*tether_rows, mf_run, mf_resume]
    notes = [
        f"pipeline: {steps} chained no-op steps (s1(0) -> s2 -> ... -> s{steps}, each returns"
        " its input + 1); a fresh workspace in the system temp folder per repetition (Tether:"
        " `tether init`, embedded SQLite; Metaflow: local metadata and datastore); first run"
        " and all-cached run in the same workspace, each in a fresh process; all cases"
        " interleaved",
        "Tether total: the pipeline call timed inside its process (imports, decorating the"
        " steps and loading the output not counted; 'wall (process)' counts them); Metaflow"
        f" total: wall time of `python p1_flow.py --quiet --no-pylint run` (its {steps + 2}"
        " tasks include the required start and end steps); per step: total / "
        f"{steps} for both",
        "Metaflow has no step cache across runs: a second `run` runs every step again, so"
        " its first run is every run. Its `all cached` row is `resume --origin-run-id` of the"
        " finished run, which clones every task without running it (it does not check"
        " whether code or inputs changed)",
        "anchor / this: the Metaflow row's time / this row's (first run vs `run`, all cached"
        " vs `resume`); above 1: Tether is faster",
        f"host: {load_before} before, {load_after} after",
    ]
    notes += summary(tether_rows, mf_run, mf_resume, steps)
    results = [row.result for row in rows]
    print_p1_table(f"P1 pipeline step overhead ({steps} steps), median of {n}", rows, notes)
    harness.save_results(
        WORKLOAD,
        results,
        {
            "versions": versions,
            "steps": steps,
            "repeat": n,
            "per_step_s": {r.result.label: r.per_step() for r in rows},
            "summary": notes,
        },
    )
    return results


def summary(tether_rows: Sequence[Row], mf_run: Row, mf_resume: Row, steps: int) -> list[str]:
    by = {row.result.label: row for row in tether_rows}
    proc_first = by["first run/tether-processes"]
    proc_cached = by["all cached/tether-processes"]
    out = []
    mf = mf_run.per_step()
    for row in tether_rows:
        if row.result.case != "first run" or not row.result.samples:
            continue
        t = row.per_step()
        if mf and t:
            q = mf / t
            line = (
                f"Metaflow per step {fmt_per_step(mf)} / {row.result.tool} first run per step"
                f" {fmt_per_step(t)} = {q:,.1f}x"
            )
            if row is proc_first:
                verdict = "meets" if q >= TARGET_RATIO else "MISSES"
                per_task = (mf_run.result.median or 0.0) / (steps + 2) / t
                line += (
                    f" (target >= {TARGET_RATIO:.0f}x: {verdict}; counting Metaflow's start"
                    f" and end tasks too: {per_task:,.1f}x)"
                )
            out.append(line)
    for row in (proc_cached, by["all cached/tether-inline"]):
        m = row.result.median
        if m is None:
            continue
        line = f"{row.result.tool} all cached: {harness.fmt_s(m)} total"
        if steps == 100:
            verdict = "meets" if m < TARGET_CACHED_S else "MISSES"
            line += f" (target < {TARGET_CACHED_S:.0f} s: {verdict})"
        else:
            line += f" ({fmt_per_step(m / steps)} per step; the 1 s target is for 100 steps)"
        wall = row.result.wall_median or 0.0
        line += f"; whole process {harness.fmt_s(wall)}"
        out.append(line)
    for row in [*tether_rows]:
        r = row.result
        if r.samples:
            imp = statistics.median(float(s.extra.get("import_s", 0.0)) for s in r.samples)
            out.append(
                f"{r.label}: untimed import of tether.pipelines + the generated module"
                f" {harness.fmt_s(imp)}"
            )
    return out
