"""C1 start-up: fresh interpreters importing each tool and running each CLI's cheapest command."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

from benchmarks import harness
from benchmarks.common import Options, anchor_bin, tether_python, tether_script, versions

WORKLOAD = "c1"


def _runs(command: list[str], timeout: float) -> Callable[[object], harness.Sample]:
    return lambda _: harness.run_measured(command, timeout=timeout)


def run(opts: Options) -> list[harness.Result]:
    cases: list[tuple[str, str, list[str] | str, str | None]] = []
    # (case, tool, command or the reason it cannot run, baseline label)
    cases.append(("import", "tether", [str(tether_python()), "-c", "import tether"], None))
    cases.append(("cli", "tether", [str(tether_script()), "--help"], None))
    bins: dict[str, Path | str] = {}
    for name in ("mlflow", "dvc", "evidently"):
        try:
            bins[name] = anchor_bin(name)
        except Exception as e:  # an anchor that does not install is a row, not a crash
            harness.log(f"{name}: install failed: {e}")
            bins[name] = f"install failed: {e}"

    def cmd(name: str, *args: str) -> list[str] | str:
        b = bins[name]
        return b if isinstance(b, str) else [str(b / args[0]), *args[1:]]

    cases.append(("import", "mlflow", cmd("mlflow", "python", "-c", "import mlflow"), "tether"))
    cases.append(("cli", "mlflow", cmd("mlflow", "mlflow", "--version"), "tether"))
    cases.append(("cli", "dvc", cmd("dvc", "dvc", "--version"), "tether"))
    cases.append(
        ("import", "evidently", cmd("evidently", "python", "-c", "import evidently"), "tether")
    )

    results, jobs = [], []
    for case, tool, command, base in cases:
        r = harness.Result(WORKLOAD, case, tool, baseline=f"{case}/{base}" if base else None)
        results.append(r)
        if isinstance(command, str):
            r.error = command
            continue
        r.note = shlex.join([Path(command[0]).name, *command[1:]])
        harness.log(f"{r.label}: {shlex.join(command)}")
        jobs.append(harness.Case(r, _runs(command, opts.timeout)))
    harness.run_cases(jobs, n=opts.repeat, warmup=1)
    harness.print_table(
        f"C1 start-up: fresh process, median of {opts.repeat} after 1 warm-up, interleaved"
        " (ratio = anchor time / Tether time)",
        results,
    )
    harness.save_results(WORKLOAD, results, {"versions": versions(), "repeat": opts.repeat})
    return results
