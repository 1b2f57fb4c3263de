"""``tether serve`` as users run it: a subprocess that gets ready, serves, and on SIGTERM
finishes and flushes the prediction log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.serving.conftest import free_port, wait_ready
from tests.serving.test_protocol import ROW, infer_body
from tether.serving import predictions
from tether.workspace import Workspace

pytestmark = pytest.mark.slow  # each starts a tether process (imports scikit-learn): seconds


def _tether(*args: str) -> list[str]:
    return [sys.executable, "-m", "tether", *args]


def test_serve_check_prints_the_versions(ws: Workspace) -> None:
    proc = subprocess.run(
        _tether("serve", "lr@champion", "--check"), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "lr@champion: version 1 (sklearn)"


def test_sigterm_flushes_the_prediction_log(ws: Workspace) -> None:
    import json

    port = free_port()
    proc = subprocess.Popen(
        _tether("serve", "lr@champion", "--port", str(port), "--poll", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, 60, lambda: proc.stdout.read() if proc.stdout else "")
        body = json.dumps(infer_body([ROW])).encode()
        for i in range(5):
            req = urllib.request.Request(
                url + "/v2/models/lr/infer",
                body,
                {"X-Request-ID": f"r{i}", "Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(req, timeout=10) as r:
                assert r.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    # uvicorn shuts down gracefully, then re-raises the signal (the conventional exit status)
    assert proc.returncode in (0, -signal.SIGTERM), out
    assert b"Application shutdown complete" in out
    # flush_s is 10 s: the rows are there because shutdown wrote them
    frame = predictions("lr", workspace=Workspace(ws.root))
    assert frame["request_id"].tolist() == [f"r{i}" for i in range(5)]


def _serve_until_ready(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        _tether("serve", "lr@champion", "--port", str(port), "--poll", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc, 60, lambda: proc.stdout.read() if proc.stdout else "")
    return proc


def _served_version(port: int) -> tuple[list[str], str | None]:
    """The versions ``GET /v2/models/lr`` lists, and an inference's ``X-Model-Version``."""
    import json

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/models/lr", timeout=10) as r:
        versions = json.loads(r.read())["versions"]
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/models/lr/infer",
        json.dumps(infer_body([ROW])).encode(),
        {"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return versions, r.headers.get("X-Model-Version")


def test_a_server_down_when_the_alias_moves_serves_the_new_champion_when_started(
    ws: Workspace,
) -> None:
    from tether.models import set_alias

    port = free_port()
    proc = _serve_until_ready(port)
    try:
        assert _served_version(port) == (["1"], "1")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    set_alias("lr", "champion", 2, reason="moved while the server was down", workspace=ws.root)
    proc = _serve_until_ready(port)
    try:
        assert _served_version(port) == (["2"], "2")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


def test_the_commands_defaults_are_the_servers() -> None:
    """``tether serve`` keeps its defaults as literals (importing the server would slow
    ``tether --help``): they must be what ``app()`` and ``serve()`` use by default."""
    import inspect

    from tether.cli.serve_cmd import serve
    from tether.serving.runtime import Options

    params = inspect.signature(serve).parameters
    default = Options()
    command = {
        "max_batch": params["max_batch"].default.default,
        "max_wait_ms": params["max_wait_ms"].default.default,
        "poll_s": params["poll"].default.default,
        "max_body": params["max_body"].default.default,
        "model_thread": params["in_loop"].default.default,
    }
    assert command == {
        "max_batch": default.max_batch,
        "max_wait_ms": default.max_wait_ms,
        "poll_s": default.poll_s,
        "max_body": default.max_body,
        "model_thread": default.model_thread,
    }


def _infer(url: str, rid: str) -> None:
    import json

    body = json.dumps(infer_body([ROW])).encode()
    req = urllib.request.Request(
        url + "/v2/models/lr/infer", body,
        {"X-Request-ID": rid, "Content-Type": "application/json"}, method="POST",
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200


def test_a_docker_image_built_to_log_logs_into_the_stores_its_environment_names(
    ws: Workspace, tmp_path: Path
) -> None:
    """The image's command run as the image runs it (no Docker here): ``tether serve --from``
    in the build context, its workspace's stores named by ``TETHER_STORE_URL`` and
    ``TETHER_OBJECTS_URL`` (the team's: here the test workspace's). The predictions land in
    those stores, none on the image's own disk."""
    ctx = tmp_path / "ctx"
    made = subprocess.run(
        _tether("deploy", "docker", "lr@champion", "-o", str(ctx), "--log", "--extra", "s3"),
        capture_output=True, text=True,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert (ctx / "requirements.txt").read_text().split()[0] == "tether[serve,s3]"
    assert Workspace(ctx).project == ws.project == "serve"
    env = {
        **os.environ,
        "TETHER_STORE_URL": f"sqlite:///{ws.root / '.tether' / 'tether.db'}",
        "TETHER_OBJECTS_URL": str(ws.root / ".tether" / "objects"),
    }
    port = free_port()
    proc = subprocess.Popen(
        _tether("serve", "lr@champion", "--from", "models", "--port", str(port), "--poll", "0"),
        cwd=ctx, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, 60, lambda: proc.stdout.read() if proc.stdout else "")
        for i in range(3):
            _infer(url, f"img-{i}")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode in (0, -signal.SIGTERM), out
    frame = predictions("lr", workspace=Workspace(ws.root))
    assert frame["request_id"].tolist() == ["img-0", "img-1", "img-2"]
    assert not (ctx / ".tether" / "tether.db").exists()
    assert not (ctx / ".tether" / "objects").exists()


def test_serving_a_folder_outside_a_workspace_says_nothing_is_logged(
    model_root: Path, tmp_path: Path
) -> None:
    from tests.serving.conftest import set_alias

    set_alias(model_root, "lr", "champion", 1)
    port = free_port()
    proc = subprocess.Popen(
        _tether("serve", "lr@champion", "--from", str(model_root), "--port", str(port)),
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, 60, lambda: proc.stdout.read() if proc.stdout else "")
        _infer(url, "folder-0")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert b"predictions are not logged" in out
    assert not (tmp_path / ".tether").exists()
