"""``tether demo``: the whole loop, offline. Version a dataset, train v1 and gate it onto
``churn@champion``, serve it, send traffic, shift the data, detect the drift, let the
continuous-training controller retrain, gate and promote v2, and watch the server swap to it
without a failed request. Then the drift report, the model card and the lineage of v2.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.demo.churn import FEATURES, NAME, TARGET, churn_table
from tether.demo.errors import DemoFailed
from tether.errors import InvalidInput

ALIAS = "champion"
GATE = {"primary": "accuracy", "min_improvement": 0.0}
TIMINGS = "demo-timings.json"
MARKER = ".tether-demo"  # only a folder holding it is deleted to run the demo again
# the loop the controller runs (docs/continuous-training.md); `tether loop run` reads it too
LOOP = f"""
[loop.{NAME}]
model = "{NAME}"
alias = "{ALIAS}"
pipeline = "tether.demo.churn:train"
dataset = "{NAME}"
target = "{TARGET}"
executor = "{{executor}}"
gate = {{{{ primary = "{GATE["primary"]}", min_improvement = {GATE["min_improvement"]} }}}}

[loop.{NAME}.triggers]
new_data = true
drift = 0.3
"""


@dataclass
class LoopDemoResult:
    workspace: Path
    v1: int
    v2: int
    promoted: bool
    requests: int
    failed: int
    drifted: list[str]
    share_drifted: float
    report: Path
    card: Path
    phases: dict[str, float] = field(default_factory=dict)
    server_pid: int | None = None
    url: str | None = None
    controller_pid: int | None = None


class Traffic(threading.Thread):
    """A client posting OIP v2 requests with X-Request-IDs; counts answers and failures."""

    def __init__(self, url: str, frame: Any) -> None:
        super().__init__(daemon=True, name="demo-traffic")
        self.url = url
        self.source: tuple[Any, bool] = (frame, False)  # (rows to send, record them): one swap
        self.sent: list[Any] = []  # the frames sent after the shift
        self.ok = 0
        self.failed = 0
        self.errors: list[str] = []
        self.versions: set[str] = set()
        self.last_version: str | None = None
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    def run(self) -> None:
        i = 0
        while not self._halt.is_set():
            frame, record = self.source
            # recorded batches are the same rows on every run: the k-th is seeded with k
            batch = frame.sample(n=8, random_state=len(self.sent) if record else i)
            body = {
                "id": f"demo-{i}",
                "inputs": [
                    {"name": c, "shape": [len(batch)], "datatype": "FP64",
                     "data": [float(v) for v in batch[c]]}
                    for c in FEATURES
                ],
            }  # fmt: skip
            req = urllib.request.Request(
                f"{self.url}/v2/models/{NAME}/infer",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "X-Request-ID": f"demo-{i}"},
            )
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    answer = json.loads(resp.read())
                self.ok += 1
                self.last_version = str(answer.get("model_version"))
                self.versions.add(self.last_version)
                if record:
                    self.sent.append(batch)
            except (urllib.error.URLError, OSError, ValueError) as e:
                self.failed += 1
                self.errors.append(str(e))
            i += 1
            time.sleep(0.01)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, ok: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not ok():
        if time.monotonic() > deadline:
            raise DemoFailed(f"demo: {what} did not happen within {timeout_s:.0f} s")
        time.sleep(0.1)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


NEEDS = ("sklearn", "skops", "pandas", "pyarrow", "scipy", "starlette", "uvicorn")


def _check_installed() -> None:
    import importlib.util

    missing = [m for m in NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        raise InvalidInput(
            f"tether demo needs {', '.join(missing)}: install them with "
            "pip install 'tether[demo]' (from a clone: pip install -e '.[demo]')"
        )


def _git_commit(root: Path) -> None:
    """Make the demo folder a git repository with one commit, so runs record their code."""
    if shutil.which("git") is None:
        return
    who = ["-c", "user.name=tether demo", "-c", "user.email=demo@localhost"]
    for args in (["init", "-q"], ["add", "-A"], [*who, "commit", "-qm", "tether demo"]):
        subprocess.run(["git", *args], cwd=root, check=False, capture_output=True)


def _fresh(root: Path) -> Path:
    """The demo folder: new, or a previous demo's (started again from scratch)."""
    root = root.resolve()
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).is_file():
            raise InvalidInput(
                f"{root} exists and is not a Tether demo folder: name an empty or new folder"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("made by `tether demo`, which deletes this folder to run again\n")
    return root


def _serve(root: Path, port: int, poll_s: float) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "tether", "-C", str(root), "serve", f"{NAME}@{ALIAS}",
           "--port", str(port), "--poll", str(poll_s)]  # fmt: skip
    with open(root / "serve.log", "wb") as log:  # the server's output; it keeps its own copy
        return subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root
        )


