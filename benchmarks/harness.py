"""Small, reusable benchmark harness: data, anchor venvs, timers, peak RSS, tables, results.

Nothing here imports Tether or an anchor: every tool runs in its own fresh subprocess (Tether in
the current interpreter, an anchor in its own virtual environment under ``benchmarks/.venvs``),
so start-up, imports and peak memory are measured the same way for every tool. Physical
references (reading, hashing) may run in-process.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / ".data"
WORK_DIR = DATA_DIR / "work"  # temp workspaces: same filesystem as the data
VENV_DIR = BENCH_DIR / ".venvs"
RESULTS_DIR = BENCH_DIR / "results"
RUNNER = BENCH_DIR / "_runner.py"  # stdlib-only script run by every side in a fresh process

MiB = 1 << 20
GiB = 1 << 30
CHUNK = 64 * MiB

DEFAULT_TIMEOUT_S = 900.0


# --------------------------------------------------------------------------------------- data


def _meta_ok(path: Path, meta: dict[str, Any]) -> bool:
    sidecar = path.with_name(path.name + ".json")
    if not path.exists() or not sidecar.exists():
        return False
    try:
        return json.loads(sidecar.read_text()) == meta
    except (OSError, ValueError):
        return False


def _write_meta(path: Path, meta: dict[str, Any]) -> None:
    path.with_name(path.name + ".json").write_text(json.dumps(meta, sort_keys=True))


def random_file(name: str, size: int, seed: int = 0) -> Path:
    """A file of ``size`` seeded random bytes under ``.data/``; cached, rebuilt when missing."""
    import numpy as np

    path = DATA_DIR / name
    meta = {"kind": "file", "size": size, "seed": seed, "version": 1}
    if _meta_ok(path, meta) and path.stat().st_size == size:
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tmp = path.with_name(path.name + ".partial")
    t0 = time.perf_counter()
    with open(tmp, "wb") as f:
        left = size
        while left:
            n = min(CHUNK, left)
            f.write(rng.bytes(n))
            left -= n
    os.replace(tmp, path)
    _write_meta(path, meta)
    log(f"generated {path} ({size / MiB:.0f} MiB) in {time.perf_counter() - t0:.1f} s")
    return path


def random_tree(name: str, n_files: int, n_dirs: int, file_size: int, seed: int = 0) -> Path:
    """``n_files`` seeded random files of ``file_size`` bytes spread over ``n_dirs`` folders."""
    import numpy as np

    root = DATA_DIR / name
    meta = {
        "kind": "tree",
        "n_files": n_files,
        "n_dirs": n_dirs,
        "file_size": file_size,
        "seed": seed,
        "version": 1,
    }
    if _meta_ok(root, meta):
        return root
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    tmp = root.with_name(root.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    per_dir = -(-n_files // n_dirs)
    written = 0
    for d in range(n_dirs):
        folder = tmp / f"dir{d:04d}"
        folder.mkdir(parents=True)
        batch = min(per_dir, n_files - written)
        blob = rng.bytes(batch * file_size)
        for i in range(batch):
            (folder / f"file{i:05d}.bin").write_bytes(blob[i * file_size : (i + 1) * file_size])
        written += batch
    os.replace(tmp, root)
    _write_meta(root, meta)
    log(f"generated {root} ({n_files} files) in {time.perf_counter() - t0:.1f} s")
    return root


def tree_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@contextmanager
def workspace(prefix: str) -> Iterator[Path]:
    """A fresh temp folder on the data filesystem, removed afterwards."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=WORK_DIR))
    try:
        yield path
    finally:
        rmtree(path)


def new_workspace(prefix: str) -> Path:
    """A fresh temp folder on the data filesystem; the caller removes it with ``rmtree``."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=WORK_DIR))


def rmtree(path: Path) -> None:
    if not path.exists():
        return

    # DVC and content stores may make their cache read-only: make folders writable first
    for dirpath, dirnames, _ in os.walk(path):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o700)
    shutil.rmtree(path)


# ------------------------------------------------------------------------------- page cache


def drop_caches() -> bool:
    """Drop the page cache when permitted (root outside a container); False otherwise."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def warm(paths: Sequence[Path]) -> None:
    """Read files once so that every side starts from the same warm page cache."""
    buf = bytearray(16 * MiB)
    view = memoryview(buf)
    for p in paths:
        if p.is_dir():
            warm(tree_files(p))
            continue
        with open(p, "rb", buffering=0) as f:
            while f.readinto(view):
                pass  # reading is the point: it pulls the file into the page cache


