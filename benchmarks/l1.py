"""L1 the whole loop: ``tether demo`` end to end in a fresh process (data, train and gate v1,
serve, traffic, drift, new data, the controller retrains and promotes v2, the server swaps,
report and card). Reports the process's wall time, each phase's time (from the
``demo-timings.json`` the demo writes) and the requests that failed during the swap; target:
the whole loop under 2 minutes on 2 cores, 0 failed requests. No anchor: other tools need a
user's glue code for this loop.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from benchmarks import harness
from benchmarks.common import Options

WORKLOAD = "l1"
TARGET_S = 120.0
PHASES = ("data", "train", "serve", "traffic", "drift", "new data", "loop", "swap", "report")


def run(opts: Options) -> list[harness.Result]:
    env = {**os.environ, "PYTHONPATH": str(harness.REPO_DIR)}
    total = harness.Result(WORKLOAD, "tether demo (process)", "tether")
    phases = {p: harness.Result(WORKLOAD, f"phase {p}", "tether") for p in PHASES}
    failed: list[int] = []
    requests: list[int] = []
    with harness.workspace("tether-bench-l1-") as tmp:
        for i in range(opts.repeat):
            folder = Path(tmp) / f"demo-{i}"
            cmd = [sys.executable, "-m", "tether", "demo", str(folder)]
            try:
                sample = harness.run_measured(cmd, cwd=Path(tmp), env=env, timeout=opts.timeout)
            except harness.CommandError as e:
                total.error = str(e)[-600:]
                break
            doc = json.loads((folder / "demo-timings.json").read_text())
            sample.op_s = doc["phases"]["total"]
            total.samples.append(sample)
            for name, result in phases.items():
                t = doc["phases"].get(name)
                if t is not None:
                    result.samples.append(harness.Sample(wall_s=t, op_s=t))
            failed.append(int(doc["failed"]))
            requests.append(int(doc["requests"]))
    results = [total, *phases.values()]
    notes = []
    if total.median is not None:
        verdict = "meets" if total.median < TARGET_S and not any(failed) else "MISSES"
        notes.append(
            f"whole loop: median {total.median:.1f} s in the demo, {total.wall_median:.1f} s "
            f"for the process; failed requests {failed} of {requests} "
            f"({verdict} the < {TARGET_S:.0f} s, 0 failed target)"
        )
    harness.print_table("L1 the whole loop (tether demo)", results, notes)
    harness.save_results(WORKLOAD, results, {"failed": failed, "requests": requests})
    return results
