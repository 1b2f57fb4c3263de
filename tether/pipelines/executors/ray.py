"""The Ray executor (``[ray]`` extra): each step task runs as a Ray remote task.

A step's ``resources`` become the task's Ray options (``cpus`` -> ``num_cpus``, ``gpus`` ->
``num_gpus``, ``memory`` -> ``memory`` in bytes; ``memory`` takes a number of bytes or a size
such as ``"512MB"`` or ``"2GiB"``). The remote task runs ``execute_task`` exactly as a process
worker does: it imports the step by module path (falling back to its file), captures its
stdout and stderr, and reads and writes only the object store; the :class:`StepResult` comes
back to the calling process, which alone writes the metadata store.

Connection, on the first step that runs (a fully cached run never starts Ray): when Ray is
already initialised in this process that connection is used; with ``address=`` (or
``RAY_ADDRESS`` set) the executor connects to that cluster; otherwise it starts a small local
cluster (``max_workers`` CPUs, no dashboard, a 200 MB object store). What the executor
initialised it shuts down (or disconnects from) when it closes.

Retries are the runner's (Ray's own ``max_retries`` is 0). A timeout is enforced in the Ray
worker from the moment the step starts (not while it waits for resources): SIGALRM interrupts
the step and its logs are kept; a step that ignores it has its worker process ended
``HARD_KILL_GRACE_S`` later.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from tether.errors import MissingDependency
from tether.pipelines.errors import InvalidPipeline
from tether.pipelines.executors.base import Executor
from tether.pipelines.task import StepResult, StepTask

LOCAL_OBJECT_STORE_BYTES = 200 * 1000**2
HARD_KILL_GRACE_S = 5.0
"""After its timeout, a step gets this long to unwind before its Ray worker process exits."""

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "ki": 1024,
    "kib": 1024,
    "mi": 1024**2,
    "mib": 1024**2,
    "gi": 1024**3,
    "gib": 1024**3,
    "ti": 1024**4,
    "tib": 1024**4,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependency("the Ray executor", "ray", "ray") from None
    return ray


def parse_memory(value: Any) -> int:
    """Bytes from a number of bytes or a size: ``"512MB"`` (1000-based), ``"2GiB"`` (1024-based)."""
    if isinstance(value, bool):
        raise InvalidPipeline(f"memory must be bytes or a size such as '512MB', not {value!r}")
    if isinstance(value, int | float):
        if value <= 0:
            raise InvalidPipeline(f"memory must be positive, not {value!r}")
        return int(value)
    if isinstance(value, str):
        m = _SIZE.match(value)
        unit = m.group(2).lower() if m else None
        if m is not None and unit in _UNITS:
            size = int(float(m.group(1)) * _UNITS[unit])
            if size > 0:
                return size
    raise InvalidPipeline(
        f"memory must be bytes or a size such as '512MB' or '2GiB', not {value!r}"
    )


def ray_options(resources: Mapping[str, Any]) -> dict[str, Any]:
    """The Ray task options for a step's ``resources`` (``cpus``, ``gpus``, ``memory``)."""
    options: dict[str, Any] = {}
    for key, value in resources.items():
        if key == "cpus":
            options["num_cpus"] = _count(key, value)
        elif key == "gpus":
            options["num_gpus"] = _count(key, value)
        elif key == "memory":
            options["memory"] = parse_memory(value)
        else:
            raise InvalidPipeline(f"unknown resource {key!r}; use cpus, gpus or memory")
    return options