# ------------------------------------------------------------------------------- anchor venvs


def ensure_venv(name: str, packages: Sequence[str]) -> Path:
    """The ``bin`` folder of ``.venvs/<name>`` with ``packages`` installed (idempotent: a venv
    that has them, and maybe more, is used as it is, so callers that need a few packages more
    share one venv without reinstalling in turn).

    Raises ``RuntimeError`` with pip's last lines when the install fails.
    """
    import fcntl

    VENV_DIR.mkdir(parents=True, exist_ok=True)
    # one installer at a time per venv: tests run in parallel processes share these venvs
    with open(VENV_DIR / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _ensure_venv(name, packages)


def _ensure_venv(name: str, packages: Sequence[str]) -> Path:
    venv = VENV_DIR / name
    bindir = venv / "bin"
    marker = venv / ".bench-installed.json"
    want = sorted(packages)
    had: list[str] = []
    if marker.exists():
        with contextlib.suppress(ValueError):  # an unreadable marker: reinstall below
            had = [str(p) for p in json.loads(marker.read_text())]
        if set(want) <= set(had) and (bindir / "python").exists():
            return bindir
    if not (bindir / "python").exists():
        log(f"creating venv {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    log(f"installing {' '.join(want)} into {venv} (latest releases)")
    proc = subprocess.run(
        [str(bindir / "python"), "-m", "pip", "install", "--upgrade", "--quiet", *want],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        lines = [
            ln
            for ln in (proc.stdout + proc.stderr).splitlines()
            if ln.strip() and not ln.startswith("WARNING: Location")
        ]
        raise RuntimeError(f"pip install {' '.join(want)} failed: " + " | ".join(lines[-8:]))
    marker.write_text(json.dumps(sorted({*had, *want})))
    return bindir


def byte_compile_checkout(python: Path | str) -> None:
    """Byte-compile this checkout's ``tether`` for ``python``, as pip does for an installed
    package: where ``PYTHONDONTWRITEBYTECODE`` is set, a fresh process would otherwise compile
    every Tether module it imports from source while the anchors' installed modules load
    from ``.pyc`` files (``__pycache__`` is ignored by git)."""
    subprocess.run(
        [str(python), "-m", "compileall", "-q", str(REPO_DIR / "tether")],
        check=True,
        capture_output=True,
    )


def package_version(bindir: Path, dist: str) -> str:
    proc = subprocess.run(
        [
            str(bindir / "python"),
            "-c",
            f"import importlib.metadata as m; print(m.version({dist!r}))",
        ],
        capture_output=True,
        text=True,
    )
    return proc.stdout.strip() if proc.returncode == 0 else "?"


# -------------------------------------------------------------------------------- measuring


@dataclass
class Sample:
    """One repetition: wall seconds, optional seconds measured inside the process, peak RSS."""

    wall_s: float
    op_s: float | None = None
    peak_rss_bytes: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    """All repetitions of one case of one workload for one tool."""

    workload: str
    case: str
    tool: str
    samples: list[Sample] = field(default_factory=list)
    error: str | None = None
    nbytes: int | None = None  # data volume processed, for MB/s
    nfiles: int | None = None  # files processed, for files/s
    baseline: str | None = None  # label ("case/tool") of the row this one is compared with
    ratio_kind: str = "time"  # "time": this time / baseline time; "throughput": inverse
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.case}/{self.tool}"

    def times(self, use_op: bool = True) -> list[float]:
        out = []
        for s in self.samples:
            out.append(s.op_s if use_op and s.op_s is not None else s.wall_s)
        return out

    @property
    def median(self) -> float | None:
        t = self.times()
        return statistics.median(t) if t else None

    @property
    def wall_median(self) -> float | None:
        t = self.times(use_op=False)
        return statistics.median(t) if t else None

    @property
    def peak_rss(self) -> int | None:
        r = [s.peak_rss_bytes for s in self.samples if s.peak_rss_bytes is not None]
        return max(r) if r else None

    def throughput(self) -> dict[str, float]:
        m = self.median
        if not m:
            return {}
        out = {}
        if self.nbytes:
            out["MB/s"] = self.nbytes / m / 1e6
        if self.nfiles:
            out["files/s"] = self.nfiles / m
        return out

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        t = self.times()
        d.update(
            median_s=self.median,
            min_s=min(t) if t else None,
            max_s=max(t) if t else None,
            wall_median_s=self.wall_median,
            peak_rss_max_bytes=self.peak_rss,
            throughput=self.throughput(),
        )
        return d


class CommandError(RuntimeError):
    """A tool's command exited non-zero or timed out; the row shows it as an error."""


TIME_BIN = "/usr/bin/time"


def run_measured(
    cmd: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    stdout_json: bool = False,
) -> Sample:
    """Run ``cmd`` in a fresh process: wall time and peak RSS (of it and its waited children).

    Peak RSS comes from GNU ``/usr/bin/time -f %M``: a tiny parent, because Linux carries the
    RSS high-water mark of the forking process's image over ``exec`` into the child's
    ``ru_maxrss``, so forking from this (large) benchmark process would inflate it. Without
    ``/usr/bin/time`` it falls back to ``os.wait4`` (an upper bound).

    With ``stdout_json`` the last stdout line is parsed as JSON; its ``op_s`` becomes the time
    measured inside the process and the rest lands in ``extra``. Raises ``CommandError``.
    """
    full_env = {**os.environ, **(env or {})}
    use_time = os.access(TIME_BIN, os.X_OK)
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file,
    ):
        argv = list(cmd)
        if use_time:
            argv = [TIME_BIN, "-f", "%M", "-o", rss_file.name, *argv]
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=cwd, env=full_env, stdout=out, stderr=err, start_new_session=True
        )
        timed_out = threading.Event()

        def _kill() -> None:
            timed_out.set()
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, _kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
        rss_kib = usage.ru_maxrss
        if use_time:
            lines = [ln for ln in rss_file.read().splitlines() if ln.strip().isdigit()]
            rss_kib = int(lines[-1]) if lines else rss_kib
    if timed_out.is_set():
        raise CommandError(f"timed out after {timeout:.0f} s: {' '.join(cmd)}")
    if proc.returncode != 0:
        tail = " | ".join((stderr or stdout).strip().splitlines()[-3:])
        raise CommandError(f"exit {proc.returncode}: {tail[-400:]}")
    sample = Sample(wall_s=wall, peak_rss_bytes=rss_kib * 1024)
    if stdout_json:
        lines = [ln for ln in stdout.strip().splitlines() if ln.strip()]
        try:
            data = json.loads(lines[-1])
        except (IndexError, ValueError) as e:
            raise CommandError(f"no JSON result on stdout: {stdout[-300:]!r}") from e
        sample.op_s = data.pop("op_s", None)
        sample.extra = data
    return sample


