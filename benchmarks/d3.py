"""D3 scale: 200,000 files of 1 KiB in 1,000 folders, Tether vs DVC.

The user commands of both tools, whole CLI processes, one fresh workspace per tool and
repetition (the CLI chain of ``d2``; the data hard-linked in, untimed, since no step writes
into it): Tether ``tether data add data``, ``tether data status``
with nothing changed (the second call, warm) and ``tether remote add`` + ``tether data push`` to
a local folder; DVC ``dvc add data`` and ``dvc status`` (its push only with ``--only push``),
each DVC command limited to ``DVC_TIMEOUT_S`` (a timeout is a result: "DVC > N s"). Peak RSS of
every process (target: Tether < 1 GB). One repetition by default.
"""

from __future__ import annotations

import os

from benchmarks import harness
from benchmarks.common import Options, cache_policy, versions
from benchmarks.d2 import CLI_STEPS, FSYNC_NOTES, bench_cli, dvc_side, make_context, tether_side

WORKLOAD = "d3"
SEED = 3
FILE_SIZE = 1024
DVC_TIMEOUT_S = 600.0
STEPS = ["add", "status", "push", "push-s3"]
DVC_STEPS = ["add", "status"]  # DVC's pushes of 200,000 files only when asked (--only push)
OPT_IN = {"push-s3"}  # Tether's push to the moto S3 server too (about 12 minutes)
RSS_TARGET = 1e9


def run(opts: Options) -> list[harness.Result]:
    n_files, n_dirs = (20_000, 100) if opts.quick else (200_000, 1_000)
    data = harness.random_tree(
        f"d3-{n_files}x1KiB-seed{SEED}", n_files, n_dirs, FILE_SIZE, seed=SEED
    )
    policy = cache_policy(opts)
    ctx = make_context(opts, data, WORKLOAD)
    chosen = [s for s in STEPS if s in (opts.only or [])]
    wanted = chosen or [s for s in STEPS if s not in OPT_IN]
    dvc_steps = DVC_STEPS + [s for s in ("push", "push-s3") if s in chosen]
    dvc_timeout = min(opts.timeout, DVC_TIMEOUT_S)
    cases = bench_cli(
        ctx,
        wanted,
        [(tether_side(), STEPS), (dvc_side(ctx, timeout=dvc_timeout), dvc_steps)],
        hardlink=True,
    )
    harness.log(f"d3: {', '.join(wanted)}, tools interleaved")
    harness.run_cases(cases, n=opts.repeat)
    for finish in ctx.finishers:
        finish()
    rss = []
    for r in ctx.results:
        if r.peak_rss and r.case != "push (push only)":
            line = f"peak RSS {r.case} {r.tool}: {r.peak_rss / 1e6:,.0f} MB"
            if r.tool == "tether":
                line += f" (target < 1 GB: {'met' if r.peak_rss < RSS_TARGET else 'NOT met'})"
            rss.append(line)
    timeouts = [
        f"{CLI_STEPS[s]}: DVC > {dvc_timeout:.0f} s (stopped at the timeout)"
        for s in dvc_steps
        for r in ctx.results
        if r.tool == "dvc" and r.case == CLI_STEPS[s] and r.error and "timed out" in r.error
    ]
    notes = [
        f"data: {ctx.nfiles:,} files of {FILE_SIZE} B in {n_dirs:,} folders,"
        f" {ctx.nbytes / 1e6:,.0f} MB, seed {SEED}; {policy}; tools interleaved",
        "data hard-linked into each fresh workspace (untimed; no step writes into it)",
        *FSYNC_NOTES[:1],
        FSYNC_NOTES[1].split("; the")[0],
        f"DVC commands limited to {dvc_timeout:.0f} s each; DVC push not run by default",
        *ctx.notes,
        *timeouts,
        *rss,
        f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]
    harness.print_table(
        f"D3 scale ({ctx.nfiles:,} x {FILE_SIZE} B), median of {opts.repeat}", ctx.results, notes
    )
    harness.save_results(
        WORKLOAD,
        ctx.results,
        {
            "versions": versions(),
            "n_files": ctx.nfiles,
            "file_size": FILE_SIZE,
            "seed": SEED,
            "cache": policy,
            "repeat": opts.repeat,
            "summary": notes,
        },
    )
    return ctx.results
