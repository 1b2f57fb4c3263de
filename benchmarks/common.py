"""Pieces shared by the workloads: anchors, the Tether side, cache policy."""

from __future__ import annotations

import functools
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import harness

# anchor name -> pip requirements (latest releases, installed on demand into .venvs/<name>)
ANCHORS: dict[str, list[str]] = {
    "dvc": ["dvc[s3]"],  # with dvc-s3, for the pushes to the S3 server
    "mlflow": ["mlflow"],
    # evidently 0.7.x imports a pandas internal that pandas 3 removed: its latest release
    # does not import next to the latest pandas, so the venv keeps pandas 2
    "evidently": ["evidently", "pandas<3"],
}


TOOLS = {"tether", "dvc"}  # names --only may use to pick sides


@dataclass
class Options:
    repeat: int
    quick: bool
    timeout: float
    only: set[str] | None = None  # sub-benchmarks / tools to run; None: all
    cold: bool = False  # drop the page cache before each repetition of a storing case

    def wants(self, tool: str) -> bool:
        """Whether ``--only`` lets ``tool`` run: yes unless it names tools and not this one."""
        if self.only is None or not self.only & TOOLS:
            return True
        return tool in self.only


def anchor_bin(name: str) -> Path:
    """The bin folder of an anchor's venv, installing it on first use."""
    return harness.ensure_venv(name, ANCHORS[name])


def tether_python() -> Path:
    """The current interpreter, with Tether's modules compiled to bytecode (``compile_tether``)."""
    compile_tether()
    return Path(sys.executable)


@functools.cache
def compile_tether() -> None:
    """Tether's bytecode for this interpreter (``harness.byte_compile_checkout``), once per
    benchmark process."""
    harness.byte_compile_checkout(sys.executable)


def tether_script() -> Path:
    """The ``tether`` console script of the current environment (not a pyenv shim)."""
    return Path(sys.executable).parent / "tether"


def tether_importable() -> str | None:
    """None when ``tether.objects.ObjectStore`` imports in a fresh process, else why not."""
    try:
        harness.run_measured(
            [sys.executable, "-c", "from tether.objects import ObjectStore"], timeout=120
        )
    except harness.CommandError as e:
        return str(e)
    return None


def cache_policy(opts: Options) -> str:
    """Say how the page cache is handled; ``--cold`` falls back to warm when not permitted."""
    if opts.cold:
        if harness.drop_caches():
            return "cold page cache: dropped before each repetition of a storing case"
        opts.cold = False
        return "warm page cache (--cold asked, but drop_caches is not permitted here)"
    return "warm page cache: every side reads data warmed first (references always warm)"


def prepare_cache(opts: Options, paths: list[Path]) -> None:
    """Before a timed repetition: flush writes, then drop the page cache or warm ``paths``."""
    os.sync()
    if opts.cold:
        harness.drop_caches()
    else:
        harness.warm(paths)


def versions() -> dict[str, str]:
    out = {"tether": harness.package_version(Path(sys.executable).parent, "tether")}
    for name in ANCHORS:
        venv = harness.VENV_DIR / name / "bin"
        if (venv / "python").exists():
            out[name] = harness.package_version(venv, name)
    return out


TIME_NOTES = [
    "median/min-max: time of the operation inside its fresh process (imports included);"
    " 'wall (process)': the whole process, interpreter start-up included",
    "neither tool fsyncs by default (Tether: objects.fsync = false; writes stay atomic); the"
    " 'dvc (dvc add + sync)' row adds the os.sync() that DVC's process runs right after its add",
]


def without_sync(sample: harness.Sample) -> harness.Sample:
    """A DVC sample whose process wall time leaves out the ``os.sync()`` its runner ran last."""
    sample.wall_s -= float(sample.extra.get("sync_s", 0.0))
    return sample


def with_sync(r: harness.Result) -> harness.Result:
    """A derived row: each DVC sample's op time plus the ``sync_s`` its runner measured after."""
    d = harness.Result(
        r.workload,
        r.case,
        r.tool,
        nbytes=r.nbytes,
        nfiles=r.nfiles,
        baseline=r.baseline,
        note=f"{r.note} + sync",
        error=r.error,
    )
    for s in r.samples:
        sync = float(s.extra.get("sync_s", 0.0))
        op = (s.op_s if s.op_s is not None else s.wall_s) + sync
        d.samples.append(harness.Sample(s.wall_s + sync, op, s.peak_rss_bytes, dict(s.extra)))
    return d


def timed_sync(sample: harness.Sample) -> harness.Sample:
    """Time an ``os.sync()`` right after a CLI command into ``sample.extra["sync_s"]``.

    The command's writes are durable once it returns: the clock a command-with-command
    comparison stops (``synced``). ``os.sync`` flushes the whole system, so on a shared
    machine it also pays for other processes' dirty pages (a flush precedes every step).
    """
    t0 = time.perf_counter()
    os.sync()
    sample.extra["sync_s"] = time.perf_counter() - t0
    return sample


def synced(r: harness.Result, case: str, baseline: str | None = None) -> harness.Result:
    """A derived row ``case``: each sample of ``r`` (a CLI process) plus its ``sync_s``."""
    d = harness.Result(
        r.workload,
        case,
        r.tool,
        nbytes=r.nbytes,
        nfiles=r.nfiles,
        baseline=baseline,
        note=f"{r.note} + sync",
        error=r.error,
    )
    for s in r.samples:
        total = s.wall_s + float(s.extra.get("sync_s", 0.0))
        d.samples.append(harness.Sample(total, None, s.peak_rss_bytes, dict(s.extra)))
    return d