@dataclass
class Case:
    """One row to measure: ``fn(setup())`` per repetition, then ``teardown(ctx)`` (untimed).

    ``fn`` returns a ``Sample`` (e.g. from ``run_measured``) or anything else (then it is timed
    here with ``perf_counter``).
    """

    result: Result
    fn: Callable[[Any], Any]
    setup: Callable[[], Any] | None = None
    teardown: Callable[[Any], None] | None = None


def _once(case: Case, record: bool, index: int) -> bool:
    """One repetition of ``case``; False (and the error stored on its result) when it failed."""
    r = case.result
    ctx: Any = None
    try:
        ctx = case.setup() if case.setup else None
        t0 = time.perf_counter()
        got = case.fn(ctx)
        elapsed = time.perf_counter() - t0
        sample = got if isinstance(got, Sample) else Sample(wall_s=elapsed)
        if record:
            r.samples.append(sample)
            log(f"  {r.label} #{index}: {fmt_s(sample_time(sample))}")
        return True
    except Exception as e:  # a failing tool is a row in the table, not a crash
        r.error = f"{type(e).__name__}: {e}"
        log(f"  {r.label}: ERROR {r.error}")
        return False
    finally:
        if case.teardown and ctx is not None:
            case.teardown(ctx)


def run_cases(cases: Sequence[Case], n: int = 5, warmup: int = 0) -> None:
    """Round-robin: repetition i of every case before repetition i + 1 of any.

    Interleaving spreads the drift of a shared machine over all tools instead of charging it to
    whichever ran last. A case that fails once is dropped (its error is on its result).
    """
    live = [c for c in cases if c.result.error is None]
    for i in range(warmup + n):
        live = [c for c in live if _once(c, i >= warmup, i - warmup + 1)]


