"""D2 many small files: 20,000 files of 50 KiB in 100 folders, Tether vs DVC.

Each part of the workload is a sub-benchmark in ``SUBBENCHMARKS`` (``--only add,...``): a
function of the shared ``Context`` that returns the cases to measure. All cases of all chosen
sub-benchmarks run round-robin, so that the drift of a shared machine hits every tool alike; each
case's setup builds the state it needs in a fresh workspace (untimed). This issue covers storing
the folder cold (``add``); status, modify, push and checkout come later as further entries.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import harness
from benchmarks.common import (
    TIME_NOTES,
    Options,
    anchor_bin,
    cache_policy,
    prepare_cache,
    tether_importable,
    tether_python,
    versions,
    with_sync,
    without_sync,
)

WORKLOAD = "d2"
SEED = 2
FILE_SIZE = 50 * 1024
N_DIRS = 100


@dataclass
class Context:
    """What every sub-benchmark gets: the data, its size and the two sides, ready or not."""

    opts: Options
    data: Path
    files: list[Path]
    nbytes: int
    tether_error: str | None
    dvc_python: Path | None
    dvc_error: str | None
    results: list[harness.Result] = field(default_factory=list)
    # run after all cases: derive rows and summary lines from the measured results
    finishers: list[Callable[[], None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def nfiles(self) -> int:
        return len(self.files)

    def case(
        self,
        case: str,
        tool: str,
        fn: Callable[[Path], harness.Sample | None],
        setup: Callable[[], Path] | None = None,
        *,
        note: str = "",
        baseline: str | None = None,
    ) -> harness.Case:
        """A row of the table and the case that measures it (setup's workspace is removed)."""
        r = harness.Result(
            WORKLOAD,
            case,
            tool,
            nbytes=self.nbytes,
            nfiles=self.nfiles,
            note=note,
            baseline=baseline,
        )
        self.results.append(r)
        return harness.Case(r, fn, setup, harness.rmtree if setup else None)

    def tether_case(self, case: str, op: str, setup: Callable[[], Path], note: str) -> harness.Case:
        """``_runner.py OP <workspace>/objects <data>`` in a fresh process of this interpreter."""
        c = self.case(
            case,
            "tether",
            lambda ws: harness.run_measured(
                harness.runner_cmd(tether_python(), op, str(ws / "objects"), str(self.data)),
                timeout=self.opts.timeout,
                stdout_json=True,
            ),
            setup,
            note=note,
        )
        c.result.error = self.tether_error
        return c

    def dvc_case(
        self, case: str, args: list[str], setup: Callable[[], Path], baseline: str
    ) -> harness.Case:
        """``dvc ARGS`` in the repo that ``setup`` made, in a fresh process of the DVC venv."""
        py = self.dvc_python or Path("dvc-not-installed")
        c = self.case(
            case,
            "dvc",
            lambda ws: without_sync(
                harness.run_measured(
                    harness.runner_cmd(py, "dvc", str(ws), *args),
                    timeout=self.opts.timeout,
                    stdout_json=True,
                )
            ),
            setup,
            note=" ".join(["dvc", *args[:1]]),
            baseline=baseline,
        )
        c.result.error = self.dvc_error
        return c

    def dvc_repo_with_data(self) -> Path:
        """A fresh DVC repo holding an untimed copy of the data in ``data/``."""
        ws = harness.new_workspace("d2-dvc-")
        shutil.copytree(self.data, ws / "data")
        harness.run_measured(harness.runner_cmd(self.dvc_python or "", "dvc-setup", str(ws)))
        prepare_cache(self.opts, [ws / "data"])
        return ws


# ----------------------------------------------------------------------------- references


def read_all(files: list[Path]) -> None:
    for p in files:
        with open(p, "rb", buffering=0) as f:
            f.read()


def read_hash_all(files: list[Path]) -> None:
    from blake3 import blake3

    for p in files:
        with open(p, "rb", buffering=0) as f:
            blake3(f.read()).digest()


def copy_sync_all(files: list[Path], root: Path, dest: Path) -> None:
    """Copy every file into ``dest`` (same layout), then one ``syncfs``-like ``os.sync()``."""
    made: set[Path] = set()
    for p in files:
        target = dest / p.relative_to(root)
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        with open(p, "rb", buffering=0) as f, open(target, "wb", buffering=0) as g:
            g.write(f.read())
    os.sync()


def bench_references(ctx: Context) -> list[harness.Case]:
    """Warm-cache reading (and hashing) of every file: what storing cannot beat."""
    cat = ctx.case(
        "reference",
        "cat",
        lambda _: harness.run_measured(
            ["sh", "-c", 'find "$1" -type f -exec cat {} + > /dev/null', "sh", str(ctx.data)],
            timeout=ctx.opts.timeout,
        ),
        note="find -exec cat {} + > /dev/null",
    )
    read = ctx.case("reference", "python read loop", lambda _: read_all(ctx.files))
    rh = ctx.case(
        "reference",
        "python read+BLAKE3 loop",
        lambda _: read_hash_all(ctx.files),
        note="1 thread",
    )

    def w_setup() -> Path:
        ws = harness.new_workspace("d2-copy-")
        prepare_cache(ctx.opts, [ctx.data])
        return ws

    write = ctx.case(
        "reference",
        "python copy + sync",
        lambda ws: copy_sync_all(ctx.files, ctx.data, ws / "copy"),
        w_setup,
        note="1 thread, one os.sync()",
    )
    return [cat, read, rh, write]


# ------------------------------------------------------------------------------ storing (add)


def bench_add(ctx: Context) -> list[harness.Case]:
    """Store the folder cold: a fresh store / fresh DVC repo each repetition."""

    def t_setup() -> Path:
        ws = harness.new_workspace("d2-tether-")
        prepare_cache(ctx.opts, [ctx.data])
        return ws

    tether = ctx.tether_case("add (cold)", "tether-put-tree", t_setup, "ObjectStore.put_tree")
    dvc = ctx.dvc_case(
        "add (cold)", ["add", "-q", "data"], ctx.dvc_repo_with_data, tether.result.label
    )

    def finish() -> None:
        t, d = tether.result, dvc.result
        ds = with_sync(d)
        ctx.results.insert(ctx.results.index(d) + 1, ds)
        if t.samples and d.samples:
            q = harness.ratio(d, t) or 0.0
            qs = harness.ratio(ds, t) or 0.0
            w = (d.wall_median or 0) / (t.wall_median or 1)
            ctx.notes.append(
                f"add: DVC time / Tether time {q:.2f}x (whole process wall: {w:.2f}x;"
                f" DVC add + sync: {qs:.2f}x)"
            )
        for r in (t, d):
            if r.peak_rss:
                ctx.notes.append(f"add: {r.tool} peak RSS {r.peak_rss / 1e6:.0f} MB")

    ctx.finishers.append(finish)
    return [tether, dvc]


# name -> sub-benchmark; later: "status", "modify", "push", "checkout"
SUBBENCHMARKS: dict[str, Callable[[Context], list[harness.Case]]] = {
    "references": bench_references,
    "add": bench_add,
}


def run(opts: Options) -> list[harness.Result]:
    n_files = 2_000 if opts.quick else 20_000
    data = harness.random_tree(
        f"d2-{n_files}x50KiB-seed{SEED}", n_files, N_DIRS, FILE_SIZE, seed=SEED
    )
    files = harness.tree_files(data)
    policy = cache_policy(opts)
    harness.warm([data])
    tether_error = tether_importable() if opts.wants("tether") else "skipped (--only)"
    if tether_error and not tether_error.startswith("skipped"):
        tether_error = f"tether.objects not usable: {tether_error}"
    dvc_python, dvc_error = None, None
    if opts.wants("dvc"):
        try:
            dvc_python = anchor_bin("dvc") / "python"
        except Exception as e:
            dvc_error = str(e)
    else:
        dvc_error = "skipped (--only)"
    ctx = Context(
        opts,
        data,
        files,
        sum(p.stat().st_size for p in files),
        tether_error,
        dvc_python,
        dvc_error,
    )
    wanted = [k for k in SUBBENCHMARKS if opts.only is None or k in opts.only]
    if not wanted:  # --only named tools, not sub-benchmarks
        wanted = list(SUBBENCHMARKS)
    cases: list[harness.Case] = []
    for name in wanted:
        cases += SUBBENCHMARKS[name](ctx)
    harness.log(f"d2: {', '.join(wanted)}, all cases interleaved")
    harness.run_cases(cases, n=opts.repeat)
    for finish in ctx.finishers:
        finish()
    notes = [
        f"data: {ctx.nfiles:,} files of {FILE_SIZE // 1024} KiB in {N_DIRS} folders,"
        f" {ctx.nbytes / 1e6:,.0f} MB, seed {SEED}; {policy}; all cases interleaved",
        *TIME_NOTES,
        *ctx.notes,
    ]
    harness.print_table(
        f"D2 many small files ({ctx.nfiles:,} x {FILE_SIZE // 1024} KiB), median of {opts.repeat}",
        ctx.results,
        notes,
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
