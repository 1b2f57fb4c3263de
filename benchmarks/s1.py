"""S1 serving: a scikit-learn LogisticRegression (20 features, make_classification 10,000 rows,
seed 0) served on 127.0.0.1 by ``tether serve`` (prediction log on and off), ``mlflow models
serve`` and Seldon's MLServer (scikit-learn runtime, OIP v2), each in its own environment,
loaded by ``wrk`` (16 connections) with single-row and 100-row requests.

Reports requests/s, rows/s, p50, p99, non-2xx responses, server RSS and PSS (the process tree,
after the load) and the time from start to the first ready answer; then S2, the prediction log
on against off in alternated rounds. ``--quick``: 5 s per load instead of 20, two S2 rounds.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks import harness
from benchmarks.common import Options

CONNECTIONS = 16
# Tether runs from this checkout in an environment of its own holding only what serving a
# scikit-learn model needs, as the anchors do (in the development environment skops imports
# torch through scikit-learn's array-API shim: +3 s and +240 MB that a serving image lacks)
TETHER_PACKAGES = [
    "sqlalchemy>=2.0.25", "alembic>=1.13", "fsspec>=2024.2", "blake3>=0.4", "typer>=0.12,<0.29",
    "rich>=13.7", "tomlkit>=0.12", "scikit-learn", "skops", "pandas", "pyarrow", "starlette",
    "uvicorn[standard]", "prometheus-client", "orjson", "pysimdjson",
]  # fmt: skip
EXTRA = os.environ.get("S1_TETHER_ARGS", "").split()  # e.g. "--in-loop" to compare settings
ANCHOR_PACKAGES = {
    "mlflow-serve": ["mlflow", "scikit-learn"],
    # MLServer's latest release does not start with uvloop 0.22+ (its default event loop)
    "mlserver": ["mlserver", "mlserver-sklearn", "uvloop<0.22"],
}

TRAIN = """
import sys, numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
X, y = make_classification(n_samples=10_000, n_features=20, random_state=0)
model = LogisticRegression(max_iter=1000).fit(X, y)
np.save(sys.argv[1] + "/X.npy", X[:200])
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_tree(pid: int, field: str = "Rss:") -> int:
    """Resident memory of ``pid`` and its descendants, bytes: their RSS added up (``Rss:``),
    or their PSS (``Pss:``: pages shared between them, such as the libraries every Python
    process maps and the prediction log's ring, counted once, split between them)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith(field):
                        total += int(line.split()[1]) * 1024
            todo.extend(_children(p))
        except OSError:  # the process ended while it was read: it counts for nothing
            pass
    return total


def _children(pid: int) -> list[int]:
    """The child processes of every thread of ``pid`` (a thread's children are listed under
    that thread only: the prediction log's writer process is its thread's)."""
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
            out.extend(int(c) for c in f.read().split())  # (OSError: the thread ended)
    return out


def _cpu_tree(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            todo.extend(_children(p))
        except OSError:  # the process ended while it was read: it counts for nothing
            pass
    return total


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return time.monotonic()
        except OSError:  # not listening yet
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{url} not ready after {timeout} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with_children = proc.pid
    try:
        os.killpg(with_children, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(with_children, signal.SIGKILL)
        proc.wait(30)


def _wrk(url: str, body: str, seconds: int, folder: Path) -> dict[str, Any]:
    script = folder / "body.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50_ms": _ms(lat.get("50", "nan")),
        "p99_ms": _ms(lat.get("99", "nan")),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if m is None:
        return float("nan")
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


def _oip(rows: list[list[float]]) -> str:
    flat = [x for r in rows for x in r]
    return json.dumps(
        {
            "inputs": [
                {"name": "input-0", "shape": [len(rows), 20], "datatype": "FP64", "data": flat}
            ]
        }
    )


def _tether_python() -> Path:
    python = harness.ensure_venv("tether-serve", TETHER_PACKAGES) / "python"
    harness.byte_compile_checkout(python)  # as an installed Tether would be (start-up time)
    return python


def _tether_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(harness.REPO_DIR)}


def _tether_setup(work: Path) -> tuple[Path, list[list[float]]]:
    """A workspace with model ``s1`` (alias champion), trained in this interpreter."""
    import numpy as np

    ws = work / "tether"
    ws.mkdir()
    code = (
        TRAIN
        + f"""
