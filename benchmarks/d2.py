"""D2 many small files: 20,000 files of 50 KiB in 100 folders, Tether vs DVC.

Each part of the workload is a sub-benchmark in ``SUBBENCHMARKS`` (``--only add,...``): a
function of the shared ``Context`` that returns the cases to measure. All cases of all chosen
sub-benchmarks run round-robin, so that the drift of a shared machine hits every tool alike; each
case's setup builds the state it needs in a fresh workspace (untimed).

``store`` times the storing step alone (``ObjectStore.put_tree`` vs ``dvc add``); ``add``,
``status``, ``modify``, ``push`` and ``checkout`` time the real user commands of both tools
(``tether ...`` vs ``dvc ...``, whole CLI processes): one fresh workspace per tool and repetition,
the chosen steps run in that order on it (see ``CliSide`` and ``bench_cli``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import harness, s3server
from benchmarks.common import (
    Options,
    anchor_bin,
    cache_policy,
    prepare_cache,
    synced,
    tether_importable,
    tether_python,
    tether_script,
    timed_sync,
    versions,
    with_sync,
    without_sync,
)
from benchmarks.s3server import CREDENTIALS

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
    workload: str = WORKLOAD
    wanted: list[str] = field(default_factory=list)  # chosen sub-benchmarks
    cli_registered: bool = False  # the CLI chain's cases are made once for all its steps
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
            self.workload,
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


# ------------------------------------------------------------------------- storing (store)


def bench_store(ctx: Context) -> list[harness.Case]:
    """Store the folder cold, storing step only: a fresh store / fresh DVC repo each repetition."""

    def t_setup() -> Path:
        ws = harness.new_workspace("d2-tether-")
        prepare_cache(ctx.opts, [ctx.data])
        return ws

    tether = ctx.tether_case(
        "store only (cold)", "tether-put-tree", t_setup, "ObjectStore.put_tree, in process"
    )
    dvc = ctx.dvc_case(
        "store only (cold)", ["add", "-q", "data"], ctx.dvc_repo_with_data, tether.result.label
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
                f"store only: DVC time / Tether time {q:.2f}x (whole process wall: {w:.2f}x;"
                f" DVC add + sync: {qs:.2f}x)"
            )
        for r in (t, d):
            if r.peak_rss:
                ctx.notes.append(f"store only: {r.tool} peak RSS {r.peak_rss / 1e6:.0f} MB")

    ctx.finishers.append(finish)
    return [tether, dvc]


# ------------------------------------------------------------------ user commands (CLI steps)

# step -> table case; the steps run in this order on one workspace per tool and repetition
CLI_STEPS: dict[str, str] = {
    "add": "add (cold)",
    "status": "status (nothing changed)",
    "modify": "re-add (10 modified)",
    "push": "push (local remote)",
    "push-s3": "push (S3 server)",
    "checkout": "checkout (deleted folder)",
    "checkout-aged": "checkout (deleted 65 s before)",
}
OPT_IN = {"push-s3", "checkout-aged"}
"""Steps run only when named in ``--only``: a push to the moto S3 server takes minutes, and
``checkout-aged`` waits ``AGE_S`` between deleting the folder and restoring it."""
AGE_S = 65.0
"""ext4 without a journal skips inodes freed in the last 60 s when it allocates new ones, and
checks each candidate in the inode table: creating files right after deleting thousands of
them costs several times more (seen with perf: ext4 ``recently_deleted``). ``checkout-aged``
measures the restore once the deleted inodes are old enough to be reused at once."""
PUSHES = {"push", "push-s3"}
N_MODIFIED = 10
DVC_ENV = {"DVC_NO_ANALYTICS": "1"}


@dataclass
class CliSide:
    """How one tool runs each user command (argv lists, run in the workspace)."""

    tool: str
    init: Callable[[Path], None]  # untimed: make ``ws`` a workspace / repo of the tool
    commands: dict[str, list[list[str]]]  # step -> commands, timed together
    env: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None  # per command; None: the workload's --timeout

    def note(self, step: str) -> str:
        cmds = self.commands[step]
        return " + ".join(
            " ".join([self.tool, *c[1:]]).replace("REMOTE", "PATH").replace("S3URL", "s3://B/P")
            for c in cmds
        )


def tether_side() -> CliSide:
    exe = str(tether_script())

    def init(ws: Path) -> None:
        harness.run_measured([exe, "init"], cwd=ws)

    return CliSide(
        "tether",
        init,
        {
            "add": [[exe, "data", "add", "data"]],
            "status": [[exe, "data", "status"]],
            "modify": [[exe, "data", "add", "data"]],
            "push": [[exe, "remote", "add", "r", "REMOTE", "--default"], [exe, "data", "push"]],
            "push-s3": [
                [exe, "remote", "add", "s3", "S3URL", "--endpoint-url", "ENDPOINT"],
                [exe, "data", "push", "--remote", "s3"],
            ],
            "checkout": [[exe, "data", "checkout"]],
            "checkout-aged": [[exe, "data", "checkout"]],
        },
        env=dict(CREDENTIALS),
    )


def dvc_side(ctx: Context, timeout: float | None = None) -> CliSide:
    exe = str((ctx.dvc_python or Path("dvc-not-installed")).parent / "dvc")

    def init(ws: Path) -> None:
        harness.run_measured(
            harness.runner_cmd(ctx.dvc_python or "", "dvc-setup", str(ws)), env=DVC_ENV
        )

    return CliSide(
        "dvc",
        init,
        {
            "add": [[exe, "add", "data"]],
            "status": [[exe, "status"]],
            "modify": [[exe, "add", "data"]],
            "push": [[exe, "remote", "add", "-d", "r", "REMOTE"], [exe, "push"]],
            "push-s3": [
                [exe, "remote", "add", "s3", "S3URL"],
                [exe, "remote", "modify", "s3", "endpointurl", "ENDPOINT"],
                [exe, "push", "--remote", "s3"],
            ],
            "checkout": [[exe, "checkout"]],
            "checkout-aged": [[exe, "checkout"]],
        },
        env={**DVC_ENV, **CREDENTIALS},
        timeout=timeout,
    )


def modify_files(ctx: Context, ws: Path) -> None:
    """Overwrite ``N_MODIFIED`` files spread over the tree with new seeded bytes (same size)."""
    import random

    rng = random.Random(SEED + 1)
    n = ctx.nfiles
    for k in range(N_MODIFIED):
        src = ctx.files[k * n // N_MODIFIED]
        target = ws / "data" / src.relative_to(ctx.data)
        size = target.stat().st_size
        with open(target, "r+b") as f:  # a copy of the data, never the seeded original
            f.write(rng.randbytes(size))


def count_files(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def bench_cli(
    ctx: Context,
    wanted: Sequence[str],
    sides: Sequence[tuple[CliSide, Sequence[str]]],
    *,
    hardlink: bool = False,
) -> list[harness.Case]:
    """One case per tool: a fresh workspace per repetition, the wanted steps in order.

    Setup (untimed): the data copied into ``<ws>/data`` (``hardlink``: hard-linked, only for
    chains that never write into the data, i.e. without ``modify``), the tool's init. Then per
    step, after an untimed ``os.sync()`` (and warming the data before ``add``): ``add`` times
    the first add; ``status`` runs the status command once untimed, then times the second call;
    ``modify`` overwrites 10 files (untimed) and times the re-add; ``push`` times adding a
    local-folder remote plus the push; ``checkout`` removes ``data/`` (untimed) and times the
    restore, then checks the file count. ``add`` always runs (the other steps need it), timed
    only if wanted.
    """
    rows: dict[tuple[str, str], harness.Result] = {}
    cases: list[harness.Case] = []
    chains: list[tuple[str, harness.Result]] = []
    tether_label = {step: f"{CLI_STEPS[step]}/tether" for step in CLI_STEPS}
    for side, side_steps in sides:
        steps = [s for s in CLI_STEPS if s in wanted and s in side_steps]
        if not steps:
            continue
        for step in steps:
            r = harness.Result(
                ctx.workload,
                CLI_STEPS[step],
                side.tool,
                nbytes=ctx.nbytes,
                nfiles=ctx.nfiles,
                note=side.note(step),
                baseline=None if side.tool == "tether" else tether_label[step],
                error=ctx.tether_error if side.tool == "tether" else ctx.dvc_error,
            )
            rows[(side.tool, step)] = r
            ctx.results.append(r)
        chain = harness.Result(ctx.workload, "cli chain", side.tool)
        chain.error = ctx.tether_error if side.tool == "tether" else ctx.dvc_error

        def setup(side: CliSide = side) -> Path:
            ws = harness.new_workspace(f"{ctx.workload}-cli-{side.tool}-")
            flags = "-Rl" if hardlink and "modify" not in wanted else "-R"
            subprocess.run(["cp", flags, str(ctx.data), str(ws / "data")], check=True)
            side.init(ws)
            return ws

        def fn(ws: Path, side: CliSide = side, steps: list[str] = steps) -> harness.Sample:
            total = 0.0
            for step in ["add", *[s for s in steps if s != "add"]]:
                r = rows.get((side.tool, step))
                try:
                    sample = run_step(ctx, side, step, ws)
                except Exception as e:
                    if r is not None:
                        r.error = f"{type(e).__name__}: {e}"
                    raise
                total += sample.wall_s
                if r is not None and step in steps:
                    r.samples.append(sample)
                    harness.log(f"  {r.label} #{len(r.samples)}: {harness.fmt_s(sample.wall_s)}")
            return harness.Sample(wall_s=total)

        cases.append(harness.Case(chain, fn, setup, harness.rmtree))
        chains.append((side.tool, chain))

    def finish() -> None:
        for tool, chain in chains:  # steps a failed chain did not reach show its error
            for (t_name, _), r in rows.items():
                if t_name == tool and not r.samples and not r.error and chain.error:
                    r.error = f"not reached: {chain.error}"
        for step in CLI_STEPS:
            t, d = rows.get(("tether", step)), rows.get(("dvc", step))
            if step in PUSHES:
                label = "push (push only)" if step == "push" else "push S3 (push only)"
                for row in (t, d):
                    if row is not None and row.samples:
                        only = harness.Result(
                            row.workload,
                            label,
                            row.tool,
                            nbytes=row.nbytes,
                            nfiles=row.nfiles,
                            note=side_note_last(row.note),
                            baseline=None if row.tool == "tether" else f"{label}/tether",
                        )
                        for s in row.samples:
                            only.samples.append(
                                harness.Sample(
                                    float(s.extra["last_s"]), None, s.extra.get("last_rss")
                                )
                            )
                        ctx.results.insert(ctx.results.index(row) + 1, only)
            if t is None or d is None:
                continue
            if not t.samples or not d.samples:
                if d.error and "timed out" in d.error:
                    ctx.notes.append(f"{CLI_STEPS[step]}: DVC {d.error}")
                continue
            q = harness.ratio(d, t) or 0.0
            if step in DURABLE and ctx.workload == WORKLOAD:
                ts = synced(t, DURABLE[step])
                ds = synced(d, DURABLE[step], baseline=ts.label)
                ctx.results[ctx.results.index(d) + 1 : ctx.results.index(d) + 1] = [ts, ds]
                qs = harness.ratio(ds, ts) or 0.0
                ctx.notes.append(
                    f"{CLI_STEPS[step]}: Tether {harness.fmt_s(t.median)}, DVC"
                    f" {harness.fmt_s(d.median)}: DVC / Tether {q:.2f}x; until durable"
                    f" (+ os.sync): Tether {harness.fmt_s(ts.median)}, DVC"
                    f" {harness.fmt_s(ds.median)}: {qs:.2f}x" + target_text(step, qs, t)
                )
                continue
            ctx.notes.append(
                f"{CLI_STEPS[step]}: Tether {harness.fmt_s(t.median)}, DVC"
                f" {harness.fmt_s(d.median)}: DVC / Tether {q:.2f}x" + target_text(step, q, t)
            )

    ctx.finishers.append(finish)
    return cases


def side_note_last(note: str) -> str:
    return note.split(" + ")[-1]


TARGETS = {"add": 5.0, "status": 10.0, "checkout": 3.0, "checkout-aged": 3.0}
DURABLE = {"add": "add (cold) + sync"}
"""Steps whose writes are also timed until durable: an ``os.sync()`` right after the commands
(neither tool fsyncs by default), a derived row; the add target applies to it."""


def target_text(step: str, q: float, t: harness.Result) -> str:
    if t.workload != WORKLOAD:  # D3 has one target: Tether's status under 2 s
        if step != "status" or t.median is None:
            return ""
        return f" (Tether < 2 s: {'met' if t.median < 2.0 else 'NOT met'})"
    if step not in TARGETS:
        return ""
    goal = TARGETS[step]
    ok = q >= goal
    text = f" (target >= {goal:g}x: {'met' if ok else 'NOT met'}"
    if step == "status" and t.median is not None:
        text += f"; Tether < 0.3 s: {'met' if t.median < 0.3 else 'NOT met'}"
    return text + ")"


def run_step(ctx: Context, side: CliSide, step: str, ws: Path) -> harness.Sample:
    """Prepare ``step`` untimed, then run its commands in ``ws``; their summed wall time."""
    timeout = side.timeout or ctx.opts.timeout
    remote = ws / "remote"
    if step == "add":
        prepare_cache(ctx.opts, [ws / "data"])
    elif step == "status":
        harness.run_measured(side.commands["status"][0], cwd=ws, env=side.env, timeout=timeout)
    elif step == "modify":
        modify_files(ctx, ws)
    elif step == "checkout":
        harness.rmtree(ws / "data")
    elif step == "checkout-aged":
        harness.rmtree(ws / "data")
        os.sync()
        time.sleep(AGE_S)
    places = {"REMOTE": str(remote)}
    if step == "push-s3":
        s3 = s3server.server()
        places.update(S3URL=s3.fresh_bucket(f"bench-{side.tool}"), ENDPOINT=s3.url)
    os.sync()
    samples = [
        harness.run_measured(
            [places.get(a, a) for a in cmd],
            cwd=ws,
            env=side.env,
            timeout=timeout,
        )
        for cmd in side.commands[step]
    ]
    rss = [s.peak_rss_bytes for s in samples if s.peak_rss_bytes is not None]
    out = harness.Sample(
        wall_s=sum(s.wall_s for s in samples),
        peak_rss_bytes=max(rss) if rss else None,
        extra={"last_s": samples[-1].wall_s, "last_rss": samples[-1].peak_rss_bytes},
    )
    if step in DURABLE:
        timed_sync(out)
    if step in ("checkout", "checkout-aged"):
        got = count_files(ws / "data")
        if got != ctx.nfiles:
            raise harness.CommandError(f"checkout restored {got} files, expected {ctx.nfiles}")
    return out


def bench_cli_step(step: str) -> Callable[[Context], list[harness.Case]]:
    """The sub-benchmark of one CLI step; all chosen steps share one chain (``bench_cli``)."""

    def bench(ctx: Context) -> list[harness.Case]:
        if ctx.cli_registered:
            return []
        ctx.cli_registered = True
        wanted = [s for s in CLI_STEPS if s in ctx.wanted]
        sides = [(tether_side(), list(CLI_STEPS)), (dvc_side(ctx), list(CLI_STEPS))]
        return bench_cli(ctx, wanted, sides)

    bench.__doc__ = f"CLI step {step!r}: {CLI_STEPS[step]}"
    return bench


# name -> sub-benchmark
SUBBENCHMARKS: dict[str, Callable[[Context], list[harness.Case]]] = {
    "references": bench_references,
    "store": bench_store,
    **{step: bench_cli_step(step) for step in CLI_STEPS},
}

FSYNC_NOTES = [
    "median/min-max: time of the operation (store only: inside its fresh process, imports"
    " included; CLI steps: whole CLI processes); 'wall (process)': the whole process",
    "no extra syncs: Tether's default does not fsync objects (objects.fsync=false) and DVC does"
    " not either; the 'dvc (dvc add + sync)' row adds the os.sync() that DVC's store-only"
    " process runs right after its add; CLI steps start after an untimed os.sync(); the"
    " 'add (cold) + sync' rows add an os.sync() timed right after each tool's add command (the"
    " clock stopped once the data is durable for both; the add target applies to them)",
]


def make_context(opts: Options, data: Path, workload: str = WORKLOAD) -> Context:
    """The shared ``Context`` for ``data`` (warmed), with both sides checked."""
    files = harness.tree_files(data)
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
    return Context(
        opts,
        data,
        files,
        sum(p.stat().st_size for p in files),
        tether_error,
        dvc_python,
        dvc_error,
        workload=workload,
    )


def run(opts: Options) -> list[harness.Result]:
    n_files = 2_000 if opts.quick else 20_000
    data = harness.random_tree(
        f"d2-{n_files}x50KiB-seed{SEED}", n_files, N_DIRS, FILE_SIZE, seed=SEED
    )
    policy = cache_policy(opts)
    ctx = make_context(opts, data)
    wanted = [k for k in SUBBENCHMARKS if k in (opts.only or [])]
    if not wanted:  # no --only, or --only named tools: every step but the opt-in ones
        wanted = [k for k in SUBBENCHMARKS if k not in OPT_IN]
    ctx.wanted = wanted
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
        *FSYNC_NOTES,
        *ctx.notes,
        f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
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
