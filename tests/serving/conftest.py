"""A real server on loopback: uvicorn in a thread, serving models from a DirectorySource."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tether.serving import DirectorySource
from tether.serving.runtime import Options
from tether.workspace import Workspace


def wait_ready(url: str, proc: Any, timeout_s: float, output: Callable[[], str]) -> None:
    """Poll ``url``'s ``/v2/health/ready`` until it answers 200; fail with the server's
    ``output()`` if ``proc`` exits first, or after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert proc.poll() is None, output()
        try:
            with urllib.request.urlopen(url + "/v2/health/ready", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:  # not listening yet, or not ready (503)
            pass
        assert time.monotonic() < deadline, f"not ready after {timeout_s:.0f} s"
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def train(seed: int, flip: bool = False) -> Any:
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    X, y = make_classification(500, 4, random_state=seed)
    return LogisticRegression().fit(X, 1 - y if flip else y), X


@pytest.fixture(scope="session")
def model_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``iris``-like array model, versions 1 and 2 (v2 predicts the opposite class), a table
    model ``tab`` with a text column, alias ``champion`` -> 1 for both."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from tether.models import save_model

    root = tmp_path_factory.mktemp("models")
    m1, X = train(0)
    m2, _ = train(0, flip=True)
    save_model(m1, root / "lr" / "1", sample=X)
    save_model(m2, root / "lr" / "2", sample=X)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"age": rng.integers(18, 90, 200), "plan": rng.choice(["basic", "pro"], 200)}
    )
    target = (frame["plan"] == "pro").astype(int)
    pipe = make_pipeline(
        ColumnTransformer(
            [("oh", OneHotEncoder(handle_unknown="ignore"), ["plan"])], remainder="passthrough"
        ),
        LogisticRegression(),
    ).fit(frame, target)
    save_model(pipe, root / "tab" / "1", sample=frame)
    return root


def set_alias(root: Path, name: str, alias: str, version: int) -> None:
    tmp = root / name / f".{alias}.tmp"
    tmp.write_text(str(version))
    tmp.replace(root / name / alias)


@dataclass
class Running:
    url: str
    app: Any
    root: Path
    uvicorn_server: Any = None  # set ``should_exit`` to stop it as SIGTERM does

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        hdrs.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def json(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, _, data = self.request(method, path, body, **kw)
        return status, json.loads(data) if data else None


@contextlib.contextmanager
def run_server(
    application: Any, root: Path, *, plain_uvicorn: bool = False, **uvicorn_kw: Any
) -> Iterator[Running]:
    """``application`` on loopback, run as ``tether serve`` runs it (its protocol, with
    inference POSTs answered without ASGI) or, with ``plain_uvicorn``, by uvicorn's own
    protocol (the ASGI app as users mount it)."""
    import uvicorn

    from tether.serving.server import uvicorn_options

    port = free_port()
    options = {} if plain_uvicorn else uvicorn_options()
    options.update(log_level="warning", lifespan="on", **uvicorn_kw)
    config = uvicorn.Config(application, host="127.0.0.1", port=port, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield Running(f"http://127.0.0.1:{port}", application, root, server)
    finally:
        server.should_exit = True
        thread.join(30)


def dir_app(model_root: Path, refs: list[str], **kw: Any) -> Any:
    """``tether.serving.app`` over the test models (champion: version 1), no alias polling
    and no prediction log unless ``kw`` says otherwise."""
    from tether.serving import app

    set_alias(model_root, "lr", "champion", 1)
    set_alias(model_root, "tab", "champion", 1)
    kw.setdefault("options", Options(poll_s=0))
    kw.setdefault("log_predictions", False)
    return app(refs, source=DirectorySource(model_root), **kw)


@pytest.fixture(scope="module", params=["tether-protocol", "plain-uvicorn"])
def serve_dir(model_root: Path, request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``serve_dir(["lr@champion"], **app_kwargs)``: a context manager running a server; each
    test runs on ``tether serve``'s protocol and on uvicorn's own."""
    plain = request.param == "plain-uvicorn"

    def start(refs: list[str], **kw: Any) -> Any:
        return run_server(dir_app(model_root, refs, **kw), model_root, plain_uvicorn=plain)

    return start


@pytest.fixture(scope="module")
def server(serve_dir: Callable[..., Any]) -> Iterator[Running]:
    with serve_dir(["lr@champion", "tab@champion"]) as running:
        yield running


@pytest.fixture
def ws(tmp_path: Path, model_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    from tether.config import init_workspace
    from tether.models.manifest import read_manifest

    root = tmp_path / "proj"
    root.mkdir()
    init_workspace(root, project="serve")
    monkeypatch.chdir(root)
    workspace = Workspace(root)
    workspace.store.get_or_create_project("serve")
    for v in (1, 2):
        folder = model_root / "lr" / str(v)
        tree = workspace.objects.put_tree(folder)
        meta = read_manifest(folder)
        workspace.store.create_model_version(
            "serve", "lr", artifact_digest=tree.digest, flavor=meta.flavor,
            signature=meta.signature.to_json() if meta.signature else None,
        )  # fmt: skip
    workspace.store.set_alias("serve", "lr", "champion", 1, actor="test")
    yield workspace
    workspace.close()