def repeat(
    result: Result,
    fn: Callable[[Any], Any],
    *,
    n: int = 5,
    setup: Callable[[], Any] | None = None,
    teardown: Callable[[Any], None] | None = None,
    warmup: int = 0,
) -> Result:
    """Run one case ``warmup + n`` times (see ``Case`` and ``run_cases``)."""
    run_cases([Case(result, fn, setup, teardown)], n=n, warmup=warmup)
    return result


def sample_time(s: Sample) -> float:
    return s.op_s if s.op_s is not None else s.wall_s


def runner_cmd(python: Path | str, *args: str) -> list[str]:
    """Command running one operation of ``_runner.py`` in a fresh interpreter."""
    return [str(python), str(RUNNER), *args]


# -------------------------------------------------------------------------------- reporting


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fmt_s(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1:
        return f"{s * 1000:.0f} ms"
    return f"{s:.2f} s"


def fmt_range(r: Result) -> str:
    t = r.times()
    if not t:
        return "-"
    return f"{fmt_s(min(t))} - {fmt_s(max(t))}"


def fmt_tp(r: Result) -> str:
    tp = r.throughput()
    parts = []
    if "MB/s" in tp:
        parts.append(f"{tp['MB/s']:,.0f} MB/s")
    if "files/s" in tp:
        parts.append(f"{tp['files/s']:,.0f} files/s")
    return ", ".join(parts) or "-"


def ratio(anchor: Result, tether: Result) -> float | None:
    """Anchor time / Tether time (>1: Tether is faster)."""
    a, t = anchor.median, tether.median
    if a is None or t is None or t == 0:
        return None
    return a / t


def print_table(title: str, results: Sequence[Result], notes: Sequence[str] = ()) -> None:
    from rich.console import Console
    from rich.table import Table

    by_label = {r.label: r for r in results}
    table = Table(title=title, title_justify="left")
    for col in ("workload", "case", "tool"):
        table.add_column(col)
    for col in ("median", "min - max", "throughput", "wall (process)", "peak RSS", "ratio"):
        table.add_column(col, justify="right")
    errors = []
    for r in results:
        if r.error:
            errors.append(f"[red]error[/red] {r.label}: {r.error[:600]}")
            table.add_row(r.workload, r.case, r.tool, "[red]error[/red]", "(see below)")
            continue
        base = by_label.get(r.baseline) if r.baseline else None
        q = ratio(r, base) if base else None
        if q is None or base is None:
            qtext = ""
        elif r.ratio_kind == "throughput":  # this row's throughput / the reference's
            qtext = f"{1 / q:.2f} of {base.tool}"
        else:  # anchor time / Tether time
            qtext = f"{q:.2f}x vs {base.tool}"
        rss = r.peak_rss
        has_op = any(s.op_s is not None for s in r.samples)
        table.add_row(
            r.workload,
            r.case,
            r.tool + (f" [dim]({r.note})[/dim]" if r.note else ""),
            fmt_s(r.median),
            fmt_range(r),
            fmt_tp(r),
            fmt_s(r.wall_median) if has_op else "",
            f"{rss / 1e6:.0f} MB" if rss else "",
            qtext,
        )
    console = Console(width=180)
    console.print(table)
    for n in [*notes, *errors]:
        console.print(f"  {n}", highlight=False)


def save_results(workload: str, results: Sequence[Result], extra: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{workload}-{stamp}.json"
    doc = {
        "workload": workload,
        "timestamp": stamp,
        "host": {
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
        },
        **extra,
        "results": [r.to_json() for r in results],
    }
    path.write_text(json.dumps(doc, indent=2, default=str))
    log(f"results written to {path.relative_to(REPO_DIR)}")
    return path
