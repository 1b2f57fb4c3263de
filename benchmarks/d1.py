"""D1 one large file: store 2 GiB of random bytes, vs ``dvc add``, ``cat`` and raw BLAKE3."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import harness
from benchmarks.common import (
    TIME_NOTES,
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

WORKLOAD = "d1"
SEED = 1
TARGET_ADD = 5.0  # dvc add / tether data add, whole commands, until the data is durable
DVC_ENV = {"DVC_NO_ANALYTICS": "1"}
STREAM_CHUNK = 16 * harness.MiB
RAW_HASH_BYTES = 512 * harness.MiB  # in-memory buffer for the pure hashing reference


def copy_fsync(src: Path, dst: Path) -> None:
    buf = bytearray(STREAM_CHUNK)
    view = memoryview(buf)
    with open(src, "rb", buffering=0) as f, open(dst, "wb", buffering=0) as g:
        while n := f.readinto(view):
            g.write(view[:n])
        os.fsync(g.fileno())


def blake3_bytes(buf: bytes) -> str:
    from blake3 import blake3

    return blake3(buf, max_threads=blake3.AUTO).hexdigest()


def blake3_stream(path: Path) -> str:
    from blake3 import blake3

    h = blake3(max_threads=blake3.AUTO)
    buf = bytearray(STREAM_CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(view):
            h.update(view[:n])
    return h.hexdigest()


def blake3_mmap(path: Path) -> str:
    from blake3 import blake3

    h = blake3(max_threads=blake3.AUTO)
    h.update_mmap(str(path))
    return h.hexdigest()


def run(opts: Options) -> list[harness.Result]:
    size = (256 if opts.quick else 2048) * harness.MiB
    data = harness.random_file(f"d1-{size // harness.MiB}MiB-seed{SEED}.bin", size, SEED)
    policy = cache_policy(opts)
    harness.warm([data])
    n = opts.repeat
    results: list[harness.Result] = []
    jobs: list[harness.Case] = []  # every case, run round-robin so that drift hits all alike

    def case(
        case: str,
        tool: str,
        fn: Callable[[Any], Any],
        setup: Callable[[], Any] | None = None,
        teardown: Callable[[Any], None] | None = None,
        **kw: Any,
    ) -> harness.Result:
        r = harness.Result(WORKLOAD, case, tool, nbytes=kw.pop("nbytes", size), **kw)
        results.append(r)
        jobs.append(harness.Case(r, fn, setup, teardown))
        return r

    # (a) physical references, warm page cache
    case(
        "reference",
        "cat > /dev/null",
        lambda _: harness.run_measured(
            ["sh", "-c", 'cat "$1" > /dev/null', "sh", str(data)], timeout=opts.timeout
        ),
    )
    with open(data, "rb") as f:
        buf = f.read(min(RAW_HASH_BYTES, size))
    case(
        "reference",
        "BLAKE3 in memory",
        lambda _: blake3_bytes(buf),
        nbytes=len(buf),
        note=f"{len(buf) // harness.MiB} MiB buffer, AUTO threads",
    )
    # (c) read + hash references; the faster is the one Tether is held against
    digests: dict[str, str] = {}
    stream = case(
        "read+hash",
        "BLAKE3 16 MiB reads",
        lambda _: digests.__setitem__("stream", blake3_stream(data)),
        note="AUTO threads",
    )
    mmap = case(
        "read+hash",
        "BLAKE3 update_mmap",
        lambda _: digests.__setitem__("mmap", blake3_mmap(data)),
        note="AUTO threads",
    )

    # write reference: what storing a copy durably costs on this disk
    def w_setup() -> Path:
        ws = harness.new_workspace("d1-copy-")
        prepare_cache(opts, [data])
        return ws

    write = case(
        "reference",
        "copy + fsync",
        lambda ws: copy_fsync(data, ws / "copy.bin"),
        w_setup,
        harness.rmtree,
        note="16 MiB reads/writes, one fsync",
    )

    # (b) Tether, fresh store each repetition, fresh process
    def t_setup() -> Path:
        ws = harness.new_workspace("d1-tether-")
        prepare_cache(opts, [data])
        return ws

    tether = case(
        "store only (in process)",
        "tether",
        lambda ws: harness.run_measured(
            harness.runner_cmd(tether_python(), "tether-put-file", str(ws / "objects"), str(data)),
            timeout=opts.timeout,
            stdout_json=True,
        ),
        t_setup,
        harness.rmtree,
        note="ObjectStore.put_file",
    )
    why = tether_importable() if opts.wants("tether") else "skipped (--only)"
    if why:
        tether.error = why if why.startswith("skipped") else f"tether.objects not usable: {why}"

    # (d) DVC: the file copied (not timed) into a fresh repo each repetition
    dvc_py = Path("dvc-not-installed")

    def d_setup() -> Path:
        ws = harness.new_workspace("d1-dvc-")
        shutil.copyfile(data, ws / "data.bin")
        harness.run_measured(harness.runner_cmd(dvc_py, "dvc-setup", str(ws)))
        prepare_cache(opts, [ws / "data.bin"])
        return ws

    dvc = case(
        "store only (in process)",
        "dvc",
        lambda ws: without_sync(
            harness.run_measured(
                harness.runner_cmd(dvc_py, "dvc", str(ws), "add", "-q", "data.bin"),
                timeout=opts.timeout,
                stdout_json=True,
            )
        ),
        d_setup,
        harness.rmtree,
        note="dvc add",
        baseline=tether.label,
    )
    if not opts.wants("dvc"):
        dvc.error = "skipped (--only)"
    else:
        try:
            dvc_py = anchor_bin("dvc") / "python"
        except Exception as e:
            dvc.error = str(e)

    # (e) the user commands, whole CLI processes, like for like: `tether data add data.bin` in a
    # `tether init` workspace vs `dvc add data.bin` in a `dvc init --no-scm` repo (the DVC venv's
    # console script), the file copied in and warmed (untimed) each repetition; an os.sync()
    # timed right after each command gives the "+ sync" rows (the clock stopped once the data is
    # durable for both: neither tool fsyncs by default)
    def cli_setup(tool: str) -> Path:
        ws = harness.new_workspace(f"d1-cli-{tool}-")
        shutil.copyfile(data, ws / "data.bin")
        if tool == "tether":
            harness.run_measured([str(tether_script()), "init"], cwd=ws)
        else:
            harness.run_measured(harness.runner_cmd(dvc_py, "dvc-setup", str(ws)), env=DVC_ENV)
        prepare_cache(opts, [ws / "data.bin"])
        return ws

    def cli_add(ws: Path, cmd: list[str], env: dict[str, str] | None = None) -> harness.Sample:
        return timed_sync(harness.run_measured(cmd, cwd=ws, env=env, timeout=opts.timeout))

    t_cli = case(
        "add (CLI)",
        "tether",
        lambda ws: cli_add(ws, [str(tether_script()), "data", "add", "data.bin"]),
        lambda: cli_setup("tether"),
        harness.rmtree,
        note="tether data add data.bin",
    )
    t_cli.error = tether.error
    d_cli = case(
        "add (CLI)",
        "dvc",
        lambda ws: cli_add(ws, [str(dvc_py.parent / "dvc"), "add", "-q", "data.bin"], DVC_ENV),
        lambda: cli_setup("dvc"),
        harness.rmtree,
        note="dvc add data.bin",
        baseline=t_cli.label,
    )
    d_cli.error = dvc.error

    harness.run_cases(jobs, n=n)
    buf = b""  # release the buffer
    ok = [r for r in (stream, mmap) if r.median is not None]
    best = min(ok, key=lambda r: r.median or 0.0) if ok else None
    if best:
        best.note += "; faster: the reference"
        tether.baseline, tether.ratio_kind = best.label, "throughput"
    dvc_sync = with_sync(dvc)
    results.insert(results.index(dvc) + 1, dvc_sync)
    t_durable = synced(t_cli, "add (CLI) + sync")
    d_durable = synced(d_cli, "add (CLI) + sync", baseline=t_durable.label)
    results += [t_durable, d_durable]

    notes = [
        f"data: {data.name}, {size / 1e6:,.0f} MB ({size / harness.MiB:,.0f} MiB), seed {SEED};"
        f" {policy}; all cases interleaved",
        *TIME_NOTES,
    ]
    notes += summary(tether, dvc, dvc_sync, best, digests, write)
    notes += cli_summary(t_cli, d_cli, t_durable, d_durable)
    harness.print_table(
        f"D1 one large file ({size // harness.MiB} MiB), median of {n}", results, notes
    )
    harness.save_results(
        WORKLOAD,
        results,
        {
            "versions": versions(),
            "size": size,
            "seed": SEED,
            "cache": policy,
            "repeat": n,
            "summary": notes,
        },
    )
    return results


def cli_summary(
    t: harness.Result, d: harness.Result, t_sync: harness.Result, d_sync: harness.Result
) -> list[str]:
    """The like-for-like lines: whole commands, and whole commands until the data is durable."""
    if not t.samples or not d.samples:
        return []
    q = harness.ratio(d, t) or 0.0
    qs = harness.ratio(d_sync, t_sync) or 0.0
    verdict = "meets" if qs >= TARGET_ADD else "MISSES"
    return [
        f"add, command with command: dvc add {harness.fmt_s(d.median)} / tether data add"
        f" {harness.fmt_s(t.median)} = {q:.2f}x; until durable (+ os.sync): dvc"
        f" {harness.fmt_s(d_sync.median)} / tether {harness.fmt_s(t_sync.median)} = {qs:.2f}x"
        f" (target >= {TARGET_ADD:g}x: {verdict})",
        f"add (CLI) peak RSS: tether {(t.peak_rss or 0) / 1e6:.0f} MB,"
        f" dvc {(d.peak_rss or 0) / 1e6:.0f} MB",
    ]


def summary(
    tether: harness.Result,
    dvc: harness.Result,
    dvc_sync: harness.Result,
    best: harness.Result | None,
    digests: dict[str, str],
    write: harness.Result | None = None,
) -> list[str]:
    out = []
    if tether.samples and write and write.median and tether.median:
        out.append(
            f"Tether / copy+fsync throughput: {write.median / tether.median:.2f}"
            " (copy+fsync: the durable write speed of this disk)"
        )
    if tether.samples and best and best.median and tether.median:
        q = best.median / tether.median
        verdict = "meets" if q >= 0.70 else "MISSES"
        out.append(f"Tether / read+hash throughput: {q:.2f} (target >= 0.70: {verdict})")
    if tether.samples and dvc.samples:
        dq = harness.ratio(dvc, tether) or 0.0
        w = (dvc.wall_median or 0) / (tether.wall_median or 1)
        out.append(f"DVC time / Tether time: {dq:.2f}x (whole process wall: {w:.2f}x)")
        sq = harness.ratio(dvc_sync, tether) or 0.0
        out.append(f"DVC (add + sync) time / Tether time: {sq:.2f}x")
    if tether.peak_rss:
        mb = tether.peak_rss / 1e6
        verdict = "meets" if mb < 200 else "MISSES"
        out.append(f"Tether peak RSS: {mb:.0f} MB (target < 200 MB: {verdict})")
    if dvc.peak_rss:
        out.append(f"DVC peak RSS: {dvc.peak_rss / 1e6:.0f} MB")
    ref = digests.get("stream") or digests.get("mmap")
    if ref and tether.samples:
        got = str(tether.samples[0].extra.get("digest", ""))
        same = "matches" if ref in got else f"differs from the raw BLAKE3 {ref[:16]}…"
        out.append(f"Tether digest {got[:24]}… {same}")
    return out