def _count(key: str, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InvalidPipeline(f"resource {key!r} must be a number 0 or more, not {value!r}")
    return value


class _Deadline(BaseException):
    """Raised in the step when its time is up; a BaseException so steps can't catch it."""


def run_on_ray(task: StepTask) -> StepResult:
    """The Ray remote task: run ``task`` with ``execute_task``, enforcing its timeout here."""
    from tether.pipelines.worker import execute_task

    task = _localise(task)
    fired = threading.Event()
    usable = task.timeout is not None and threading.current_thread() is threading.main_thread()
    previous: Any = None
    hard: threading.Timer | None = None
    if task.timeout is not None:
        # the last resort, for a step stuck where signals don't reach (or off the main thread)
        hard = threading.Timer(task.timeout + HARD_KILL_GRACE_S, os._exit, (1,))
        hard.daemon = True
        hard.start()
    if usable:

        def fire(signum: int, frame: Any) -> None:
            fired.set()
            raise _Deadline(f"timed out after {task.timeout} s")

        previous = signal.signal(signal.SIGALRM, fire)
        signal.setitimer(signal.ITIMER_REAL, float(task.timeout or 0))
    started = time.perf_counter()
    try:
        result = execute_task(task)
    except _Deadline:
        result = StepResult(False, {}, None, time.perf_counter() - started)
    except BaseException:
        result = StepResult(False, {}, None, time.perf_counter() - started, traceback.format_exc())
    finally:
        if usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        if hard is not None:
            hard.cancel()
    if fired.is_set():
        result = dataclasses.replace(
            result, ok=False, outputs={}, error=f"timed out after {task.timeout} s", timed_out=True
        )
    return result


def _localise(task: StepTask) -> StepTask:
    """On a node without the caller's files (a remote cluster), use this worker's own: its
    folder, a temporary cache, and the step's module by name (from ``runtime_env``'s
    ``working_dir`` or an installed package) instead of by the caller's file path."""
    changes: dict[str, Any] = {}
    ref = task.target
    if ref is not None and ref.file and not os.path.exists(ref.file):
        changes["target"] = dataclasses.replace(ref, file=None)
    if task.cwd and not os.path.isdir(task.cwd):
        base = Path(tempfile.gettempdir()) / "tether-ray"
        changes.update(
            cwd=os.getcwd(), cache_dir=str(base / "cache"), scratch_dir=str(base / "tmp")
        )
    return dataclasses.replace(task, **changes) if changes else task


@dataclasses.dataclass
class _Pending:
    task: StepTask
    future: Future[StepResult]
    ref: Any
    submitted: float
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    done: bool = False

    def claim(self) -> bool:
        with self.lock:
            if self.done:
                return False
            self.done = True
            return True


class RayExecutor(Executor):
    """Steps as Ray tasks. ``address``: a cluster to connect to (default: ``RAY_ADDRESS``,
    else a local cluster of ``max_workers`` CPUs started here); ``runtime_env`` and
    ``init_options`` are passed to ``ray.init`` when this executor initialises Ray.
    """

    name = "ray"
    needs_import = True

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        address: str | None = None,
        runtime_env: dict[str, Any] | None = None,
        object_store_memory: int | str | None = LOCAL_OBJECT_STORE_BYTES,
        init_options: dict[str, Any] | None = None,
    ) -> None:
        self._ray = _import_ray()  # fail early, with the pip command, when ray is missing
        self._address = address or os.environ.get("RAY_ADDRESS") or None
        self._runtime_env = runtime_env
        self._object_store_memory = (
            None if object_store_memory is None else parse_memory(object_store_memory)
        )
        self._init_options = dict(init_options or {})
        self._requested_workers = max_workers
        self.max_workers = max(1, max_workers or os.cpu_count() or 1)
        self._started = False
        self._local = False
        self._remote: Any = None
        self._capacity: dict[str, float] = {}
        self._pending: dict[int, _Pending] = {}
        self._lock = threading.Lock()
        self._closed = False

    def connect(self) -> None:
        """Connect to (or start) the cluster; done on the first submit, so a fully cached run
        never starts Ray."""
        if self._remote is not None:
            return
        ray = self._ray
        if not ray.is_initialized():
            options: dict[str, Any] = {
                "logging_level": logging.ERROR,
                "log_to_driver": False,
            }
            if self._runtime_env is not None:
                options["runtime_env"] = self._runtime_env
            if self._address:
                options["address"] = self._address
            else:
                options["num_cpus"] = self.max_workers
                options["include_dashboard"] = False
                if self._object_store_memory is not None:
                    options["object_store_memory"] = self._object_store_memory
                self._local = True
            options.update(self._init_options)
            ray.init(**options)
            self._started = True
        self._capacity = dict(ray.cluster_resources())
        if self._requested_workers is None:
            self.max_workers = max(1, int(self._capacity.get("CPU", 1)))
        self._remote = ray.remote(run_on_ray)

    @property
    def started_cluster(self) -> bool:
        """Whether this executor started a local cluster (and so stops it when it closes)."""
        return self._started and self._local

    def options_for(self, task: StepTask) -> dict[str, Any]:
        """The Ray options a task is submitted with."""
        return {
            **ray_options(task.resources),
            "max_retries": 0,  # the runner retries failed attempts itself
            "retry_exceptions": False,
            "name": f"tether:{task.step}",
        }

    def submit(self, task: StepTask) -> Future[StepResult]:
        future: Future[StepResult] = Future()
        future.set_running_or_notify_cancel()
        with self._lock:
            if self._closed:
                raise RuntimeError("the executor is shut down")
            self.connect()
        try:
            options = self.options_for(task)
        except InvalidPipeline as e:
            future.set_result(StepResult(False, {}, None, 0.0, f"step {task.step!r}: {e}"))
            return future
        why = self._infeasible(options)
        if why:
            future.set_result(StepResult(False, {}, None, 0.0, f"step {task.step!r} {why}"))
            return future
        ref = self._remote.options(**options).remote(task)
        entry = _Pending(task, future, ref, time.monotonic())
        with self._lock:
            self._pending[id(entry)] = entry
        ref.future().add_done_callback(lambda f: self._done(entry, f))
        return future

    def _infeasible(self, options: dict[str, Any]) -> str | None:
        """On a local cluster (which can't grow), a request it can never meet fails now."""
        if not self._local:
            return None
        total = self._capacity
        for opt, res, what in (
            ("num_cpus", "CPU", "CPUs"),
            ("num_gpus", "GPU", "GPUs"),
            ("memory", "memory", "bytes of memory"),
        ):
            wanted = options.get(opt)
            if wanted and wanted > total.get(res, 0):
                return (
                    f"asks for {wanted:g} {what}; the local Ray cluster has "
                    f"{total.get(res, 0):g} (connect to a bigger one with address= or RAY_ADDRESS)"
                )
        return None

    def _done(self, entry: _Pending, ray_future: Future[Any]) -> None:
        with self._lock:
            self._pending.pop(id(entry), None)
        if not entry.claim():
            return
        try:
            result = ray_future.result()
        except BaseException as e:
            result = self._failure(entry, e)
        if not isinstance(result, StepResult):
            result = StepResult(False, {}, None, 0.0, f"the Ray task returned {result!r}")
        entry.future.set_result(result)

    def _failure(self, entry: _Pending, error: BaseException) -> StepResult:
        exc = self._ray.exceptions
        elapsed = time.monotonic() - entry.submitted
        timeout = entry.task.timeout
        if isinstance(error, exc.WorkerCrashedError) and timeout and elapsed >= timeout:
            return StepResult(False, {}, None, elapsed, f"timed out after {timeout} s", True)
        if isinstance(error, exc.TaskCancelledError):
            why = "the Ray task was cancelled"
        elif isinstance(error, exc.WorkerCrashedError):
            why = "the Ray worker running the step died (out of memory, or the step exited it)"
        else:
            why = f"Ray: {type(error).__name__}: {str(error).strip()}"
        return StepResult(False, {}, None, elapsed, why)

    def shutdown(self, *, cancel: bool = False) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pending = list(self._pending.values())
            self._pending.clear()
        ray = self._ray
        if cancel:
            for entry in pending:
                if entry.claim():
                    with contextlib.suppress(Exception):  # finished, or the cluster is gone
                        ray.cancel(entry.ref, force=True)
                    entry.future.set_result(
                        StepResult(False, {}, None, 0.0, "cancelled: the pipeline was interrupted")
                    )
        elif pending:
            # the runner waits for every step before closing; this only guards misuse
            for entry in pending:
                entry.future.result()  # never raises: failures are results
        if self._started and ray.is_initialized():
            ray.shutdown()

    def __repr__(self) -> str:
        where = "local" if self._local else "connected"
        return f"RayExecutor(max_workers={self.max_workers}, cluster={where})"