from tether.config import init_workspace
from tether.models import save_model
from tether.workspace import Workspace
init_workspace({str(ws)!r}, project="s1")
w = Workspace({str(ws)!r})
w.store.get_or_create_project("s1")
save_model(model, {str(work / "tmodel")!r}, sample=X[:100])
tree = w.objects.put_tree({str(work / "tmodel")!r})
from pathlib import Path
from tether.models.manifest import read_manifest
meta = read_manifest(Path({str(work / "tmodel")!r}))
w.store.create_model_version("s1", "s1", artifact_digest=tree.digest, flavor=meta.flavor,
                             signature=meta.signature.to_json())
w.store.set_alias("s1", "s1", "champion", 1, actor="bench")
w.close()
"""
    )
    subprocess.run([str(_tether_python()), "-c", code, str(work)], check=True, env=_tether_env())
    X = np.load(work / "X.npy")
    return ws, X.round(6).tolist()


def _case(
    name: str, cmd: list[str], ready: str, urls: dict[str, str], bodies: dict[str, str],
    seconds: int, work: Path, cwd: Path | None = None, env: dict[str, str] | None = None,
    metrics: str | None = None, warmup: int = 0,
) -> dict[str, Any]:  # fmt: skip
    harness.log(f"{name}: starting")
    log = open(work / f"{name}.log", "wb")  # noqa: SIM115 (kept open for the server's life)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    result: dict[str, Any] = {"tool": name}
    try:
        result["ready_s"] = _wait_ready(ready, proc) - t0
        for kind in ("1-row", "100-row"):
            if warmup:  # not measured: what the server does once after it starts is done
                _wrk(urls[kind], bodies[kind], warmup, work)
            cpu0 = _cpu_tree(proc.pid)
            r = _wrk(urls[kind], bodies[kind], seconds, work)
            # CPU per request holds up on a busy machine, where req/s depends on the neighbours
            r["cpu_ms_per_req"] = (_cpu_tree(proc.pid) - cpu0) * 1e3 / max(1.0, r["rps"] * seconds)
            rows = 1 if kind == "1-row" else 100
            result[kind] = {**r, "rows_per_s": r["rps"] * rows}
            if metrics is not None:  # the prediction log's counters after this load
                result[kind]["log"] = _log_counters(metrics)
            harness.log(f"{name} {kind}: {r}")
        result["rss_mb"] = _rss_tree(proc.pid) / 2**20
        result["pss_mb"] = _rss_tree(proc.pid, "Pss:") / 2**20
    except Exception as e:  # report the side that failed, keep the others
        result["error"] = f"{type(e).__name__}: {e}"
        harness.log(f"{name}: {result['error']} (see {work / (name + '.log')})")
    finally:
        _stop(proc)
        log.close()
    return result


def _log_counters(url: str) -> dict[str, float]:
    """Rows the prediction log wrote and dropped so far, from the server's ``/metrics``."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as r:
        text = r.read().decode()
    out = {"written": 0.0, "dropped": 0.0}
    for line in text.splitlines():
        name = line.split("{")[0].split(" ")[0]
        if name == "tether_prediction_log_rows_total":
            out["written"] += float(line.rsplit(" ", 1)[1])
        elif name == "tether_prediction_log_dropped_rows_total":
            out["dropped"] += float(line.rsplit(" ", 1)[1])
    return out


