"""The process executor: steps run in a pool of worker processes, up to ``max_workers`` at once.

Workers start on first need as fresh interpreters (``python -c`` with two pipes: no fork of a
process with threads, and unlike ``multiprocessing`` no re-run of the caller's ``__main__``
script) and are reused for every step of the pipeline run, so a step costs a pipe round trip,
not an interpreter start. A worker imports a step's module by module path (or from its
file), so steps must be module-level functions. A step over its timeout has its worker killed
(and a fresh one started for the next step); a worker that dies fails only its step.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
from concurrent.futures import Future

from tether.pipelines.executors.base import Executor
from tether.pipelines.task import StepResult, StepTask

KILL_GRACE_S = 0.5


WORKER_CODE = (
    "import sys; from tether.pipelines.worker import serve; "
    "serve(int(sys.argv[1]), int(sys.argv[2]))"
)


class _Worker:
    """One worker process and the pipe to it; restarted after a kill or a crash."""

    def __init__(self) -> None:
        from multiprocessing.connection import Connection

        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", WORKER_CODE, str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w),
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self._recv = Connection(from_child_r, writable=False)

    def run(self, task: StepTask) -> StepResult:
        try:
            self._send.send(task)
        except (BrokenPipeError, OSError) as e:
            return self._died(task, f"could not send the step to its worker: {e}")
        timeout = task.timeout
        try:
            if not self._recv.poll(timeout):
                self.kill()
                return StepResult(
                    False, {}, None, float(timeout or 0), f"timed out after {timeout} s", True
                )
            result = self._recv.recv()
        except (EOFError, OSError):
            return self._died(task, "")
        assert isinstance(result, StepResult)
        return result

    def _died(self, task: StepTask, why: str) -> StepResult:
        try:
            code = self.process.wait(1)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        return StepResult(
            False, {}, None, 0.0, why or f"the worker process died (exit code {code})"
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def _close(self) -> None:
        self._send.close()
        self._recv.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._close()

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self._send.send(None)
        try:
            self.process.wait(KILL_GRACE_S * 4)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._close()


class ProcessExecutor(Executor):
    name = "processes"
    needs_import = True

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max(1, max_workers or os.cpu_count() or 1)
        self._queue: queue.Queue[tuple[StepTask, Future[StepResult]] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._workers: list[_Worker] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, task: StepTask) -> Future[StepResult]:
        future: Future[StepResult] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the executor is shut down")
            if self._idle <= 0 and len(self._threads) < self.max_workers:
                t = threading.Thread(target=self._loop, name="tether-step-worker", daemon=True)
                self._threads.append(t)
                t.start()
            else:
                self._idle -= 1
        self._queue.put((task, future))
        return future

    def _loop(self) -> None:
        worker: _Worker | None = None
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                task, future = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    if worker is None or not worker.alive():
                        worker = _Worker()
                        with self._lock:
                            self._workers.append(worker)
                    result = worker.run(task)
                    if not worker.alive():
                        worker = None
                    future.set_result(result)
                except BaseException as e:
                    future.set_exception(e)
                finally:
                    with self._lock:
                        self._idle += 1
        finally:
            if worker is not None:
                worker.stop()

    def shutdown(self, *, cancel: bool = False) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = list(self._threads)
            workers = list(self._workers)
        if cancel:
            for w in workers:
                w.kill()
        for _ in threads:
            self._queue.put(None)
        for t in threads:
            t.join(None if not cancel else 2.0)
