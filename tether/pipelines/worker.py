"""Running one step task: load inputs, call the step with its logs captured, store outputs.

``execute_task`` runs wherever the executor puts it (the calling process, a worker process, a
Ray worker). It never raises for a failing step: failures come back in the ``StepResult``.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tether.pipelines.materializers as materializers
from tether.objects import ObjectStore
from tether.objects.gclock import freshen
from tether.pipelines.errors import InvalidPipeline, StepFailed
from tether.pipelines.task import ObjectsSpec, StepResult, StepTask
from tether.pipelines.values import StoredValue, load_value, store_value

if TYPE_CHECKING:
    from tether.tracking.recorder import RunRecorder

LOG_LIMIT = 8 * 1024 * 1024

_stores: dict[tuple[str, str, bool, int | None], ObjectStore] = {}
_stores_lock = threading.Lock()


def object_store(spec: ObjectsSpec) -> ObjectStore:
    """One object store per spec and process."""
    key = (spec.url, repr(sorted(spec.storage_options.items())), spec.fsync, spec.workers)
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = ObjectStore(
                spec.url,
                storage_options=dict(spec.storage_options),
                workers=spec.workers,
                fsync=spec.fsync,
            )
            _stores[key] = store
        return store


class _Timeout(BaseException):
    """Raised in the step by the inline executor's alarm; a BaseException so steps can't eat it."""


@contextlib.contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    """SIGALRM after ``seconds`` (main thread on POSIX only; elsewhere no limit is enforced)."""
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        raise _Timeout()

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, float(seconds or 0))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _capture_fds(path: Path) -> Iterator[Any]:
    """Send file descriptors 1 and 2 (and so subprocesses and C code) to ``path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        with open(fd, "w", closefd=False, encoding="utf-8", errors="replace") as log:
            try:
                yield log
            finally:
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                    sys.stderr.flush()
                log.flush()
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        os.close(fd)


@contextlib.contextmanager
def _capture_sys(buffer: io.StringIO) -> Iterator[Any]:
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        yield buffer


def execute_task(task: StepTask, *, in_process: bool = False) -> StepResult:
    """Run ``task``. ``in_process``: the inline executor's mode (Python-level log capture and a
    SIGALRM timeout); otherwise file descriptors are captured and the executor kills on timeout.
    """
    objects = object_store(task.objects)
    if task.trusted:
        materializers.trust_types(task.trusted)
    scratch = Path(task.scratch_dir)
    scratch.mkdir(parents=True, exist_ok=True)
    log_file = Path(tempfile.mkstemp(prefix=f"log-{task.step}-", dir=scratch)[1])
    buffer = io.StringIO()
    started = time.perf_counter()
    outputs: dict[str, StoredValue] = {}
    error: str | None = None
    timed_out = False
    from tether.tracking.recorder import RunRecorder

    recorder = RunRecorder(task.run_id, objects)
    try:
        capture = _capture_sys(buffer) if in_process else _capture_fds(log_file)
        with capture as log:
            try:
                if task.kind == "shell":
                    from tether.pipelines.shell import run_shell

                    outputs = run_shell(task, objects, log)
                else:
                    outputs = _run_python(task, objects, in_process, recorder)
            except (_Timeout, TimeoutError) as e:
                timed_out = True
                error = str(e) or f"step timed out after {task.timeout} s"
            except StepFailed as e:
                error = e.error
            except Exception:
                error = traceback.format_exc()
            except KeyboardInterrupt:
                raise
            except BaseException as e:  # SystemExit in a step: a failure, not a worker exit
                error = f"{type(e).__name__}: {e}"
        duration = time.perf_counter() - started
        logs = buffer.getvalue().encode("utf-8") if in_process else _read_tail(log_file)
    finally:
        with contextlib.suppress(OSError):
            log_file.unlink()
    info = objects.put_bytes(logs)
    freshen(objects, info.digest)  # found stored: `tether gc`'s grace keeps it until recorded
    stored_logs = StoredValue(info.digest, info.size, 1, "logs")
    if timed_out:
        error = f"timed out after {task.timeout} s"
    logged = recorder.finish()
    return StepResult(
        error is None, outputs, stored_logs, duration, error, timed_out, logged or None
    )


def _read_tail(path: Path) -> bytes:
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - LOG_LIMIT))
        return f.read()


def _run_python(
    task: StepTask, objects: ObjectStore, in_process: bool, recorder: RunRecorder
) -> dict[str, StoredValue]:
    from tether.pipelines.loader import resolve_function
    from tether.pipelines.metrics import Metrics
    from tether.tracking.lifecycle import recording

    if task.cwd and os.getcwd() != task.cwd:
        os.chdir(task.cwd)
    for entry in reversed(task.sys_path):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    fn = task.fn
    if fn is None:
        assert task.target is not None
        fn = resolve_function(task.target)
    cache_dir = Path(task.cache_dir)
    kwargs: dict[str, Any] = dict(task.params)
    loaded = {name: load_value(objects, d, cache_dir) for name, d in task.inputs.items()}
    for arg, count in task.packs.items():
        kwargs[arg] = [loaded.pop(f"{arg}.{i}") for i in range(count)]
    kwargs.update(loaded)
    with _alarm(task.timeout if in_process else None), recording(recorder):
        result = fn(**kwargs)
    values = split_outputs(task.step, result, task.outputs, task.multi_output)
    for name, value in values.items():
        if isinstance(value, Metrics):
            recorder.log_metrics(value, step=0)
            recorder.logs.returned[name] = dict(value)
            values[name] = value.json_value()
    scratch = Path(task.scratch_dir)
    return {
        name: store_value(objects, value, f"output {name!r} of step {task.step!r}", scratch)
        for name, value in values.items()
    }


def split_outputs(step: str, result: Any, names: tuple[str, ...], multi: bool) -> dict[str, Any]:
    if not multi:
        return {names[0]: result}
    if isinstance(result, dict):
        if set(result) != set(names):
            raise InvalidPipeline(
                f"step {step!r} returned a dict with keys {sorted(result)}; "
                f"its declared outputs are {list(names)}"
            )
        return {n: result[n] for n in names}
    if isinstance(result, tuple | list) and len(result) == len(names):
        return dict(zip(names, result, strict=True))
    raise InvalidPipeline(
        f"step {step!r} declares {len(names)} outputs ({', '.join(names)}) and must return a "
        f"tuple of that length or a dict with those keys, not {type(result).__name__}"
    )


def serve(read_fd: int, write_fd: int) -> None:
    """A worker process: run tasks read from ``read_fd`` until it closes or sends None."""
    from multiprocessing.connection import Connection

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    incoming = Connection(read_fd, writable=False)
    conn = Connection(write_fd, readable=False)
    while True:
        try:
            task = incoming.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            result = execute_task(task)
        except BaseException:
            result = StepResult(False, {}, None, 0.0, traceback.format_exc())
        try:
            conn.send(result)
        except (BrokenPipeError, OSError):
            return
