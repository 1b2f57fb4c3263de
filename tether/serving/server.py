"""``serve``: run the app under uvicorn (uvloop, httptools), one process or several workers."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from typing import Any

from tether.serving.errors import ServingError, need_serve_extra
from tether.serving.runtime import Options

SPEC_ENV = "_TETHER_SERVE_WORKER_SPEC"  # what each worker process builds its app from


def serve(
    refs: list[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    options: Options | None = None,
    log_predictions: bool = True,
    log_sample: float = 1.0,
    workspace_dir: str | None = None,
    models_dir: str | None = None,
    access_log: bool = False,
) -> None:
    """Serve until SIGINT/SIGTERM: in-flight requests finish and the prediction log is flushed."""
    try:
        import uvicorn
    except ImportError as e:
        raise need_serve_extra(e) from None
    from tether.serving.source import Ref

    for r in refs:
        Ref.parse(r)  # a bad reference fails here, before any process starts
    if workers < 1:
        raise ServingError(f"--workers must be at least 1, got {workers}")
    spec = {
        "refs": refs,
        "options": asdict(options or Options()),
        "log_predictions": log_predictions,
        "log_sample": log_sample,
        "workspace_dir": workspace_dir,
        "models_dir": models_dir,
        "access_log": access_log,
    }
    kwargs = {"host": host, "port": port, **uvicorn_options()}
    if workers == 1:
        uvicorn.run(build(spec), **kwargs)
        return
    os.environ[SPEC_ENV] = json.dumps(spec)
    made = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # workers add their metrics up there
        import tempfile

        made = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tether-metrics-")
    try:
        uvicorn.run("tether.serving.server:from_env", factory=True, workers=workers, **kwargs)
    finally:
        if made is not None:
            import shutil

            shutil.rmtree(made, ignore_errors=True)


def uvicorn_options() -> dict[str, Any]:
    """How ``tether serve`` runs uvicorn (tests run their servers the same way)."""
    from tether.serving.http import Protocol

    return {
        "loop": "uvloop",
        "http": Protocol,  # httptools; inference POSTs answered without ASGI, one write each
        "ws": "none",  # no WebSocket routes: start-up skips importing a WebSocket library
        "access_log": False,  # ours: one JSON line per request (tether.serving.access)
        "log_level": "info",
        "timeout_graceful_shutdown": 30,
    }


def build(spec: dict[str, Any]) -> Any:
    from tether.serving.asgi import app
    from tether.serving.memory import fix_malloc_thresholds

    fix_malloc_thresholds()  # each worker process: the heap the prediction log frees goes back

    if spec.get("access_log"):
        _access_to_stderr()
    workspace, source = None, None
    if spec.get("workspace_dir") is not None:  # the models' stores, or the log's alone
        from tether.workspace import Workspace

        workspace = Workspace(spec["workspace_dir"])
    if spec.get("models_dir") is not None:  # the models from a folder (a Docker image's)
        from tether.serving.source import DirectorySource

        source = DirectorySource(spec["models_dir"])
    return app(
        spec["refs"],
        source=source,
        workspace=workspace,
        options=Options(**spec["options"]),
        log_predictions=spec["log_predictions"],
        log_sample=spec["log_sample"],
        access_log=bool(spec.get("access_log")),
    )


def _access_to_stderr() -> None:
    """Access-log lines (JSON, one per request) on stderr, as they are."""
    import logging
    import sys

    logger = logging.getLogger("tether.serving.access")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def from_env() -> Any:
    """The app of one worker process (``--workers N``)."""
    return build(json.loads(os.environ[SPEC_ENV]))