def run(opts: Options) -> list[Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("S1 needs wrk: apt-get install wrk")
    seconds = 5 if opts.quick else 20
    work = Path(
        tempfile.mkdtemp(prefix="s1-", dir=harness.DATA_DIR if harness.DATA_DIR.exists() else None)
    )
    results: list[dict[str, Any]] = []
    s2: list[dict[str, Any]] = []
    try:
        ws, X = _tether_setup(work)
        one, hundred = X[:1], X[:100]
        oip = {"1-row": _oip(one), "100-row": _oip(hundred)}
        mlflow_body = {
            "1-row": json.dumps({"inputs": one}),
            "100-row": json.dumps({"inputs": hundred}),
        }
        tether = [str(_tether_python()), "-m", "tether", "serve", "s1@champion", "--poll", "0"]
        tether += EXTRA
        for label, extra in (("tether", []), ("tether (log off)", ["--no-log"])):
            if not opts.wants("tether"):
                continue
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            results.append(_case(
                label, [*tether, "--port", str(port), *extra], base + "/v2/health/ready",
                dict.fromkeys(oip, base + "/v2/models/s1/infer"), oip, seconds, work, cwd=ws,
                env={"PYTHONPATH": str(harness.REPO_DIR)}, metrics=base + "/metrics",
            ))  # fmt: skip
        if opts.wants("tether"):  # S2: one pair of loads is too noisy on a shared machine
            s2 = _s2(tether, ws, oip, work, rounds=2 if opts.quick else S2_ROUNDS)
        if opts.wants("mlflow"):
            results.append(_mlflow(work, mlflow_body, seconds))
        if opts.wants("mlserver"):
            results.append(_mlserver(work, oip, seconds))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _print(results, seconds)
    _print_s2(s2)
    harness.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = harness.RESULTS_DIR / f"s1-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(
        json.dumps({"workload": "s1", "seconds": seconds, "results": results, "s2": s2}, indent=2)
    )
    harness.log(f"results written to {path}")
    return []


S2_ROUNDS = 3
S2_SECONDS = 10
S2_WARMUP = 2


def _s2(
    tether: list[str], ws: Path, bodies: dict[str, str], work: Path, rounds: int
) -> list[dict[str, Any]]:
    """S2: the prediction log's cost. Servers with the log on and off, alternated ``rounds``
    times with shorter loads, so that what the neighbours do hits both sides alike, each load
    after a short one that is not measured (start-up work, such as the log's writer process
    importing pyarrow, is not the log's cost under load); each round's ratio, and their
    median, is reported."""
    out: list[dict[str, Any]] = []
    for i in range(rounds):
        pair = {}
        for side, extra in (("on", []), ("off", ["--no-log"])):
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            pair[side] = _case(
                f"s2 round {i + 1} log {side}", [*tether, "--port", str(port), *extra],
                base + "/v2/health/ready", dict.fromkeys(bodies, base + "/v2/models/s1/infer"),
                bodies, S2_SECONDS, work, cwd=ws, env={"PYTHONPATH": str(harness.REPO_DIR)},
                metrics=base + "/metrics" if side == "on" else None, warmup=S2_WARMUP,
            )  # fmt: skip
        out.append(pair)
    return out


def _print_s2(rounds: list[dict[str, Any]]) -> None:
    good = [r for r in rounds if "error" not in r["on"] and "error" not in r["off"]]
    if not good:
        return
    print(
        f"\nS2 prediction log on against off, {len(good)} alternated rounds of {S2_SECONDS} s "
        f"(after {S2_WARMUP} s not measured)"
    )
    for k in ("1-row", "100-row"):
        rps = [r["on"][k]["rps"] / r["off"][k]["rps"] - 1 for r in good]
        cpu = [r["on"][k]["cpu_ms_per_req"] / r["off"][k]["cpu_ms_per_req"] - 1 for r in good]
        print(
            f"{k}: req/s {' '.join(f'{x:+.1%}' for x in rps)} (median {_median(rps):+.1%}); "
            f"CPU per request {' '.join(f'{x:+.1%}' for x in cpu)} (median {_median(cpu):+.1%})"
        )


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _mlflow(work: Path, bodies: dict[str, str], seconds: int) -> dict[str, Any]:
    bindir = harness.ensure_venv("mlflow-serve", ANCHOR_PACKAGES["mlflow-serve"])
    folder = work / "mlflow-model"
    code = TRAIN + f"import mlflow.sklearn\nmlflow.sklearn.save_model(model, {str(folder)!r})\n"
    subprocess.run([str(bindir / "python"), "-c", code, str(work)], check=True,
                   capture_output=True)  # fmt: skip
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [str(bindir / "mlflow"), "models", "serve", "-m", str(folder), "--env-manager",
           "local", "-h", "127.0.0.1", "-p", str(port)]  # fmt: skip
    env = {"PATH": f"{bindir}:{os.environ.get('PATH', '')}"}
    return _case("mlflow", cmd, base + "/ping", dict.fromkeys(bodies, base + "/invocations"),
                 bodies, seconds, work, env=env)  # fmt: skip


