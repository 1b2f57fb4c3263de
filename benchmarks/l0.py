"""L0 controller overhead: one ``tether loop tick`` with nothing to do, for a loop watching
every kind of trigger (a cron schedule, new dataset versions, drift and performance events),
on the embedded SQLite store. ``tick (in process)``: ``Controller.tick()``, the controller's
own cost (take the lease, look at every trigger, find nothing, release); target < 50 ms.
``tether loop tick (process)``: the whole CLI process, interpreter start-up included, as cron
runs it. No anchor: the alternative is glue code in an orchestrator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks import harness
from benchmarks.common import Options

WORKLOAD = "l0"
RUNNER = harness.BENCH_DIR / "_loop_runner.py"
TARGET_S = 0.050


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(harness.REPO_DIR)}


def run(opts: Options) -> list[harness.Result]:
    ticks = 20 if opts.quick else 200
    inproc = harness.Result(WORKLOAD, "tick (in process)", "tether", note=f"{ticks} ticks")
    cli = harness.Result(WORKLOAD, "tether loop tick (process)", "tether")
    with harness.workspace("tether-bench-l0-") as tmp:
        ws = Path(tmp) / "ws"
        proc = subprocess.run(
            [sys.executable, str(RUNNER), str(ws), str(ticks)],
            env=_env(), capture_output=True, text=True, timeout=opts.timeout,
        )  # fmt: skip
        if proc.returncode != 0:
            inproc.error = cli.error = proc.stderr.strip()[-600:]
        else:
            doc = json.loads(proc.stdout.splitlines()[-1])
            inproc.samples = [harness.Sample(wall_s=t, op_s=t) for t in doc["tick_s"]]
            cmd = [sys.executable, "-m", "tether", "loop", "tick"]
            for _ in range(opts.repeat):
                cli.samples.append(
                    harness.run_measured(cmd, cwd=ws, env=_env(), timeout=opts.timeout)
                )
    results = [inproc, cli]
    notes = []
    if inproc.median is not None:
        times = sorted(inproc.times())
        p95 = times[int(0.95 * (len(times) - 1))]
        verdict = "meets" if inproc.median < TARGET_S else "MISSES"
        notes.append(
            f"tick with nothing to do: median {inproc.median * 1e3:.1f} ms, p95 {p95 * 1e3:.1f} ms "
            f"({verdict} the < {TARGET_S * 1e3:.0f} ms target)"
        )
    harness.print_table("L0 controller overhead per tick", results, notes)
    harness.save_results(WORKLOAD, results, {"ticks": ticks})
    return results