def _controller(root: Path) -> subprocess.Popen[bytes]:
    """``tether loop run`` left running by ``--keep``: it retrains on the next trigger."""
    cmd = [sys.executable, "-m", "tether", "-C", str(root), "loop", "run", "--interval", "10"]
    with open(root / "loop.log", "wb") as log:
        return subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root
        )


def run_loop_demo(
    path: Path,
    echo: Callable[[str], None] = print,
    *,
    executor: str = "inline",
    keep: bool = False,
    poll_s: float = 0.5,
) -> LoopDemoResult:
    import tether
    import tether.models as tm
    from tether.automation import Controller, load_loops
    from tether.config import init_workspace
    from tether.monitoring import drift
    from tether.tracking.datasets import add
    from tether.workspace.shared import open_workspace

    started = time.perf_counter()
    phases: dict[str, float] = {}
    mark = [started]

    def step(name: str, text: str) -> None:
        now = time.perf_counter()
        phases[name] = now - mark[0]
        mark[0] = now
        echo(f"{name:<9} {text}  [{phases[name]:.1f}s]")

    _check_installed()
    root = _fresh(Path(path))
    init_workspace(root, project="demo")
    with open(root / ".tether" / "config.toml", "a") as config:
        config.write(LOOP.format(executor=executor))
    cwd = os.getcwd()
    os.chdir(root)  # the pipeline, like a user's, runs from its workspace
    server: subprocess.Popen[bytes] | None = None
    traffic: Traffic | None = None
    try:
        ws = open_workspace(root)
        data = root / "data" / "churn.parquet"
        data.parent.mkdir(parents=True)
        before = churn_table(seed=0)
        before.to_parquet(data)
        d1 = add(data, name=NAME, message="customers, January", workspace=root)
        _git_commit(root)
        step("data", f"{NAME}@{d1.version}  {len(before)} rows, {d1.total_size} bytes")

        from tether.demo.churn import train

        run = train(tether.dataset_ref(f"{NAME}@latest"), executor=executor).check()
        digest = run.output()
        v1 = next(
            mv.version
            for mv in ws.store.list_model_versions(ws.project, NAME)
            if mv.artifact_digest == digest
        )
        d1ref = f"{NAME}@{d1.version}"
        decision = tm.promote_if_better(
            f"{NAME}@{v1}", ALIAS, d1ref, GATE, target=TARGET, reason="demo: first model"
        )
        if not decision.passed:
            raise DemoFailed(f"demo: the gate refused the first model: {decision}")
        step("train", f"{NAME} v{v1} on {d1ref}, gated in as {NAME}@{ALIAS}")

        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = _serve(root, port, poll_s)
        _wait("the server answering /v2/health/ready", lambda: _ready(url), 90)
        step("serve", f"{url}/v2/models/{NAME}  following {NAME}@{ALIAS} every {poll_s}s")

        traffic = Traffic(url, before[list(FEATURES)])
        traffic.start()
        _wait("the first answers", lambda: traffic.ok >= 20 or traffic.failed > 0, 30)
        step("traffic", f"client sending OIP v2 requests: {traffic.ok} answered so far")

        after = churn_table(seed=1, shifted=True)
        traffic.source = (after[list(FEATURES)], True)
        _wait("traffic on the shifted data", lambda: len(traffic.sent) >= 40, 60)
        import pandas as pd

        current = pd.concat(traffic.sent[:40], ignore_index=True)  # the same 320 rows every run
        report = drift(before[list(FEATURES)], current, workspace=ws)
        ws.store.record_audit(
            actor="tether-demo", action="monitor.drift", target=NAME, outcome="ok",
            project=ws.project,
            detail={"share_drifted": report.share_drifted, "drifted": report.drifted_columns,
                    "reference": d1ref, "rows": len(current)},
        )  # fmt: skip
        step(
            "drift",
            f"{len(report.drifted_columns)} of {len(report.features)} columns drifted "
            f"({', '.join(report.drifted_columns)}), share {report.share_drifted:.2f}",
        )

        after.to_parquet(data)
        d2 = add(data, name=NAME, message="customers, February, labelled", workspace=root)
        step("new data", f"{NAME}@{d2.version}  {len(after)} labelled rows")

        loops = load_loops(root / ".tether" / "config.toml")
        outcomes = Controller(ws, loops, holder="tether-demo").tick()
        holder = ws.store.get_alias(ws.project, NAME, ALIAS)
        v2 = int(holder.version)
        promoted = v2 != v1
        if not promoted:
            raise DemoFailed(f"demo: the loop did not promote a new model: {outcomes[0].message}")
        step("loop", f"triggers new_data + drift: trained {NAME} v{v2}, gate passed, "
                     f"{NAME}@{ALIAS} -> v{v2}")  # fmt: skip

        _wait(f"the server swapping to v{v2}", lambda: traffic.last_version == str(v2), 60)
        seen = traffic.ok
        _wait("more answers from v2", lambda: traffic.ok >= seen + 20, 30)
        traffic.stop()
        step(
            "swap",
            f"server now answers with v{v2}: {traffic.ok} requests, {traffic.failed} failed",
        )
        if traffic.failed:
            raise DemoFailed(f"demo: {traffic.failed} requests failed, first: {traffic.errors[0]}")

        report_path = root / "drift-report.html"
        report.to_html(report_path)
        card_path = root / f"model-card-v{v2}.html"
        card_path.write_text(tm.model_card(f"{NAME}@{v2}", format="html", workspace=ws))
        step("report", f"{report_path.name}, {card_path.name}")
        for line in _lineage(ws, f"{NAME}@{v2}"):
            echo(line)
    finally:
        if traffic is not None and traffic.is_alive():
            traffic.stop()
        if server is not None and not keep:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        os.chdir(cwd)

    controller = _controller(root) if keep else None
    total = time.perf_counter() - started
    phases["total"] = total
    (root / TIMINGS).write_text(
        json.dumps({"phases": phases, "requests": traffic.ok, "failed": traffic.failed}, indent=2)
    )
    echo(f"{'done':<9} the loop closed in {total:.1f}s, 0 failed requests")
    return LoopDemoResult(
        root, v1, v2, promoted, traffic.ok, traffic.failed, report.drifted_columns,
        report.share_drifted, report_path, card_path, phases,
        server.pid if keep and server is not None else None, url,
        controller.pid if controller is not None else None,
    )  # fmt: skip


def _lineage(ws: Any, ref: str) -> list[str]:
    """The lineage of ``ref`` back to its dataset version, and the code it ran."""
    from tether.demo.run import _chain_back
    from tether.tracking.lineage import Node, trace
    from tether.tracking.session import open_session

    session = open_session(ws.root)
    graph = trace(session, Node("model_version", ref))
    chain = [graph.labels[n] for n in _chain_back(graph, graph.root)]
    lines = ["lineage   " + "\n      <-  ".join(chain)]
    name, version = ref.split("@")
    mv = ws.store.get_model_version(ws.project, name, int(version))
    code: dict[str, Any] = {}
    run_id = mv.run_id
    while run_id and not code:  # a step's run has no code of its own: its pipeline run has
        run = ws.store.get_run(run_id)
        code, run_id = run.info.get("code") or {}, run.parent_id
    where = "not in a git repository"
    if code.get("commit"):
        dirty = " + uncommitted diff" if code.get("dirty") else ""
        where = f"commit {code['commit'][:12]}{dirty}"
    lines.append(f"code      {where}")
    return lines