def _mlserver(work: Path, bodies: dict[str, str], seconds: int) -> dict[str, Any]:
    bindir = harness.ensure_venv("mlserver", ANCHOR_PACKAGES["mlserver"])
    folder = work / "mlserver"
    (folder / "s1").mkdir(parents=True)
    code = TRAIN + f"import joblib\njoblib.dump(model, {str(folder / 's1' / 'model.joblib')!r})\n"
    subprocess.run([str(bindir / "python"), "-c", code, str(work)], check=True,
                   capture_output=True)  # fmt: skip
    (folder / "s1" / "model-settings.json").write_text(json.dumps({
        "name": "s1", "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib"},
    }))  # fmt: skip
    port = _free_port()
    (folder / "settings.json").write_text(json.dumps({
        "http_port": port, "grpc_port": _free_port(), "metrics_port": _free_port(),
        "host": "127.0.0.1",
    }))  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    env = {"PATH": f"{bindir}:{os.environ.get('PATH', '')}"}
    return _case("mlserver", [str(bindir / "mlserver"), "start", str(folder)],
                 base + "/v2/models/s1/ready", dict.fromkeys(bodies, base + "/v2/models/s1/infer"),
                 bodies, seconds, work, env=env)  # fmt: skip


def _cpu_ratio(anchor: dict[str, Any], tether: dict[str, Any]) -> float:
    return float(anchor["1-row"]["cpu_ms_per_req"] / tether["1-row"]["cpu_ms_per_req"])


def _print(results: list[dict[str, Any]], seconds: int) -> None:
    print(f"\nS1 serving, {CONNECTIONS} connections, {seconds} s per load, wrk -t1")
    print("CPU ms: the server's CPU time (user + system, whole process tree) per request")
    print("RSS MB: the process tree's resident memory added up; PSS MB: shared pages counted once")
    head = f"{'tool':<18}{'ready s':>8}{'RSS MB':>8}{'PSS MB':>8}  " + "  ".join(
        f"{k + ' req/s':>13}{'rows/s':>10}{'p50 ms':>8}{'p99 ms':>8}{'CPU ms':>7}{'non2xx':>7}"
        for k in ("1-row", "100-row")
    )
    print(head)
    for r in results:
        if "error" in r:
            print(f"{r['tool']:<18}  failed: {r['error']}")
            continue
        line = f"{r['tool']:<18}{r['ready_s']:>8.2f}{r['rss_mb']:>8.0f}{r['pss_mb']:>8.0f}  "
        line += "  ".join(
            f"{r[k]['rps']:>13.0f}{r[k]['rows_per_s']:>10.0f}{r[k]['p50_ms']:>8.2f}"
            f"{r[k]['p99_ms']:>8.2f}{r[k]['cpu_ms_per_req']:>7.2f}{r[k]['non_2xx']:>7}"
            for k in ("1-row", "100-row")
        )
        print(line)
    by = {r["tool"]: r for r in results if "error" not in r}
    t = by.get("tether")
    for anchor in ("mlflow", "mlserver"):
        a = by.get(anchor)
        if t and a:
            print(
                f"tether / {anchor}: 1-row req/s x{t['1-row']['rps'] / a['1-row']['rps']:.1f}, "
                f"100-row rows/s x{t['100-row']['rows_per_s'] / a['100-row']['rows_per_s']:.1f}, "
                f"1-row p99 {t['1-row']['p99_ms'] / a['1-row']['p99_ms']:.3f} of theirs; "
                f"CPU per 1-row request {_cpu_ratio(a, t):.1f}x less"
            )
    if t and "log" in t["100-row"]:
        done, after = t["1-row"]["log"], t["100-row"]["log"]
        print(
            f"prediction log rows written / dropped: 1-row load {done['written']:.0f} / "
            f"{done['dropped']:.0f}; 100-row load {after['written'] - done['written']:.0f} / "
            f"{after['dropped'] - done['dropped']:.0f} (written by the end of each load)"
        )
    off = by.get("tether (log off)")
    if t and off:
        for k in ("1-row", "100-row"):
            cpu = t[k]["cpu_ms_per_req"] / off[k]["cpu_ms_per_req"] - 1
            print(
                f"prediction log, {k}: req/s {t[k]['rps'] / off[k]['rps'] - 1:+.1%}, "
                f"CPU per request {cpu:+.1%} (log on against off)"
            )
